"""Bad input gets a clear error that names the argument; a learner's exception is shown."""

from __future__ import annotations

import numpy as np
import pytest

import matdiff as md


def test_non_callable_f():
    with pytest.raises(TypeError, match="`f` must be a function"):
        md.numeric_jacobian(np.ones(3), np.ones(3))
    with pytest.raises(TypeError, match="`f` must be a function"):
        md.check_gradient(3, np.ones(3), np.ones(3))


def test_f_that_raises_shows_the_learners_exception_with_context():
    def f(x):
        raise KeyError("my bug")

    with pytest.raises(md.FunctionError, match="raised KeyError: 'my bug'.*while evaluating") as e:
        md.numeric_jacobian(f, np.ones(2))
    assert isinstance(e.value.__cause__, KeyError)
    assert isinstance(e.value, ValueError)


def test_f_that_fails_only_at_perturbed_points_is_reported_as_such():
    def f(x):
        if x[0] != 1.0:
            raise RuntimeError("boom")
        return x

    with pytest.raises(md.FunctionError, match="perturbed"):
        md.numeric_jacobian(f, np.ones(2))


@pytest.mark.parametrize("ret, pattern", [
    (None, "returned None.*forget a `return`"),
    ("abc", "must return numbers.*string"),
    ([[1, 2], [3]], "ragged"),
    ({"a": 1}, "must return numbers.*dict"),
])
def test_f_returning_non_numbers(ret, pattern):
    with pytest.raises(md.FunctionError, match=pattern):
        md.numeric_jacobian(lambda x: ret, np.ones(2))


def test_f_that_modifies_its_input_is_detected():
    def f(x):
        x += 1
        return x

    with pytest.raises(md.FunctionError, match="changed its input argument 0 in place"):
        md.numeric_jacobian(f, np.ones(3))


def test_f_returning_nan_at_the_point():
    with pytest.raises(md.FunctionError, match="NaN or inf"):
        md.numeric_jacobian(lambda x: np.log(x), np.array([-1.0, 2.0]))


def test_input_that_is_not_numbers():
    with pytest.raises(TypeError, match=r"`args\[0\]` must be numbers.*string"):
        md.numeric_jacobian(np.sin, "1 2 3")
    with pytest.raises(TypeError, match=r"`args\[0\]` is a list"):
        md.numeric_jacobian(np.sin, [[1, 2], [3]])
    with pytest.raises(ValueError, match=r"args\[0\] contains NaN"):
        md.numeric_jacobian(np.sin, [1.0, np.nan])


@pytest.mark.parametrize("bad", [2, -3, 1.0, "x", None, True])
def test_bad_wrt(bad):
    with pytest.raises(ValueError, match="`wrt`"):
        md.numeric_jacobian(lambda a, b: a * b, np.ones(2), np.ones(2), wrt=bad)


def test_bad_layout_and_method():
    with pytest.raises(ValueError, match="`layout`"):
        md.numeric_jacobian(np.sin, np.ones(2), layout="row")
    with pytest.raises(ValueError, match="`layout`"):
        md.check_jacobian(np.sin, np.eye(2), np.ones(2), layout="column")
    with pytest.raises(ValueError, match="`method`"):
        md.numeric_jacobian(np.sin, np.ones(2), method="magic")


def test_output_shape_that_depends_on_values():
    with pytest.raises(md.FunctionError, match="shape"):
        md.numeric_jacobian(lambda x: x[x > 1.0], np.array([1.0, 2.0, 0.5]))


def test_check_upstream_shape_is_validated():
    with pytest.raises(ValueError, match="`upstream`"):
        md.check_backward(lambda A: 2 * A, lambda A, G: 2 * G, np.ones((2, 3)),
                          upstream=np.ones((3, 2)))
