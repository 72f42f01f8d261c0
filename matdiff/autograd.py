"""A tiny reverse-mode automatic differentiation engine, small enough to read in one sitting.

This is what ``loss.backward()`` does in PyTorch (and ``jax.grad`` in JAX), with nothing hidden: every
operation remembers its inputs and how to send a gradient back to them, and ``backward``
walks the graph from the output to the inputs, applying the chain rule one operation at a
time. No Jacobian is ever built: each operation only turns the gradient of its output, ``G``,
into gradients of its inputs (a *vector-Jacobian product*).

The rule for matrix multiplication is the one you derive in notebook 05, and you can plug in
your own with :func:`use_matmul_backward`: every ``@`` in the graph then uses your rule, so a
wrong rule gives wrong gradients everywhere, and a rule that returns the wrong shape stops
``backward`` with an error that names it.

Examples
--------
>>> import numpy as np
>>> from matdiff.autograd import Tensor
>>> A = Tensor([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0]], requires_grad=True, name="A")  # (2, 3)
>>> B = Tensor([[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]], requires_grad=True, name="B")  # (3, 2)
>>> y = (A @ B).sum()          # a scalar: the sum of the 4 entries of A @ B
>>> y.backward()               # dy/dy = 1, sent back through .sum() and @
>>> A.grad                     # G B^T with G = ones (2, 2): the row sums of B
array([[1., 3., 3.],
       [1., 3., 3.]])
>>> B.grad                     # A^T G: the column sums of A, copied into each column
array([[ 1.,  1.],
       [ 3.,  3.],
       [-1., -1.]])

Your own rule, for the ``@`` operations inside the ``with`` block:

>>> from matdiff import autograd
>>> def my_rule(A, B, G):
...     return G @ B.T, A.T @ G
>>> A.grad = B.grad = None     # gradients accumulate, as in PyTorch: start again
>>> with autograd.use_matmul_backward(my_rule):
...     (A @ B).sum().backward()
>>> A.grad
array([[1., 3., 3.],
       [1., 3., 3.]])
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = [
    "Tensor", "MatmulRuleError", "use_matmul_backward", "default_matmul_backward",
    "tanh", "exp", "log", "relu", "sigmoid",
]

MatmulRule = Callable[[np.ndarray, np.ndarray, np.ndarray], Any]


class MatmulRuleError(ValueError):
    """A matmul backward rule raised, or returned something that cannot be the pair
    ``(dA, dB)``. The rule's own exception, if any, is chained as ``__cause__``. In a notebook
    it shows as its message alone, without the engine's frames."""

    def __str__(self) -> str:           # plain text, also when combined with KeyError (which quotes)
        return str(self.args[0]) if self.args else ""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


# ---------------------------------------------------------------------------------------
# The matmul backward rule: the one piece of this engine you can swap for your own.
# ---------------------------------------------------------------------------------------

