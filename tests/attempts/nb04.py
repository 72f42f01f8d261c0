"""Attempts at notebook 4 (tensors): right answers written other ways, and typical mistakes."""

from attempts import right, wrong

NOTEBOOK = "04-tensors"

ATTEMPTS = {
    "d_Wx_dW": [
        right("loops", """
def d_Wx_dW(W, x):
    n, m = W.shape
    T = np.zeros((n, n, m))
    for i in range(n):
        T[i, i, :] = x
    return T
"""),
        right("float32", """
def d_Wx_dW(W, x):
    n = W.shape[0]
    return np.einsum("ij,k->ijk", np.eye(n, dtype=np.float32), np.asarray(x, dtype=np.float32))
"""),
        right("nested lists", """
def d_Wx_dW(W, x):
    n, m = np.shape(W)
    return [[[float(x[k]) if i == j else 0.0 for k in range(m)] for j in range(n)] for i in range(n)]
"""),
        right("broadcasting", """
def d_Wx_dW(W, x):
    n = len(W)
    return np.eye(n)[:, :, None] * np.asarray(x)[None, None, :]
"""),
        right("tuple of slices", """
def d_Wx_dW(W, x):
    n = W.shape[0]
    return tuple(np.outer(np.eye(n)[i], x) for i in range(n))
"""),
        wrong("compressed form", """
def d_Wx_dW(W, x):
    return x
""", expect="the compressed form x instead of the full tensor"),
        wrong("delta left out", """
def d_Wx_dW(W, x):
    n, m = W.shape
    return np.ones((n, n, 1)) * x
""", expect="the δ left out: x in every row of every slice"),
        wrong("W in place of x", """
def d_Wx_dW(W, x):
    n = W.shape[0]
    return np.einsum("ij,jk->ijk", np.eye(n), W)
""", expect="wrong-values"),
        wrong("flattened matrix", """
def d_Wx_dW(W, x):
    return np.kron(np.eye(W.shape[0]), x[None, :])
""", expect="the flattened (n, n*m) matrix instead of the 3-tensor"),
        wrong("1% off", """
def d_Wx_dW(W, x):
    return 1.01 * np.einsum("ij,k->ijk", np.eye(W.shape[0]), x)
""", expect="scale"),
        wrong("sign", """
def d_Wx_dW(W, x):
    return -np.einsum("ij,k->ijk", np.eye(W.shape[0]), x)
""", expect="sign"),
        wrong("numeric Jacobian", """
def d_Wx_dW(W, x):
    return md.numeric_jacobian(lambda M: M @ x, W)
""", expect="numeric-answer"),
        wrong("a string", """
def d_Wx_dW(W, x):
    return "delta_ij x_k"
""", expect="not-array"),
        wrong("hard-coded visible tensor", """
_rng41 = np.random.default_rng(41)
_rng41.standard_normal((3, 5))
_x41 = _rng41.standard_normal(5)
_T41 = np.einsum("ij,k->ijk", np.eye(3), _x41)
def d_Wx_dW(W, x):
    return _T41
""", expect="shape", hidden_only=True),
    ],
    "vec_jacobian_Wx": [
        right("float32", """
def vec_jacobian_Wx(W, x):
    return np.kron(np.asarray(x, dtype=np.float32)[None, :], np.eye(W.shape[0], dtype=np.float32))
"""),
        right("kron of a 1-D x, as lists", """
def vec_jacobian_Wx(W, x):
    return np.kron(x, np.eye(len(W))).tolist()
"""),
        right("blocks side by side", """
def vec_jacobian_Wx(W, x):
    n = W.shape[0]
    return np.hstack([x_k * np.eye(n) for x_k in x])
"""),
        right("loops over vec positions", """
def vec_jacobian_Wx(W, x):
    n, m = W.shape
    J = np.zeros((n, n * m))
    for j in range(n):
        for k in range(m):
            J[j, j + n * k] = x[k]
    return J
"""),
        right("flatten the exercise-1 tensor column-major, tuple", """
def vec_jacobian_Wx(W, x):
    n, m = W.shape
    T = np.einsum("ij,k->ijk", np.eye(n), x)
    return tuple(map(tuple, T.reshape(n, n * m, order="F")))
"""),
        wrong("row by row, block diagonal", """
def vec_jacobian_Wx(W, x):
    return np.kron(np.eye(W.shape[0]), x[None, :])
""", expect="W flattened row by row (block diagonal) instead of by columns"),
        wrong("identity of size m", """
def vec_jacobian_Wx(W, x):
    return np.kron(x[None, :], np.eye(len(x)))
""", expect="shape"),
        wrong("compressed form", """
def vec_jacobian_Wx(W, x):
    return x
""", expect="the compressed form x instead of the (n, n*m) Jacobian"),
        wrong("transpose, x as a column", """
def vec_jacobian_Wx(W, x):
    return np.kron(x[:, None], np.eye(W.shape[0]))
""", expect="transpose"),
        wrong("1% off", """
def vec_jacobian_Wx(W, x):
    return 1.01 * np.kron(x[None, :], np.eye(W.shape[0]))
""", expect="scale"),
        wrong("numeric Jacobian", """
def vec_jacobian_Wx(W, x):
    return md.numeric_jacobian(lambda w: md.unvec(w, W.shape) @ x, md.vec(W))
""", expect="numeric-answer"),
        wrong("a string", """
def vec_jacobian_Wx(W, x):
    return "x^T kron I"
""", expect="not-array"),
        wrong("hard-coded visible Jacobian", """
_rng42 = np.random.default_rng(42)
_rng42.standard_normal((3, 4))
_K42 = np.kron(_rng42.standard_normal(4)[None, :], np.eye(3))
def vec_jacobian_Wx(W, x):
    return _K42
""", expect="shape", hidden_only=True),
    ],
    "grad_sq_error": [
        right("float32", """
def grad_sq_error(X, W, Y):
    X, W, Y = (np.asarray(a, dtype=np.float32) for a in (X, W, Y))
    return 2 * X.T @ (X @ W - Y)
"""),
        right("expanded, X^T X W - X^T Y", """
def grad_sq_error(X, W, Y):
    return 2 * (X.T @ X @ W - X.T @ Y)
"""),
        right("einsum", """
def grad_sq_error(X, W, Y):
    R = np.einsum("nd,dc->nc", X, W) - Y
    return np.einsum("nd,nc->dc", X, 2 * R)
"""),
        right("lists", """
def grad_sq_error(X, W, Y):
    return (2 * np.transpose(X) @ (X @ W - Y)).tolist()
"""),
        right("per-sample sum, tuple of rows", """
def grad_sq_error(X, W, Y):
    R = X @ W - Y
    G = sum(2 * np.outer(X[n], R[n]) for n in range(X.shape[0]))
    return tuple(map(tuple, G))
"""),
        wrong("the 2 left out", """
def grad_sq_error(X, W, Y):
    return X.T @ (X @ W - Y)
""", expect="the 2 of the square left out"),
        wrong("residual the other way", """
def grad_sq_error(X, W, Y):
    return 2 * X.T @ (Y - X @ W)
""", expect="the residual taken as Y - XW"),
        wrong("mean instead of sum", """
def grad_sq_error(X, W, Y):
    return 2 * X.T @ (X @ W - Y) / X.shape[0]
""", expect="divided by N: a mean where the loss has a sum"),
        wrong("Y left out", """
def grad_sq_error(X, W, Y):
    return 2 * X.T @ (X @ W)
""", expect="Y left out of the residual"),
        wrong("product in the other order", """
def grad_sq_error(X, W, Y):
    return 2 * (X @ W - Y).T @ X
""", expect="transpose"),
        wrong("1% off", """
def grad_sq_error(X, W, Y):
    return 2.02 * X.T @ (X @ W - Y)
""", expect="scale"),
        wrong("numeric gradient", """
def grad_sq_error(X, W, Y):
    return md.numeric_gradient(lambda M: np.sum((X @ M - Y) ** 2), W)
""", expect="numeric-answer"),
        wrong("a string", """
def grad_sq_error(X, W, Y):
    return "2 X^T (XW - Y)"
""", expect="not-array"),
    ],
    "d_AB_dA": [
        right("einsum, float32", """
def d_AB_dA(A, B):
    m = A.shape[0]
    return np.einsum("ik,lj->ijkl", np.eye(m, dtype=np.float32), np.asarray(B, dtype=np.float32))
"""),
        right("loops", """
def d_AB_dA(A, B):
    m, p = A.shape
    q = B.shape[1]
    T = np.zeros((m, q, m, p))
    for i in range(m):
        T[i, :, i, :] = B.T
    return T
"""),
        right("broadcasting, lists", """
def d_AB_dA(A, B):
    m = len(A)
    T = np.eye(m)[:, None, :, None] * np.asarray(B).T[None, :, None, :]
    return T.tolist()
"""),
        right("tuple of blocks", """
def d_AB_dA(A, B):
    m, p = np.shape(A)
    return tuple(np.einsum("k,lj->jkl", np.eye(m)[i], B) for i in range(m))
"""),
        right("numerator tensor from the denominator one", """
def d_AB_dA(A, B):
    m = A.shape[0]
    D = np.einsum("ki,lj->klij", np.eye(m), B)      # (m, p, m, q): axes of A first
    return D.transpose(2, 3, 0, 1)
"""),
        wrong("B[j, l] instead of B[l, j]", """
def d_AB_dA(A, B):
    return np.einsum("ik,jl->ijkl", np.eye(A.shape[0]), B)
""", expect="B[j, l] where B[l, j] belongs"),
        wrong("derivative with respect to B", """
def d_AB_dA(A, B):
    return np.einsum("ik,jl->ijkl", A, np.eye(B.shape[1]))
""", expect="the derivative with respect to B"),
        wrong("delta left out", """
def d_AB_dA(A, B):
    m = A.shape[0]
    return np.einsum("ik,lj->ijkl", np.ones((m, m)), B)
""", expect="the δ left out: B in every block"),
        wrong("B^T without the delta, 2-D", """
def d_AB_dA(A, B):
    return B.T
""", expect="the compressed form B^T instead of the 4-tensor"),
        wrong("1% off", """
def d_AB_dA(A, B):
    return 0.99 * np.einsum("ik,lj->ijkl", np.eye(A.shape[0]), B)
""", expect="scale"),
        wrong("numeric Jacobian", """
def d_AB_dA(A, B):
    return md.numeric_jacobian(lambda M: M @ B, A)
""", expect="numeric-answer"),
        wrong("a string", """
def d_AB_dA(A, B):
    return "delta_ik B_lj"
""", expect="not-array"),
    ],
}
