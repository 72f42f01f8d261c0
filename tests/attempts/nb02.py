"""Attempts at notebook 2, the gradient."""

from attempts import right, wrong

NOTEBOOK = "02-gradient"

ATTEMPTS = {
    "grad_linear": [
        right("matrix form", "def grad_linear(w, B, x):\n    return B.T @ w"),
        right("transpose of a row", "def grad_linear(w, B, x):\n    return (w.T @ B).T"),
        right("float32", "def grad_linear(w, B, x):\n    return (B.T @ w).astype(np.float32)"),
        right("einsum", "def grad_linear(w, B, x):\n    return np.einsum('ij,ik->jk', B, w)"),
        right("a loop", "def grad_linear(w, B, x):\n    g = np.zeros_like(x)\n"
              "    for j in range(B.shape[1]):\n"
              "        g[j, 0] = sum(w[i, 0] * B[i, j] for i in range(B.shape[0]))\n"
              "    return g"),
        right("list of lists", "def grad_linear(w, B, x):\n    return (B.T @ w).tolist()"),
        wrong("a row instead of a column", "def grad_linear(w, B, x):\n    return w.T @ B", "transpose"),
        wrong("B w: shapes do not fit", "def grad_linear(w, B, x):\n    return B @ w", "error"),
        wrong("sign", "def grad_linear(w, B, x):\n    return -B.T @ w", "sign"),
        wrong("None", "def grad_linear(w, B, x):\n    B.T @ w", "not-array"),
        wrong("the gradient with respect to w", "def grad_linear(w, B, x):\n    return B @ x",
              "the gradient with respect to w"),
        wrong("the gradient with respect to B", "def grad_linear(w, B, x):\n    return w @ x.T",
              "the gradient with respect to B"),
        wrong("1-D", "def grad_linear(w, B, x):\n    return (B.T @ w).ravel()", "shape"),
        wrong("numeric", "def grad_linear(w, B, x):\n"
              "    return md.numeric_gradient(lambda x_: (w.T @ B @ x_).item(), x)", "numeric-answer"),
        wrong("hard-coded for the first visible shape", "def grad_linear(w, B, x):\n"
              "    return np.zeros((5, 1)) + 0.5", "wrong-values"),
        wrong("1% off", "def grad_linear(w, B, x):\n    return 1.01 * B.T @ w", "scale"),
        wrong("a string", "def grad_linear(w, B, x):\n    return 'B.T @ w'", "not-array"),
    ],
    "grad_quadratic": [
        right("A + A^T", "def grad_quadratic(A, x):\n    return (A + A.T) @ x"),
        right("two products", "def grad_quadratic(A, x):\n    return A @ x + A.T @ x"),
        right("float32", "def grad_quadratic(A, x):\n    return ((A + A.T) @ x).astype(np.float32)"),
        right("list of lists", "def grad_quadratic(A, x):\n    return ((A + A.T) @ x).tolist()"),
        right("x^T A as a row, transposed", "def grad_quadratic(A, x):\n    return A @ x + (x.T @ A).T"),
        right("einsum", "def grad_quadratic(A, x):\n"
              "    return np.einsum('kj,jl->kl', A, x) + np.einsum('ik,il->kl', A, x)"),
        wrong("2 A x", "def grad_quadratic(A, x):\n    return 2 * A @ x", "A treated as symmetric"),
        wrong("A x only", "def grad_quadratic(A, x):\n    return A @ x", "only the sum along row k"),
        wrong("a row", "def grad_quadratic(A, x):\n    return ((A + A.T) @ x).T", "transpose"),
        wrong("half", "def grad_quadratic(A, x):\n    return 0.5 * (A + A.T) @ x", "scale"),
        wrong("sign", "def grad_quadratic(A, x):\n    return -(A + A.T) @ x", "sign"),
        wrong("1-D", "def grad_quadratic(A, x):\n    return ((A + A.T) @ x).ravel()", "shape"),
        wrong("numeric", "def grad_quadratic(A, x):\n"
              "    return md.numeric_gradient(quadratic_form, A, x, wrt=1)", "numeric-answer"),
        wrong("the gradient with respect to A", "def grad_quadratic(A, x):\n    return x @ x.T", "shape"),
        wrong("1% off", "def grad_quadratic(A, x):\n    return 1.01 * (A + A.T) @ x", "scale"),
        wrong("hard-coded for the first visible shape", "def grad_quadratic(A, x):\n"
              "    return np.ones((4, 1))", "wrong-values"),
        wrong("a string", "def grad_quadratic(A, x):\n    return '(A + A^T) x'", "not-array"),
    ],
    "grad_squared_error": [
        right("matrix form", "def grad_squared_error(X, w, y):\n    return 2 * X.T @ (X @ w - y)"),
        right("expanded", "def grad_squared_error(X, w, y):\n    return 2 * (X.T @ X @ w - X.T @ y)"),
        right("float32", "def grad_squared_error(X, w, y):\n"
              "    return (2 * X.T @ (X @ w - y)).astype(np.float32)"),
        right("row of residuals", "def grad_squared_error(X, w, y):\n"
              "    return (2 * (X @ w - y).T @ X).T"),
        right("list of lists", "def grad_squared_error(X, w, y):\n"
              "    return (2 * X.T @ (X @ w - y)).tolist()"),
        wrong("missing 2", "def grad_squared_error(X, w, y):\n    return X.T @ (X @ w - y)", "scale"),
        wrong("sign of the residual", "def grad_squared_error(X, w, y):\n    return 2 * X.T @ (y - X @ w)",
              "sign"),
        wrong("a row", "def grad_squared_error(X, w, y):\n    return (2 * X.T @ (X @ w - y)).T", "transpose"),
        wrong("the residual itself", "def grad_squared_error(X, w, y):\n    return 2 * (X @ w - y)",
              "with respect to the residual"),
        wrong("a mean", "def grad_squared_error(X, w, y):\n    return 2 * X.T @ (X @ w - y) / len(y)",
              "a mean over the samples"),
        wrong("y left out", "def grad_squared_error(X, w, y):\n    return 2 * X.T @ X @ w",
              "the targets y left out"),
        wrong("X (Xw - y): shapes do not fit", "def grad_squared_error(X, w, y):\n"
              "    return 2 * X @ (X @ w - y)", "error"),
        wrong("numeric", "def grad_squared_error(X, w, y):\n"
              "    return md.numeric_gradient(squared_error, X, w, y, wrt=1)", "numeric-answer"),
        wrong("1-D", "def grad_squared_error(X, w, y):\n    return (2 * X.T @ (X @ w - y)).ravel()", "shape"),
        wrong("1% off", "def grad_squared_error(X, w, y):\n    return 2.02 * X.T @ (X @ w - y)", "scale"),
        wrong("hard-coded for the first visible shape", "def grad_squared_error(X, w, y):\n"
              "    return np.ones((3, 1))", "wrong-values"),
        wrong("unanswered", "def grad_squared_error(X, w, y):\n    raise NotImplementedError()",
              "not-answered"),
    ],
    "curve_derivative": [
        right("a row", "def curve_derivative(t):\n"
              "    return np.array([[2 * t, 3 * np.cos(3 * t), -np.exp(-t)]])"),
        right("float32", "def curve_derivative(t):\n"
              "    return np.array([[2 * t, 3 * np.cos(3 * t), -np.exp(-t)]], dtype=np.float32)"),
        right("reshape of a list", "def curve_derivative(t):\n"
              "    return np.reshape([2 * t, 3 * np.cos(3 * t), -np.exp(-t)], (1, 3))"),
        right("list of one list", "def curve_derivative(t):\n"
              "    return [[2 * t, 3 * np.cos(3 * t), -np.exp(-t)]]"),
        right("a column transposed", "def curve_derivative(t):\n"
              "    return np.array([[2 * t], [3 * np.cos(3 * t)], [-np.exp(-t)]]).T"),
        wrong("a column", "def curve_derivative(t):\n"
              "    return np.array([[2 * t], [3 * np.cos(3 * t)], [-np.exp(-t)]])", "transpose"),
        wrong("missing chain-rule 3", "def curve_derivative(t):\n"
              "    return np.array([[2 * t, np.cos(3 * t), -np.exp(-t)]])", "3 of sin 3t"),
        wrong("sign of e^-t", "def curve_derivative(t):\n"
              "    return np.array([[2 * t, 3 * np.cos(3 * t), np.exp(-t)]])", "minus of e^-t"),
        wrong("1-D", "def curve_derivative(t):\n"
              "    return np.array([2 * t, 3 * np.cos(3 * t), -np.exp(-t)])", "shape"),
        wrong("numeric", "def curve_derivative(t):\n"
              "    return md.numeric_jacobian(lambda s: curve(s[0]), np.array([t]), layout='denominator')",
              "numeric-answer"),
        wrong("hard-coded at the first visible point", "def curve_derivative(t):\n"
              "    return np.array([[0.8, 1.0870732634300202, -0.6703200460356393]])", "wrong-values"),
        wrong("sign", "def curve_derivative(t):\n"
              "    return -np.array([[2 * t, 3 * np.cos(3 * t), -np.exp(-t)]])", "sign"),
        wrong("a string", "def curve_derivative(t):\n    return 'row'", "not-array"),
        wrong("1% off", "def curve_derivative(t):\n"
              "    return 1.01 * np.array([[2 * t, 3 * np.cos(3 * t), -np.exp(-t)]])", "scale"),
    ],
}