def default_matmul_backward(A: np.ndarray, B: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The built-in rule for ``C = A @ B``: ``dA = G B^T``, ``dB = A^T G``.

    Parameters
    ----------
    A : numpy.ndarray, shape (m, p)
    B : numpy.ndarray, shape (p, n)
    G : numpy.ndarray, shape (m, n)
        The gradient of the final output with respect to ``C``.

    Returns
    -------
    dA : numpy.ndarray, shape (m, p)
    dB : numpy.ndarray, shape (p, n)

    Examples
    --------
    >>> import numpy as np
    >>> A, B = np.ones((2, 3)), np.arange(6.0).reshape(3, 2)
    >>> dA, dB = default_matmul_backward(A, B, np.ones((2, 2)))
    >>> dA.shape, dB.shape
    ((2, 3), (3, 2))
    """
    return G @ B.T, A.T @ G


_matmul_rule: MatmulRule = default_matmul_backward


@contextlib.contextmanager
def use_matmul_backward(rule: MatmulRule) -> Iterator[MatmulRule]:
    """Use ``rule`` for every matrix product while the ``with`` block runs.

    The rule is looked up when gradients flow back, so ``.backward()`` must be called
    *inside* the block (where the forward pass ran does not matter).

    Parameters
    ----------
    rule : callable
        ``rule(A, B, G) -> (dA, dB)`` on plain numpy arrays, for ``C = A @ B`` with
        ``A (m, p)``, ``B (p, n)`` and ``G = dy/dC (m, n)``. It receives copies, so it
        cannot damage the graph. A function ``matmul_backward(A, B, G=None)`` fits.

    Examples
    --------
    >>> import numpy as np
    >>> from matdiff.autograd import Tensor, use_matmul_backward
    >>> A = Tensor(np.ones((2, 3)), requires_grad=True)
    >>> B = Tensor(np.ones((3, 4)))
    >>> def wrong(A, B, G):                 # transposes in the wrong places
    ...     return G.T @ A, B @ G.T
    >>> with use_matmul_backward(wrong):    # doctest: +ELLIPSIS
    ...     (A @ B).backward()
    Traceback (most recent call last):
        ...
    matdiff.autograd.MatmulRuleError: the matmul backward rule `wrong` returned dA as an array of \
shape (4, 3), but dA must have the shape of A, (2, 3) (for C = A @ B with A (2, 3), B (3, 4), so \
G = dy/dC has shape (2, 4)).
    """
    global _matmul_rule
    if not callable(rule):
        raise TypeError(f"`rule` must be a function rule(A, B, G) -> (dA, dB), not "
                        f"{type(rule).__name__}.")
    previous, _matmul_rule = _matmul_rule, rule
    try:
        yield rule
    finally:
        _matmul_rule = previous


def _rule_raised(exc: Exception, message: str) -> MatmulRuleError:
    """A MatmulRuleError for a rule that raised ``exc``; also an instance of exc's type when
    the two combine, so that ``except ZeroDivisionError`` still catches it."""
    try:
        combined = type("MatmulRuleError", (MatmulRuleError, type(exc)), {
            "__module__": __name__, "__doc__": MatmulRuleError.__doc__})
        return combined(message)
    except TypeError:       # an exception type with its own layout or constructor
        return MatmulRuleError(message)


def _rule_name(rule: Any) -> str:
    return getattr(rule, "__name__", type(rule).__name__)


def _apply_matmul_rule(A: np.ndarray, B: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Call the active rule and make sure it returned two arrays of the right shapes."""
    rule = _matmul_rule
    name = _rule_name(rule)
    where = (f"for C = A @ B with A {A.shape}, B {B.shape}, so G = dy/dC has shape {G.shape}")
    try:
        out = rule(A.copy(), B.copy(), G.copy())
    except NotImplementedError as exc:  # not answered yet: the notebook says so in its words
        exc.add_note(f"(raised inside the matmul backward rule `{name}`, called {where})")
        raise
    except Exception as exc:
        line = ""
        frames = traceback.extract_tb(exc.__traceback__)
        if len(frames) > 1:
            line = f" (line {frames[-1].lineno} of {frames[-1].name})"
        raise _rule_raised(exc, f"the matmul backward rule `{name}` raised {type(exc).__name__}: "
                                f"{exc}{line}, called {where}. Run `{name}` on arrays of these "
                                "shapes on its own to see the full traceback.") from exc
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        if out is None:
            got = "None: did you forget a `return`?"
        elif isinstance(out, (tuple, list)):
            got = f"a {type(out).__name__} of {len(out)} items"
        else:
            got = f"a {type(out).__name__}"
        raise MatmulRuleError(f"the matmul backward rule `{name}` must return a pair (dA, dB), "
                              f"but it returned {got}")
    grads = []
    for label, value, var, want in (("dA", out[0], "A", A.shape), ("dB", out[1], "B", B.shape)):
        try:
            g = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise MatmulRuleError(f"the matmul backward rule `{name}` returned {label} = "
                                  f"{type(value).__name__}, not an array of numbers") from None
        if value is None or g.shape != want:
            why = ("None" if value is None else f"an array of shape {g.shape}")
            extra = (" That is the transposed shape: check which factor is transposed and the "
                     "order of the product." if g.shape == want[::-1] else "")
            raise MatmulRuleError(f"the matmul backward rule `{name}` returned {label} as {why}, "
                                  f"but {label} must have the shape of {var}, {want} ({where})."
                                  f"{extra}")
        grads.append(g)
    return grads[0], grads[1]


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------

def _as_data(value: Any, what: str) -> np.ndarray:
    """A new float64 array from numbers, or a TypeError that says what was wrong."""
    if value is None or isinstance(value, (str, bytes, dict)) or callable(value):
        raise TypeError(f"`{what}` must be numbers (an array, a list or a number), not "
                        f"{type(value).__name__}.")
    try:
        array = np.array(value)
        if np.iscomplexobj(array):
            raise TypeError(f"`{what}` must be real numbers, not complex.")
        return array.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{what}` must be a rectangular array of real numbers: {exc}") from None


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` back down to ``shape``, undoing numpy broadcasting.

    A value broadcast along an axis was *used* once per position on that axis, so its
    gradient is the sum of the gradients of all those uses (for a bias ``b`` added to every
    row of ``Z``, ``db`` is the sum of the rows of ``G``).

    >>> _unbroadcast(np.ones((4, 3)), (3,))
    array([4., 4., 4.])
    >>> _unbroadcast(np.ones((4, 3)), (4, 1))
    array([[3.],
           [3.],
           [3.],
           [3.]])
    """
    while grad.ndim > len(shape):           # axes numpy added in front
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):     # axes of size 1 that numpy stretched
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


# ---------------------------------------------------------------------------------------
# Tensor
# ---------------------------------------------------------------------------------------

class Tensor:
    """An array that remembers how it was computed, so that gradients can flow back.

    Parameters
    ----------
    data : array_like
        Numbers; stored as a new float64 numpy array (``.data``).
    requires_grad : bool
        Whether gradients should be computed for this tensor. Results of operations need
        gradients when any of their inputs does.
    name : str, optional
        A label, shown in ``repr`` and in :meth:`graph`.

    Attributes
    ----------
    data : numpy.ndarray
    grad : numpy.ndarray or None
        ``d(output)/d(this tensor)``, with the shape of ``data``; None until a
        :meth:`backward` reaches it. Kept for intermediate results too, so you can look at
        the ``G`` that arrived at any step.

    Examples
    --------
    >>> x = Tensor([1.0, -2.0, 3.0], requires_grad=True, name="x")
    >>> y = (x * x).sum()          # x is used twice: both uses add to its gradient
    >>> y.backward()
    >>> x.grad                     # 2 x
    array([ 2., -4.,  6.])
    >>> y
    Tensor(14., requires_grad=True)
    """

    # Make numpy hand ``array @ tensor``, ``array + tensor``, ... over to Tensor.
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"`requires_grad` must be True or False, not {requires_grad!r}.")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`name` must be a string or None, not {type(name).__name__}.")
        self.data: np.ndarray = _as_data(data, "data")
        self.requires_grad: bool = bool(requires_grad)
        self.name = name
        self.grad: np.ndarray | None = None
        self.op: str = "input"                   # which operation made this tensor
        self._parents: tuple[Tensor, ...] = ()
        # Given G = d(output)/d(self), returns one gradient per parent (None: not needed).
        self._backward: Callable[[np.ndarray], tuple[np.ndarray | None, ...]] | None = None

    # -- building the graph -------------------------------------------------------------

    @staticmethod
    def _lift(value: Any) -> Tensor:
        """Numbers and arrays become constant tensors (no gradient)."""
        return value if isinstance(value, Tensor) else Tensor(_as_data(value, "operand"))

    @classmethod
    def _result(cls, data: np.ndarray, op: str, parents: tuple[Tensor, ...],
                backward: Callable[[np.ndarray], tuple[np.ndarray | None, ...]]) -> Tensor:
        out = cls(data, requires_grad=any(p.requires_grad for p in parents))
        out.op = op
        if out.requires_grad:
            out._parents, out._backward = parents, backward
        return out

    # -- properties ---------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def item(self) -> float:
        """The value of a one-entry tensor as a Python float."""
        return self.data.item()

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        label = f", name={self.name!r}" if self.name else ""
        return f"Tensor({body}{extra}{label})"

    # -- matrix product: uses the pluggable rule ------------------------------------------

    def __matmul__(self, other: Any) -> Tensor:
        a, b = self, Tensor._lift(other)
        if a.ndim != 2 or b.ndim != 2:
            raise ValueError(f"@ here multiplies two matrices (2-D), but got shapes {a.shape} @ "
                             f"{b.shape}; make a vector a column with v.reshape(-1, 1).")
        if a.shape[1] != b.shape[0]:
            raise ValueError(f"A @ B needs as many columns in A as rows in B, but got "
                             f"{a.shape} @ {b.shape}.")

        def backward(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return _apply_matmul_rule(a.data, b.data, G)

        return Tensor._result(a.data @ b.data, "@", (a, b), backward)

    def __rmatmul__(self, other: Any) -> Tensor:
        return Tensor._lift(other) @ self

    # -- element-wise arithmetic, with numpy broadcasting ----------------------------------

    def __add__(self, other: Any) -> Tensor:
        a, b = self, Tensor._lift(other)
        return Tensor._result(a.data + b.data, "+", (a, b),
                              lambda G: (_unbroadcast(G, a.shape), _unbroadcast(G, b.shape)))

    def __radd__(self, other: Any) -> Tensor:
        return Tensor._lift(other) + self

    def __neg__(self) -> Tensor:
        return Tensor._result(-self.data, "neg", (self,), lambda G: (-G,))

    def __sub__(self, other: Any) -> Tensor:
        a, b = self, Tensor._lift(other)
        return Tensor._result(a.data - b.data, "-", (a, b),
                              lambda G: (_unbroadcast(G, a.shape), _unbroadcast(-G, b.shape)))

    def __rsub__(self, other: Any) -> Tensor:
        return Tensor._lift(other) - self

    def __mul__(self, other: Any) -> Tensor:
        a, b = self, Tensor._lift(other)
        return Tensor._result(a.data * b.data, "*", (a, b),
                              lambda G: (_unbroadcast(G * b.data, a.shape),
                                         _unbroadcast(G * a.data, b.shape)))

    def __rmul__(self, other: Any) -> Tensor:
        return Tensor._lift(other) * self

    def __truediv__(self, other: Any) -> Tensor:
        a, b = self, Tensor._lift(other)
        return Tensor._result(a.data / b.data, "/", (a, b),
                              lambda G: (_unbroadcast(G / b.data, a.shape),
                                         _unbroadcast(-G * a.data / b.data**2, b.shape)))

    def __rtruediv__(self, other: Any) -> Tensor:
        return Tensor._lift(other) / self

    def __pow__(self, p: float) -> Tensor:
        if isinstance(p, Tensor) or not np.isscalar(p):
            raise TypeError("x ** p needs a plain number p (a constant exponent).")
        a = self
        return Tensor._result(a.data ** p, f"** {p:g}", (a,), lambda G: (G * p * a.data ** (p - 1),))

    # -- element-wise functions ------------------------------------------------------------

    def tanh(self) -> Tensor:
        """``tanh`` of every entry; its backward is ``G * (1 - tanh(x)**2)``."""
        t = np.tanh(self.data)
        return Tensor._result(t, "tanh", (self,), lambda G: (G * (1.0 - t**2),))

    def exp(self) -> Tensor:
        """``exp`` of every entry; its backward is ``G * exp(x)``."""
        e = np.exp(self.data)
        return Tensor._result(e, "exp", (self,), lambda G: (G * e,))

    def log(self) -> Tensor:
        """Natural log of every entry (all must be positive); its backward is ``G / x``."""
        if np.any(self.data <= 0):
            raise ValueError("log needs positive entries, but this tensor has entries <= 0.")
        x = self.data
        return Tensor._result(np.log(x), "log", (self,), lambda G: (G / x,))

    def relu(self) -> Tensor:
        """``max(x, 0)`` of every entry; its backward passes ``G`` where ``x > 0``."""
        x = self.data
        return Tensor._result(np.maximum(x, 0.0), "relu", (self,), lambda G: (G * (x > 0),))

    def sigmoid(self) -> Tensor:
        """``1 / (1 + exp(-x))`` of every entry; its backward is ``G * s * (1 - s)``."""
        s = 1.0 / (1.0 + np.exp(-self.data))
        return Tensor._result(s, "sigmoid", (self,), lambda G: (G * s * (1.0 - s),))

    # -- reductions and reshaping ----------------------------------------------------------

    def sum(self, axis: int | None = None) -> Tensor:
        """Sum of all entries (``axis=None``) or along one axis.

        Every entry contributed with weight 1, so each receives the upstream gradient of the
        sum it went into: ``G`` is copied back along the summed axis.
        """
        shape = self.shape
        if axis is not None:
            if not -self.ndim <= axis < self.ndim:
                raise ValueError(f"axis {axis} does not exist for a tensor of shape {shape}.")
            axis = axis % self.ndim

        def backward(G: np.ndarray) -> tuple[np.ndarray]:
            if axis is not None:
                G = np.expand_dims(G, axis)
            return (np.broadcast_to(G, shape).copy(),)

        return Tensor._result(self.data.sum(axis=axis), "sum", (self,), backward)

    def mean(self, axis: int | None = None) -> Tensor:
        """Mean of all entries or along one axis: a sum divided by the number of terms."""
        count = self.data.size if axis is None else self.shape[axis]
        return self.sum(axis=axis) * (1.0 / count)

    @property
    def T(self) -> Tensor:
        """The transpose; its backward transposes ``G`` back."""
        return Tensor._result(self.data.T, "T", (self,), lambda G: (G.T,))

    # -- backpropagation --------------------------------------------------------------------

    def _topological_order(self) -> list[Tensor]:
        """Every tensor this one depends on (that needs a gradient), inputs first.

        Depth-first search: a tensor is listed only after all the tensors it was computed
        from, so walking the list backwards visits each tensor after everything that used it.
        """
        order: list[Tensor] = []
        visited: set[int] = set()
        stack: list[tuple[Tensor, bool]] = [(self, False)]
        while stack:
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))           # comes back here after its parents
            # Pushed in reverse so that the first input is explored (and listed) first.
            stack.extend((p, False) for p in reversed(node._parents) if p.requires_grad)
        return order

    def backward(self, G: Any = None) -> None:
        """Compute the gradient of this tensor's entries, weighted by ``G``, w.r.t. everything.

        After the call, every tensor ``t`` in the graph with ``requires_grad=True`` has
        ``t.grad = d(sum(G * self))/dt`` added to it (gradients accumulate over calls, as in
        PyTorch: set ``t.grad = None`` to start again).

        Parameters
        ----------
        G : array_like, optional
            The upstream gradient, with this tensor's shape. None means all ones: the
            gradient of the plain sum of the entries (for a scalar, just 1).

        Examples
        --------
        >>> W = Tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)  # (3, 2)
        >>> x = Tensor([[2.0], [1.0]])                                             # (2, 1)
        >>> z = W @ x                                                              # (3, 1)
        >>> z.backward([[1.0], [0.0], [-1.0]])         # explicit upstream G (3, 1)
        >>> W.grad                                     # G x^T
        array([[ 2.,  1.],
               [ 0.,  0.],
               [-2., -1.]])
        """
        if not self.requires_grad:
            raise RuntimeError("backward() needs a tensor that depends on some Tensor created with "
                               "requires_grad=True; nothing here needs a gradient.")
        if G is None:
            G = np.ones_like(self.data)
        else:
            G = _as_data(G, "G")
            if G.shape != self.shape:
                raise ValueError(f"the upstream gradient G must have the shape of the tensor "
                                 f"it is the gradient of, {self.shape}, not {G.shape}.")
        grads: dict[int, np.ndarray] = {id(self): G}
        for node in reversed(self._topological_order()):
            g = grads.pop(id(node))
            node.grad = g.copy() if node.grad is None else node.grad + g
            if node._backward is None:           # an input: nothing further back
                continue
            for parent, pg in zip(node._parents, node._backward(g), strict=True):
                if not parent.requires_grad or pg is None:
                    continue
                if pg.shape != parent.shape:     # a bug in an operation, not in your code
                    raise RuntimeError(f"internal error: {node.op} sent back a gradient of shape "
                                       f"{pg.shape} for an input of shape {parent.shape}")
                # A tensor used by several operations: the contributions add up.
                grads[id(parent)] = grads[id(parent)] + pg if id(parent) in grads else pg

    def graph(self) -> str:
        """The computation behind this tensor, one operation per line, inputs first.

        >>> A = Tensor([[1.0, 2.0]], requires_grad=True, name="A")
        >>> B = Tensor([[3.0], [4.0]], requires_grad=True, name="B")
        >>> print((A @ B).tanh().graph())
        A (1, 2) = input
        B (2, 1) = input
        t1 (1, 1) = A @ B
        t2 (1, 1) = tanh(t1)
        """
        labels: dict[int, str] = {}
        counts = {"in": 0, "t": 0}
        lines = []
        for node in self._topological_order():
            kind = "t" if node._parents else "in"
            if node.name:
                labels[id(node)] = node.name
            else:
                counts[kind] += 1
                labels[id(node)] = f"{kind}{counts[kind]}"
            args = [labels.get(id(p), p.name or "const") for p in node._parents]
            if not node._parents:
                rhs = "input"
            elif len(args) == 2:
                rhs = f"{args[0]} {node.op} {args[1]}"
            elif node.op.startswith("**"):
                rhs = f"{args[0]} {node.op}"
            else:
                rhs = f"{node.op}({args[0]})"
            lines.append(f"{labels[id(node)]} {node.shape} = {rhs}")
        return "\n".join(lines)


# Module-level forms of the element-wise functions: ``tanh(x)`` as well as ``x.tanh()``.

def tanh(x: Any) -> Tensor:
    """``tanh`` of every entry of a Tensor (arrays become constant tensors)."""
    return Tensor._lift(x).tanh()


def exp(x: Any) -> Tensor:
    """``exp`` of every entry of a Tensor."""
    return Tensor._lift(x).exp()


def log(x: Any) -> Tensor:
    """Natural log of every entry of a Tensor."""
    return Tensor._lift(x).log()


def relu(x: Any) -> Tensor:
    """``max(x, 0)`` of every entry of a Tensor."""
    return Tensor._lift(x).relu()


def sigmoid(x: Any) -> Tensor:
    """The logistic sigmoid of every entry of a Tensor."""
    return Tensor._lift(x).sigmoid()
