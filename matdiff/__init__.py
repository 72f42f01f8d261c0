"""matdiff: numeric derivatives of anything, and checks that name the mistake.

The helper package of *Matrix Derivatives, hands on*.

>>> import numpy as np, matdiff as md
>>> X, W = np.ones((4, 3)), np.arange(6.0).reshape(3, 2)
>>> md.check_backward(lambda W: X @ W, lambda W, G: X.T @ G, W).ok
True
"""

from . import autograd
from ._guard import NumericAnswerError
from ._inputs import FunctionError
from .asserts import (
    CheckFailed,
    assert_backward,
    assert_gradient,
    assert_jacobian,
    assert_that,
    assert_value,
    call_answer,
)
from .checks import check_backward, check_gradient, check_jacobian, check_value
from .layouts import to_denominator, to_matrix, to_numerator, unvec, vec
from .numeric import METHODS, numeric_gradient, numeric_jacobian
from .plotting import plot_jacobian, plot_mistakes
from .progress import progress, reset_progress
from .result import DIAGNOSES, CheckResult

__version__ = "0.1.0"

__all__ = [
    "numeric_jacobian", "numeric_gradient", "METHODS",
    "check_gradient", "check_jacobian", "check_backward", "check_value",
    "assert_gradient", "assert_jacobian", "assert_backward", "assert_value", "call_answer",
    "assert_that", "CheckFailed",
    "CheckResult", "DIAGNOSES", "FunctionError", "NumericAnswerError",
    "progress", "reset_progress",
    "vec", "unvec", "to_matrix", "to_denominator", "to_numerator",
    "plot_jacobian", "plot_mistakes", "autograd",
]
