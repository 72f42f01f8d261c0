"""Attempts for notebook 08 (layout conventions): what learners type for each graded function."""

from . import right, wrong

NOTEBOOK = "08-layout-conventions"

ATTEMPTS = {
    "convert_layout": [
        right("moveaxis", '''
def convert_layout(J, in_ndim, to):
    J = np.asarray(J)
    if to not in ("numerator", "denominator"):
        raise ValueError("to must be 'numerator' or 'denominator'")
    first = J.ndim - in_ndim if to == "denominator" else in_ndim    # axes of the leading block
    return np.moveaxis(J, list(range(first)), list(range(J.ndim - first, J.ndim)))
'''),
        right("float32", '''
def convert_layout(J, in_ndim, to):
    J = np.asarray(J, dtype=np.float32)
    if to == "denominator":
        k = J.ndim - in_ndim
        return J.transpose(tuple(range(k, J.ndim)) + tuple(range(k)))
    if to == "numerator":
        return J.transpose(tuple(range(in_ndim, J.ndim)) + tuple(range(in_ndim)))
    raise ValueError(to)
'''),
        right("lists", '''
def convert_layout(J, in_ndim, to):
    if to == "numerator":
        in_ndim = np.ndim(J) - in_ndim          # the block to move back is the input's
    elif to != "denominator":
        raise ValueError(f"unknown layout {to!r}")
    k = np.ndim(J) - in_ndim
    out = np.transpose(J, [*range(k, np.ndim(J)), *range(k)])
    return out.tolist() if out.ndim else float(out)
'''),
        wrong("dot-T", '''
def convert_layout(J, in_ndim, to):
    if to not in ("numerator", "denominator"):
        raise ValueError(to)
    return np.asarray(J).T
''', expect="J.T, which reverses every axis"),
        wrong("same-formula-both-ways", '''
def convert_layout(J, in_ndim, to):
    J = np.asarray(J)
    if to not in ("numerator", "denominator"):
        raise ValueError(to)
    return np.transpose(J, list(range(in_ndim, J.ndim)) + list(range(in_ndim)))
''', expect="the input axes counted from the wrong end of J"),
        wrong("unchanged", '''
def convert_layout(J, in_ndim, to):
    if to not in ("numerator", "denominator"):
        raise ValueError(to)
    return J
''', expect="J returned unchanged"),
        wrong("no-ValueError", '''
def convert_layout(J, in_ndim, to):
    J = np.asarray(J)
    if to == "denominator":
        k = J.ndim - in_ndim
        return np.transpose(J, list(range(k, J.ndim)) + list(range(k)))
    return np.transpose(J, list(range(in_ndim, J.ndim)) + list(range(in_ndim)))
''', expect="should raise ValueError"),
        wrong("wrong-exception", '''
def convert_layout(J, in_ndim, to):
    J = np.asarray(J)
    axes = {"denominator": J.ndim - in_ndim, "numerator": in_ndim}[to]     # KeyError otherwise
    return np.transpose(J, list(range(axes, J.ndim)) + list(range(axes)))
''', expect="should raise ValueError, but it raised KeyError"),
        wrong("uses-md-helpers", '''
def convert_layout(J, in_ndim, to):
    if to == "denominator":
        return md.to_denominator(J, in_ndim)
    if to == "numerator":
        return md.to_numerator(J, in_ndim)
    raise ValueError(to)
''', expect="md.to_denominator or md.to_numerator"),
        wrong("imported-helpers", '''
from matdiff import to_denominator as _den, to_numerator as _num

def convert_layout(J, in_ndim, to):
    if to == "denominator":
        return _den(J, in_ndim)
    if to == "numerator":
        return _num(J, in_ndim)
    raise ValueError(to)
''', expect="md.to_denominator or md.to_numerator"),
        wrong("four-axes-only", '''
def convert_layout(J, in_ndim, to):
    if to not in ("numerator", "denominator"):
        raise ValueError(to)
    return np.transpose(J, (2, 3, 0, 1))
''', expect="error"),
        wrong("unanswered", '''
def convert_layout(J, in_ndim, to):
    raise NotImplementedError()
''', expect="not-answered"),
    ],
    "which_layout": [
        right("moveaxis-and-dict", '''
def which_layout(J, f, x):
    J, x = np.asarray(J, dtype=float), np.asarray(x, dtype=float)
    num = md.numeric_jacobian(f, x)
    den = np.moveaxis(num, list(range(num.ndim - x.ndim)), list(range(x.ndim, num.ndim)))
    fit = [J.shape == c.shape and np.allclose(J, c, rtol=1e-5, atol=1e-6) for c in (num, den)]
    return {(True, True): "both", (True, False): "numerator",
            (False, True): "denominator", (False, False): "neither"}[tuple(fit)]
'''),
        right("two-numeric-layouts", '''
def which_layout(J, f, x):
    J = np.asarray(J)
    is_num = is_den = False
    num = md.numeric_jacobian(f, x)
    den = md.numeric_jacobian(f, x, layout="denominator")
    if J.shape == num.shape:
        is_num = np.allclose(J, num, rtol=1e-5, atol=1e-6)
    if J.shape == den.shape:
        is_den = np.allclose(J, den, rtol=1e-5, atol=1e-6)
    if is_num and is_den:
        return "both"
    return "numerator" if is_num else "denominator" if is_den else "neither"
'''),
        right("own-convert-layout", '''
def which_layout(J, f, x):
    num = md.numeric_jacobian(f, x)
    den = convert_layout(num, np.ndim(x), "denominator")
    ok = lambda c: np.shape(J) == c.shape and bool(np.allclose(J, c, rtol=1e-5, atol=1e-6))
    a, b = ok(num), ok(den)
    return "both" if a and b else "numerator" if a else "denominator" if b else "neither"
'''),
        wrong("shapes-only", '''
def which_layout(J, f, x):
    num = md.numeric_jacobian(f, x)
    den = md.to_denominator(num, np.ndim(x))
    a, b = np.shape(J) == num.shape, np.shape(J) == den.shape
    return "both" if a and b else "numerator" if a else "denominator" if b else "neither"
''', expect="only the shapes compared, never the values"),
        wrong("never-both", '''
def which_layout(J, f, x):
    num = md.numeric_jacobian(f, x)
    den = md.to_denominator(num, np.ndim(x))
    ok = lambda c: np.shape(J) == c.shape and bool(np.allclose(J, c, rtol=1e-5, atol=1e-6))
    if ok(num):
        return "numerator"
    if ok(den):
        return "denominator"
    return "neither"
''', expect="both never returned: the first layout that fits wins"),
        wrong("dot-T-as-denominator", '''
def which_layout(J, f, x):
    num = md.numeric_jacobian(f, x)
    den = num.T
    ok = lambda c: np.shape(J) == c.shape and bool(np.allclose(J, c, rtol=1e-5, atol=1e-6))
    a, b = ok(num), ok(den)
    return "both" if a and b else "numerator" if a else "denominator" if b else "neither"
''', expect="the denominator candidate built with .T, which reverses every axis"),
        wrong("names-swapped", '''
def which_layout(J, f, x):
    num = md.numeric_jacobian(f, x)
    den = md.to_denominator(num, np.ndim(x))
    ok = lambda c: np.shape(J) == c.shape and bool(np.allclose(J, c, rtol=1e-5, atol=1e-6))
    a, b = ok(num), ok(den)
    return "both" if a and b else "denominator" if a else "numerator" if b else "neither"
''', expect="the names of the two layouts swapped"),
        wrong("capitalised", '''
def which_layout(J, f, x):
    num = md.numeric_jacobian(f, x)
    den = md.to_denominator(num, np.ndim(x))
    ok = lambda c: np.shape(J) == c.shape and bool(np.allclose(J, c, rtol=1e-5, atol=1e-6))
    a, b = ok(num), ok(den)
    return "Both" if a and b else "Numerator" if a else "Denominator" if b else "Neither"
''', expect="one of the four strings"),
        wrong("unanswered", '''
def which_layout(J, f, x):
    raise NotImplementedError()
''', expect="not-answered"),
    ],
    "chain_rule": [
        right("einsum", '''
def chain_rule(J_zy, J_yx, layout):
    if layout == "numerator":
        return np.einsum("ab,bc->ac", J_zy, J_yx)
    return np.einsum("cb,ba->ca", J_yx, J_zy)
'''),
        right("via-numerator", '''
def chain_rule(J_zy, J_yx, layout):
    if layout == "denominator":
        return (J_zy.T @ J_yx.T).T
    return J_zy @ J_yx
'''),
        right("float32-list", '''
def chain_rule(J_zy, J_yx, layout):
    a, b = np.float32(J_zy), np.float32(J_yx)
    return (a @ b if layout == "numerator" else b @ a).tolist()
'''),
        wrong("other-layout", '''
def chain_rule(J_zy, J_yx, layout):
    if layout == "numerator":
        return (J_zy @ J_yx).T
    return (J_yx @ J_zy).T
''', expect="the result given in the other layout"),
        wrong("one-link", '''
def chain_rule(J_zy, J_yx, layout):
    return J_zy
''', expect="only the link from y to z used"),
        wrong("numerator-order-always", '''
def chain_rule(J_zy, J_yx, layout):
    return J_zy @ J_yx
''', expect="the factors are in the wrong order for this layout"),
        wrong("sign", '''
def chain_rule(J_zy, J_yx, layout):
    return -(J_zy @ J_yx) if layout == "numerator" else -(J_yx @ J_zy)
''', expect="sign"),
        wrong("string", '''
def chain_rule(J_zy, J_yx, layout):
    return "J_zy @ J_yx"
''', expect="not-array"),
        wrong("unanswered", '''
def chain_rule(J_zy, J_yx, layout):
    raise NotImplementedError()
''', expect="not-answered"),
    ],
    "grad_from_differential": [
        right("transpose-of-product", '''
def grad_from_differential(A, W, B):
    return (B @ A).T
'''),
        right("einsum", '''
def grad_from_differential(A, W, B):
    return np.einsum("pi,jp->ij", A, B)
'''),
        right("float32-list", '''
def grad_from_differential(A, W, B):
    return (A.T.astype(np.float32) @ B.T.astype(np.float32)).tolist()
'''),
        wrong("not-transposed", '''
def grad_from_differential(A, W, B):
    return B @ A
''', expect="the matrix in front of dW not transposed"),
        wrong("sum-of-entries", '''
def grad_from_differential(A, W, B):
    return A.T @ np.ones((A.shape[0], B.shape[1])) @ B.T
''', expect="the trace treated as the sum of all entries"),
        wrong("sign", '''
def grad_from_differential(A, W, B):
    return -A.T @ B.T
''', expect="sign"),
        wrong("twice", '''
def grad_from_differential(A, W, B):
    return 2 * A.T @ B.T
''', expect="scale"),
        wrong("numeric", '''
def grad_from_differential(A, W, B):
    return md.numeric_gradient(lambda W: np.trace(A @ W @ B), W)
''', expect="numeric-answer"),
        wrong("unanswered", '''
def grad_from_differential(A, W, B):
    raise NotImplementedError()
''', expect="not-answered"),
    ],
}
