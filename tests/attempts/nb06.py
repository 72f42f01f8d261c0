"""Attempts at notebook 06 (a layer's gradients): right answers written other ways, and the
mistakes learners make, each with the verdict it must get."""

from . import right, wrong

NOTEBOOK = "06-layer-gradients"

_LINEAR_RIGHT = '''
def linear_backward(X, W, b, G):
    return G @ W.T, X.T @ G, G.sum(axis=0)
'''

ATTEMPTS = {
    "linear_backward": [
        right("float32", '''
def linear_backward(X, W, b, G):
    X, W, G = X.astype(np.float32), W.astype(np.float32), G.astype(np.float32)
    return G @ W.T, X.T @ G, G.sum(axis=0)
'''),
        right("einsum, lists, ones @ G", '''
def linear_backward(X, W, b, G):
    dX = np.einsum("nc,dc->nd", G, W)
    dW = np.einsum("nd,nc->dc", X, G)
    db = np.ones(len(G)) @ G
    return dX.tolist(), dW.tolist(), list(db)
'''),
        right("sum of per-sample outer products", '''
def linear_backward(X, W, b, G):
    dW = sum(np.outer(X[n], G[n]) for n in range(len(X)))
    db = np.sum(G, axis=0, keepdims=True).reshape(b.shape)
    return G @ W.T, dW, db
'''),
        wrong("db summed over features", '''
def linear_backward(X, W, b, G):
    return G @ W.T, X.T @ G, G.sum(axis=1)
''', expect="db summed over features instead of samples"),
        wrong("dW = G.T @ X", '''
def linear_backward(X, W, b, G):
    return G @ W.T, G.T @ X, G.sum(axis=0)
''', expect="dW = G.T @ X"),
        wrong("dX = G @ W", '''
def linear_backward(X, W, b, G):
    return G @ W, X.T @ G, G.sum(axis=0)
''', expect="dX = G @ W"),
        wrong("db as a mean", '''
def linear_backward(X, W, b, G):
    return G @ W.T, X.T @ G, G.mean(axis=0)
''', expect="a mean where a sum belongs"),
        wrong("dW divided by N", '''
def linear_backward(X, W, b, G):
    return G @ W.T, X.T @ G / len(X), G.sum(axis=0)
''', expect="dW divided by N"),
        wrong("dW per sample", '''
def linear_backward(X, W, b, G):
    return G @ W.T, np.einsum("nd,nc->ndc", X, G), G.sum(axis=0)
''', expect="dW kept per sample"),
        wrong("db without a sum", '''
def linear_backward(X, W, b, G):
    return G @ W.T, X.T @ G, G
''', expect="missing-sum"),
        wrong("db kept as (1, C)", '''
def linear_backward(X, W, b, G):
    return G @ W.T, X.T @ G, G.sum(axis=0, keepdims=True)
''', expect="shape"),
        wrong("sign of dW", '''
def linear_backward(X, W, b, G):
    return G @ W.T, -(X.T @ G), G.sum(axis=0)
''', expect="sign"),
        wrong("G left out", '''
def linear_backward(X, W, b, G):
    G = np.ones_like(G)
    return G @ W.T, X.T @ G, G.sum(axis=0)
''', expect="upstream-ignored"),
        wrong("1% off", '''
def linear_backward(X, W, b, G):
    return G @ W.T, X.T @ G, 1.01 * G.sum(axis=0)
''', expect="scale"),
        wrong("a string", '''
def linear_backward(X, W, b, G):
    return "G @ W.T", "X.T @ G", "G.sum(axis=0)"
''', expect="not-array"),
        wrong("the notebook's numeric_backward", '''
def linear_backward(X, W, b, G):
    return numeric_backward(lambda X, W, b: X @ W + b)(X, W, b, G)
''', expect="numeric-answer"),
        wrong("only the visible shapes", '''
def linear_backward(X, W, b, G):
    if X.shape in [(5, 3), (4, 3)]:
        return G @ W.T, X.T @ G, G.sum(axis=0)
    return np.zeros(X.shape), np.zeros(W.shape), np.zeros(b.shape)
''', expect="wrong-values", hidden_only=True),
        wrong("numeric gradient", '''
def linear_backward(X, W, b, G):
    L = lambda X, W, b: np.sum(G * (X @ W + b))
    return (md.numeric_gradient(L, X, W, b, wrt=0), md.numeric_gradient(L, X, W, b, wrt=1),
            md.numeric_gradient(L, X, W, b, wrt=2))
''', expect="numeric-answer"),
    ],
    "tanh_backward": [
        right("the formula", '''
def tanh_backward(Z, G):
    return G * (1 - np.tanh(Z) ** 2)
'''),
        right("float32", '''
def tanh_backward(Z, G):
    A = np.tanh(Z.astype(np.float32))
    return G.astype(np.float32) * (1 - A * A)
'''),
        right("1/cosh squared, as a list", '''
def tanh_backward(Z, G):
    return (G / np.cosh(Z) ** 2).tolist()
'''),
        right("through the diagonal Jacobian", '''
def tanh_backward(Z, G):
    d = (1 - np.tanh(Z) ** 2).ravel()
    return (np.diag(d) @ G.ravel()).reshape(Z.shape)
'''),
        wrong("slope written with Z", '''
def tanh_backward(Z, G):
    return G * (1 - Z ** 2)
''', expect="the slope written with Z instead of tanh(Z)"),
        wrong("1 - tanh without the square", '''
def tanh_backward(Z, G):
    return G * (1 - np.tanh(Z))
''', expect="1 - tanh(Z) without the square"),
        wrong("tanh in place of its slope", '''
def tanh_backward(Z, G):
    return G * np.tanh(Z)
''', expect="tanh(Z) in place of its slope"),
        wrong("G left out", '''
def tanh_backward(Z, G):
    return 1 - np.tanh(Z) ** 2
''', expect="upstream-ignored"),
        wrong("a matrix product", '''
def tanh_backward(Z, G):
    return (1 - np.tanh(Z) ** 2) @ G.T
''', expect="shape"),
        wrong("only 2-D", '''
def tanh_backward(Z, G):
    return G * (1 - np.tanh(Z) ** 2) if Z.ndim == 2 else np.zeros_like(Z)
''', expect="wrong-values"),
        wrong("only the visible shapes", '''
def tanh_backward(Z, G):
    if Z.shape in [(4, 3), (5,), (2, 3, 2)]:
        return G * (1 - np.tanh(Z) ** 2)
    return G
''', expect="wrong-values", hidden_only=True),
        wrong("numeric", '''
def tanh_backward(Z, G):
    return G * np.diagonal(md.numeric_jacobian(np.tanh, Z.ravel())).reshape(Z.shape)
''', expect="numeric-answer"),
    ],
    "sigmoid_backward": [
        right("the formula", '''
def sigmoid_backward(Z, G):
    s = 1 / (1 + np.exp(-Z))
    return G * s * (1 - s)
'''),
        right("float32", '''
def sigmoid_backward(Z, G):
    s = 1 / (1 + np.exp(-Z.astype(np.float32)))
    return G.astype(np.float32) * s * (1 - s)
'''),
        right("e^-z over (1 + e^-z)^2, list", '''
def sigmoid_backward(Z, G):
    e = np.exp(-Z)
    return (G * e / (1 + e) ** 2).tolist()
'''),
        wrong("slope written with Z", '''
def sigmoid_backward(Z, G):
    return G * Z * (1 - Z)
''', expect="the slope written with Z instead of sigmoid(Z)"),
        wrong("the tanh slope", '''
def sigmoid_backward(Z, G):
    s = 1 / (1 + np.exp(-Z))
    return G * (1 - s ** 2)
''', expect="the slope of tanh used for the sigmoid"),
        wrong("sigmoid in place of its slope", '''
def sigmoid_backward(Z, G):
    return G / (1 + np.exp(-Z))
''', expect="sigmoid(Z) in place of its slope"),
        wrong("G left out", '''
def sigmoid_backward(Z, G):
    s = 1 / (1 + np.exp(-Z))
    return s * (1 - s)
''', expect="upstream-ignored"),
        wrong("sign", '''
def sigmoid_backward(Z, G):
    s = 1 / (1 + np.exp(-Z))
    return -G * s * (1 - s)
''', expect="sign"),
        wrong("only 2-D", '''
def sigmoid_backward(Z, G):
    s = 1 / (1 + np.exp(-Z))
    return G * s * (1 - s) if Z.ndim == 2 else G * s
''', expect="sigmoid(Z) in place of its slope"),
    ],
    "relu_layer_backward": [
        right("with linear_backward", _LINEAR_RIGHT + '''
def relu_layer_backward(X, W, b, G):
    Z = X @ W + b
    return linear_backward(X, W, b, G * (Z > 0))
'''),
        right("np.where, float32", '''
def relu_layer_backward(X, W, b, G):
    X, W, b, G = (a.astype(np.float32) for a in (X, W, b, G))
    dZ = np.where(X @ W + b > 0, G, 0)
    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=0)
'''),
        right("heaviside, lists", '''
def relu_layer_backward(X, W, b, G):
    dZ = G * np.heaviside(X @ W + b, 0)
    return (dZ @ W.T).tolist(), (X.T @ dZ).tolist(), dZ.sum(axis=0).tolist()
'''),
        wrong("no mask", _LINEAR_RIGHT + '''
def relu_layer_backward(X, W, b, G):
    return linear_backward(X, W, b, G)
''', expect="the ReLU skipped (G passed straight to the linear part)"),
        wrong("mask from G", _LINEAR_RIGHT + '''
def relu_layer_backward(X, W, b, G):
    return linear_backward(X, W, b, G * (G > 0))
''', expect="wrong-values"),
        wrong("G times relu(Z)", _LINEAR_RIGHT + '''
def relu_layer_backward(X, W, b, G):
    Z = X @ W + b
    return linear_backward(X, W, b, G * np.maximum(Z, 0))
''', expect="G multiplied by relu(Z) instead of its slope"),
        wrong("bias gradient as a mean", '''
def relu_layer_backward(X, W, b, G):
    dZ = G * (X @ W + b > 0)
    return dZ @ W.T, X.T @ dZ, dZ.mean(axis=0)
''', expect="scale"),
        wrong("linear_backward with dW divided by N", '''
def linear_backward(X, W, b, G):
    return G @ W.T, X.T @ G / len(X), G.sum(axis=0)

def relu_layer_backward(X, W, b, G):
    return linear_backward(X, W, b, G * (X @ W + b > 0))
''', expect="dW adds up one part per sample"),
        wrong("dW transposed", '''
def relu_layer_backward(X, W, b, G):
    dZ = G * (X @ W + b > 0)
    return dZ @ W.T, dZ.T @ X, dZ.sum(axis=0)
''', expect="transpose"),
        wrong("linear_backward not answered yet", '''
def linear_backward(X, W, b, G):
    raise NotImplementedError()

def relu_layer_backward(X, W, b, G):
    Z = X @ W + b
    return linear_backward(X, W, b, G * (Z > 0))
''', expect="`relu_layer_backward` calls `linear_backward`, which is not answered yet"),
    ],
}
