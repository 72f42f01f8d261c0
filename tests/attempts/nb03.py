"""Attempts at notebook 3 (the Jacobian): right answers written other ways, and typical mistakes."""

from attempts import right, wrong

NOTEBOOK = "03-jacobian"

ATTEMPTS = {
    "jacobian_linear": [
        right("if-else, no copy", """
def jacobian_linear(A, layout):
    if layout == "numerator":
        return A
    elif layout == "denominator":
        return A.T
    else:
        raise ValueError("unknown layout")
"""),
        right("float32", """
def jacobian_linear(A, layout):
    A32 = np.asarray(A, dtype=np.float32)
    if layout not in ("numerator", "denominator"):
        raise ValueError(layout)
    return A32 if layout == "numerator" else A32.T
"""),
        right("nested lists", """
def jacobian_linear(A, layout):
    if layout == "numerator":
        return np.asarray(A).tolist()
    if layout == "denominator":
        return np.asarray(A).T.tolist()
    raise ValueError("layout?")
"""),
        right("tuples of rows, by index", """
def jacobian_linear(A, layout):
    n, m = np.shape(A)
    if layout == "numerator":
        return tuple(tuple(A[j][k] for k in range(m)) for j in range(n))
    if layout == "denominator":
        return tuple(tuple(A[j][k] for j in range(n)) for k in range(m))
    raise ValueError(f"bad layout {layout}")
"""),
        right("a dict of layouts, KeyError turned into ValueError", """
def jacobian_linear(A, layout):
    A = np.array(A, dtype=float)
    try:
        return {"numerator": A, "denominator": np.transpose(A)}[layout]
    except KeyError:
        raise ValueError(layout) from None
"""),
        wrong("layouts swapped", """
def jacobian_linear(A, layout):
    if layout == "numerator":
        return A.T
    if layout == "denominator":
        return A
    raise ValueError(layout)
""", expect="transpose"),
        wrong("pseudo-inverse", """
def jacobian_linear(A, layout):
    if layout not in ("numerator", "denominator"):
        raise ValueError(layout)
    P = np.linalg.pinv(A)
    return P if layout == "denominator" else P.T
""", expect="the pseudo-inverse of A"),
        wrong("reshape instead of a transpose", """
def jacobian_linear(A, layout):
    if layout == "numerator":
        return A
    if layout == "denominator":
        return A.reshape(A.shape[1], A.shape[0])
    raise ValueError(layout)
""", expect="reshaped to (m, n) instead of transposed"),
        wrong("no ValueError for an unknown layout", """
def jacobian_linear(A, layout):
    if layout == "numerator":
        return A
    return A.T
""", expect="ValueError"),
        wrong("another exception for an unknown layout", """
def jacobian_linear(A, layout):
    return {"numerator": A, "denominator": A.T}[layout]
""", expect="ValueError"),
        wrong("the same matrix for both layouts", """
def jacobian_linear(A, layout):
    if layout not in ("numerator", "denominator"):
        raise ValueError(layout)
    return A
""", expect="transpose"),
        wrong("a string", """
def jacobian_linear(A, layout):
    return "A" if layout == "numerator" else "A^T"
""", expect="not-array"),
        wrong("numeric Jacobian", """
def jacobian_linear(A, layout):
    if layout not in ("numerator", "denominator"):
        raise ValueError(layout)
    return md.numeric_jacobian(lambda v: A @ v, np.zeros(np.shape(A)[1]), layout=layout)
""", expect="numeric-answer"),
        wrong("1% off", """
def jacobian_linear(A, layout):
    if layout not in ("numerator", "denominator"):
        raise ValueError(layout)
    return 1.01 * (A if layout == "numerator" else A.T)
""", expect="scale"),
        wrong("hard-coded visible matrix", """
_A31 = np.random.default_rng(31).standard_normal((3, 5))
def jacobian_linear(A, layout):
    if layout not in ("numerator", "denominator"):
        raise ValueError(layout)
    return _A31 if layout == "numerator" else _A31.T
""", expect="shape", hidden_only=True),
        wrong("not answered", """
def jacobian_linear(A, layout):
    raise NotImplementedError()
""", expect="not-answered"),
    ],
    "sigmoid_jacobian": [
        right("float32", """
def sigmoid_jacobian(v):
    v32 = np.asarray(v, dtype=np.float32)
    s = 1 / (1 + np.exp(-v32))
    return np.diag(s * (1 - s))
"""),
        right("lists, by a loop", """
def sigmoid_jacobian(v):
    n = len(v)
    J = [[0.0] * n for _ in range(n)]
    for i in range(n):
        s = 1 / (1 + np.exp(-v[i]))
        J[i][i] = s * (1 - s)
    return J
"""),
        right("tuple of rows", """
def sigmoid_jacobian(v):
    s = 1 / (1 + np.exp(-np.asarray(v)))
    return tuple(map(tuple, np.diag(s * (1 - s))))
"""),
        right("other formula, exp(-v) / (1 + exp(-v))^2", """
def sigmoid_jacobian(v):
    e = np.exp(-v)
    return np.diag(e / (1 + e) ** 2)
"""),
        right("other formula, tanh, eye times column", """
def sigmoid_jacobian(v):
    d = 0.25 * (1 - np.tanh(v / 2) ** 2)
    return np.eye(len(v)) * d[:, None]
"""),
        wrong("vector of derivatives", """
def sigmoid_jacobian(v):
    s = 1 / (1 + np.exp(-v))
    return s * (1 - s)
""", expect="the vector of derivatives instead of the (n, n) matrix"),
        wrong("sigma on the diagonal", """
def sigmoid_jacobian(v):
    return np.diag(1 / (1 + np.exp(-v)))
""", expect="the sigmoid itself on the diagonal instead of its derivative"),
        wrong("outer product, every entry filled", """
def sigmoid_jacobian(v):
    s = 1 / (1 + np.exp(-v))
    return np.outer(s, 1 - s)
""", expect="wrong-values"),
        wrong("derivatives in every row", """
def sigmoid_jacobian(v):
    s = 1 / (1 + np.exp(-v))
    return np.ones((len(v), len(v))) * (s * (1 - s))
""", expect="the derivatives copied into every row, not only onto the diagonal"),
        wrong("sign", """
def sigmoid_jacobian(v):
    s = 1 / (1 + np.exp(-v))
    return np.diag(s * (s - 1))
""", expect="sign"),
        wrong("1% off", """
def sigmoid_jacobian(v):
    s = 1 / (1 + np.exp(-v))
    return 1.01 * np.diag(s * (1 - s))
""", expect="scale"),
        wrong("a string", """
def sigmoid_jacobian(v):
    return "diag(s (1 - s))"
""", expect="not-array"),
        wrong("numeric Jacobian", """
def sigmoid_jacobian(v):
    return md.numeric_jacobian(lambda t: 1 / (1 + np.exp(-t)), v)
""", expect="numeric-answer"),
        wrong("hard-coded visible Jacobian", """
_v32 = np.random.default_rng(32).standard_normal(5)
_J32 = np.diag(np.exp(-_v32) / (1 + np.exp(-_v32)) ** 2)
def sigmoid_jacobian(v):
    return _J32
""", expect="shape", hidden_only=True),
    ],
    "softmax_jacobian": [
        right("float32", """
def softmax_jacobian(z):
    z = np.asarray(z, dtype=np.float32)
    e = np.exp(z - z.max())
    s = e / e.sum()
    return np.diag(s) - np.outer(s, s)
"""),
        right("lists, by a double loop", """
def softmax_jacobian(z):
    z = np.asarray(z)
    e = np.exp(z - np.max(z))
    s = e / np.sum(e)
    n = len(s)
    return [[s[i] * ((1.0 if i == k else 0.0) - s[k]) for k in range(n)] for i in range(n)]
"""),
        right("broadcasting, s (I - s^T)", """
def softmax_jacobian(z):
    e = np.exp(z - z.max())
    s = e / e.sum()
    return s[:, None] * (np.eye(z.size) - s[None, :])
"""),
        right("uses the notebook's softmax, tuple of rows", """
def softmax_jacobian(z):
    s = softmax(z)
    return tuple(map(tuple, np.diag(s) - np.outer(s, s)))
"""),
        right("log-sum-exp", """
def softmax_jacobian(z):
    m = np.max(z)
    s = np.exp(z - m - np.log(np.sum(np.exp(z - m))))
    return np.diag(s) - s[:, None] * s[None, :]
"""),
        wrong("naive exp overflows", """
def softmax_jacobian(z):
    e = np.exp(z)
    s = e / e.sum()
    return np.diag(s) - np.outer(s, s)
""", expect="not-finite"),
        wrong("only the outer product", """
def softmax_jacobian(z):
    s = softmax(z)
    return -np.outer(s, s)
""", expect="the diagonal part diag(s) left out"),
        wrong("only the diagonal", """
def softmax_jacobian(z):
    s = softmax(z)
    return np.diag(s * (1 - s))
""", expect="only the diagonal s_i (1 - s_i), the off-diagonal entries left at zero"),
        wrong("plus instead of minus", """
def softmax_jacobian(z):
    s = softmax(z)
    return np.diag(s) + np.outer(s, s)
""", expect="s s^T added instead of subtracted"),
        wrong("sign", """
def softmax_jacobian(z):
    s = softmax(z)
    return np.outer(s, s) - np.diag(s)
""", expect="sign"),
        wrong("1% off", """
def softmax_jacobian(z):
    s = softmax(z)
    return 1.01 * (np.diag(s) - np.outer(s, s))
""", expect="scale"),
        wrong("numeric Jacobian", """
def softmax_jacobian(z):
    return md.numeric_jacobian(softmax, z)
""", expect="numeric-answer"),
        wrong("a string", """
def softmax_jacobian(z):
    return "diag(s) - s s^T"
""", expect="not-array"),
    ],
    "tanh_layer_jacobian": [
        right("float32", """
def tanh_layer_jacobian(A, v, layout):
    A32, v32 = np.asarray(A, dtype=np.float32), np.asarray(v, dtype=np.float32)
    J = (1 - np.tanh(A32 @ v32) ** 2)[:, None] * A32
    return J if layout == "numerator" else J.T
"""),
        right("explicit diagonal matrices, chain rule in both orders", """
def tanh_layer_jacobian(A, v, layout):
    D = np.diag(1 - np.tanh(A @ v) ** 2)
    if layout == "numerator":
        return D @ A
    return A.T @ D
"""),
        right("lists", """
def tanh_layer_jacobian(A, v, layout):
    h = np.tanh(A @ v)
    J = (1 - h * h)[:, None] * A
    return (J if layout == "numerator" else J.T).tolist()
"""),
        right("einsum, cosh", """
def tanh_layer_jacobian(A, v, layout):
    d = 1 / np.cosh(A @ v) ** 2
    return np.einsum("j,jk->jk", d, A) if layout == "numerator" else np.einsum("j,jk->kj", d, A)
"""),
        right("tuples, by loops", """
def tanh_layer_jacobian(A, v, layout):
    n, m = np.shape(A)
    a = np.asarray(A) @ np.asarray(v)
    rows = [[(1 - np.tanh(a[j]) ** 2) * A[j][k] for k in range(m)] for j in range(n)]
    if layout == "denominator":
        rows = [[rows[j][k] for j in range(n)] for k in range(m)]
    return tuple(tuple(r) for r in rows)
"""),
        wrong("tanh factor left out", """
def tanh_layer_jacobian(A, v, layout):
    return A if layout == "numerator" else A.T
""", expect="the tanh factor left out (the Jacobian of A v alone)"),
        wrong("1 - tanh instead of 1 - tanh^2", """
def tanh_layer_jacobian(A, v, layout):
    J = (1 - np.tanh(A @ v))[:, None] * A
    return J if layout == "numerator" else J.T
""", expect="wrong-values"),
        wrong("tanh as its own derivative", """
def tanh_layer_jacobian(A, v, layout):
    J = np.tanh(A @ v)[:, None] * A
    return J if layout == "numerator" else J.T
""", expect="wrong-values"),
        wrong("slope at v, not at A v", """
def tanh_layer_jacobian(A, v, layout):
    J = A * (1 - np.tanh(v) ** 2)
    return J if layout == "numerator" else J.T
""", expect="tanh' evaluated at v instead of at a = A v"),
        wrong("layouts swapped", """
def tanh_layer_jacobian(A, v, layout):
    J = (1 - np.tanh(A @ v) ** 2)[:, None] * A
    return J.T if layout == "numerator" else J
""", expect="transpose"),
        wrong("sign", """
def tanh_layer_jacobian(A, v, layout):
    J = (np.tanh(A @ v) ** 2 - 1)[:, None] * A
    return J if layout == "numerator" else J.T
""", expect="sign"),
        wrong("1% off", """
def tanh_layer_jacobian(A, v, layout):
    J = 0.99 * (1 - np.tanh(A @ v) ** 2)[:, None] * A
    return J if layout == "numerator" else J.T
""", expect="scale"),
        wrong("numeric Jacobian", """
def tanh_layer_jacobian(A, v, layout):
    return md.numeric_jacobian(lambda u: np.tanh(A @ u), v, layout=layout)
""", expect="numeric-answer"),
        wrong("a string", """
def tanh_layer_jacobian(A, v, layout):
    return "diag(1 - h^2) A"
""", expect="not-array"),
    ],
}
