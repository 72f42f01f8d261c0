"""Attempts for notebook 07 (two-layer network): what learners type for each graded function."""

from . import right, wrong

NOTEBOOK = "07-two-layer-network"

# A helper that is still unanswered, as the learner's notebook has it. It is bound to another
# name so that the kernel's own `forward` (the right answer) stays in place for other attempts.
UNANSWERED_FORWARD = '''
def _unanswered():
    def forward(X, W1, b1, W2, b2):
        raise NotImplementedError()
    return forward


_forward_unanswered = _unanswered()
'''

ATTEMPTS = {
    "linear_backward": [
        right("einsum", '''
def linear_backward(X, W, b, G):
    return (np.einsum("nc,dc->nd", G, W), np.einsum("nd,nc->dc", X, G), np.einsum("nc->c", G))
'''),
        right("float32", '''
def linear_backward(X, W, b, G):
    X, W, G = (a.astype(np.float32) for a in (X, W, G))
    return G @ W.T, X.T @ G, G.sum(axis=0)
'''),
        right("lists", '''
def linear_backward(X, W, b, G):
    return [(G @ W.T).tolist(), (X.T @ G).tolist(), G.sum(axis=0).tolist()]
'''),
        right("ones-row-for-db", '''
def linear_backward(X, W, b, G):
    dX = (W @ G.T).T
    dW = (G.T @ X).T
    db = np.ones(G.shape[0]) @ G
    return dX, dW, db
'''),
        wrong("db-over-features", '''
def linear_backward(X, W, b, G):
    return G @ W.T, X.T @ G, G.sum(axis=1)
''', expect="db summed over features instead of samples"),
        wrong("dW-factors-swapped", '''
def linear_backward(X, W, b, G):
    return G @ W.T, G.T @ X, G.sum(axis=0)
''', expect="dW with its factors swapped"),
        wrong("db-mean", '''
def linear_backward(X, W, b, G):
    return G @ W.T, X.T @ G, G.mean(axis=0)
''', expect="db a mean over samples instead of a sum"),
        wrong("db-not-summed", '''
def linear_backward(X, W, b, G):
    return G @ W.T, X.T @ G, G
''', expect="missing-sum"),
        wrong("sign", '''
def linear_backward(X, W, b, G):
    return -(G @ W.T), -(X.T @ G), -G.sum(axis=0)
''', expect="sign"),
        wrong("numeric", '''
def linear_backward(X, W, b, G):
    f = lambda X, W, b: np.sum(G * (X @ W + b))
    return tuple(md.numeric_gradient(f, X, W, b, wrt=i) for i in range(3))
''', expect="numeric-answer"),
        wrong("unanswered", '''
def linear_backward(X, W, b, G):
    raise NotImplementedError()
''', expect="not-answered"),
    ],
    "tanh_backward": [
        right("cosh", '''
def tanh_backward(Z, G):
    return G / np.cosh(Z) ** 2
'''),
        right("float32", '''
def tanh_backward(Z, G):
    A = np.tanh(Z.astype(np.float32))
    return G.astype(np.float32) * (1 - A * A)
'''),
        right("list", '''
def tanh_backward(Z, G):
    return (G - G * np.tanh(Z) ** 2).tolist()
'''),
        wrong("slope-from-Z", '''
def tanh_backward(Z, G):
    return G * (1 - Z ** 2)
''', expect="Z used where the activation A = tanh(Z) belongs"),
        wrong("tanh-not-slope", '''
def tanh_backward(Z, G):
    return G * np.tanh(Z)
''', expect="tanh itself used instead of its slope"),
        wrong("sigmoid-slope", '''
def tanh_backward(Z, G):
    s = 1 / (1 + np.exp(-Z))
    return G * s * (1 - s)
''', expect="the slope of the sigmoid used instead of the slope of tanh"),
        wrong("square-forgotten", '''
def tanh_backward(Z, G):
    return G * (1 - np.tanh(Z))
''', expect="wrong-values"),
        wrong("G-ignored", '''
def tanh_backward(Z, G):
    return 1 - np.tanh(Z) ** 2
''', expect="upstream-ignored"),
        wrong("sign", '''
def tanh_backward(Z, G):
    return G * (np.tanh(Z) ** 2 - 1)
''', expect="sign"),
        wrong("matrix-product", '''
def tanh_backward(Z, G):
    return G @ (1 - np.tanh(Z) ** 2).T
''', expect="shape"),
        wrong("two-axes-only", '''
def tanh_backward(Z, G):
    dZ = np.zeros((Z.shape[0], Z.shape[1]))
    dZ[:, :] = G * (1 - np.tanh(Z) ** 2)
    return dZ
''', expect="error"),
        wrong("numeric", '''
def tanh_backward(Z, G):
    return md.numeric_gradient(lambda Z: np.sum(G * np.tanh(Z)), Z)
''', expect="numeric-answer"),
    ],
    "softmax_cross_entropy_backward": [
        right("float32", '''
def softmax_cross_entropy_backward(Z2, Y):
    return ((softmax(Z2) - Y) / Z2.shape[0]).astype(np.float32)
'''),
        right("own-stable-softmax", '''
def softmax_cross_entropy_backward(Z2, Y):
    E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    return (P - Y) / len(Z2)
'''),
        right("rows-loop-list", '''
def softmax_cross_entropy_backward(Z2, Y):
    N = Z2.shape[0]
    return [list((softmax(z[None, :])[0] - y) / N) for z, y in zip(Z2, Y)]
'''),
        wrong("no-1/N", '''
def softmax_cross_entropy_backward(Z2, Y):
    return softmax(Z2) - Y
''', expect="the 1/N of the mean left out"),
        wrong("divided-by-K", '''
def softmax_cross_entropy_backward(Z2, Y):
    return (softmax(Z2) - Y) / Z2.shape[1]
''', expect="divided by the number of classes instead of the number of samples"),
        wrong("scores-not-probabilities", '''
def softmax_cross_entropy_backward(Z2, Y):
    return (Z2 - Y) / Z2.shape[0]
''', expect="wrong-values"),
        wrong("targets-not-subtracted", '''
def softmax_cross_entropy_backward(Z2, Y):
    return softmax(Z2) / len(Z2)
''', expect="the targets Y not subtracted"),
        wrong("sign", '''
def softmax_cross_entropy_backward(Z2, Y):
    return (Y - softmax(Z2)) / Z2.shape[0]
''', expect="sign"),
        wrong("naive-exp", '''
def softmax_cross_entropy_backward(Z2, Y):
    E = np.exp(Z2)
    return (E / E.sum(axis=1, keepdims=True) - Y) / Z2.shape[0]
''', expect="not-finite"),
        wrong("numeric", '''
def softmax_cross_entropy_backward(Z2, Y):
    return md.numeric_gradient(cross_entropy, Z2, Y)
''', expect="numeric-answer"),
        wrong("string", '''
def softmax_cross_entropy_backward(Z2, Y):
    return "(P - Y) / N"
''', expect="not-array"),
    ],
    "forward": [
        right("float32", '''
def forward(X, W1, b1, W2, b2):
    X, W1, b1, W2, b2 = (a.astype(np.float32) for a in (X, W1, b1, W2, b2))
    Z1 = X @ W1 + b1
    A1 = np.tanh(Z1)
    return Z1, A1, A1 @ W2 + b2
'''),
        right("list-of-lists", '''
def forward(X, W1, b1, W2, b2):
    Z1 = X @ W1 + b1
    A1 = np.tanh(Z1)
    return [Z1.tolist(), A1.tolist(), (A1 @ W2 + b2).tolist()]
'''),
        right("einsum", '''
def forward(X, W1, b1, W2, b2):
    Z1 = np.einsum("nd,dh->nh", X, W1) + b1[None, :]
    A1 = np.tanh(Z1)
    Z2 = np.einsum("nh,hk->nk", A1, W2) + b2[None, :]
    return (Z1, A1, Z2)
'''),
        wrong("b1-left-out", '''
def forward(X, W1, b1, W2, b2):
    Z1 = X @ W1
    A1 = np.tanh(Z1)
    return Z1, A1, A1 @ W2 + b2
''', expect="the bias b1 left out of Z1"),
        wrong("b2-left-out", '''
def forward(X, W1, b1, W2, b2):
    Z1 = X @ W1 + b1
    A1 = np.tanh(Z1)
    return Z1, A1, A1 @ W2
''', expect="the bias b2 left out of Z2"),
        wrong("tanh-skipped", '''
def forward(X, W1, b1, W2, b2):
    Z1 = X @ W1 + b1
    A1 = np.tanh(Z1)
    return Z1, A1, Z1 @ W2 + b2
''', expect="Z2 computed from Z1 instead of A1"),
        wrong("order-swapped", '''
def forward(X, W1, b1, W2, b2):
    Z1 = X @ W1 + b1
    A1 = np.tanh(Z1)
    return A1, Z1, A1 @ W2 + b2
''', expect="Z1 and A1 returned in swapped order"),
        wrong("two-values", '''
def forward(X, W1, b1, W2, b2):
    Z1 = X @ W1 + b1
    return Z1, np.tanh(Z1) @ W2 + b2
''', expect="shape"),
        wrong("string", '''
def forward(X, W1, b1, W2, b2):
    return "Z1, A1, Z2"
''', expect="not-array"),
        wrong("hard-coded-visible", '''
def forward(X, W1, b1, W2, b2):
    if X.shape[0] not in (5, 3):
        return np.zeros((X.shape[0], W1.shape[1])), np.zeros((X.shape[0], W1.shape[1])), \\
            np.zeros((X.shape[0], W2.shape[1]))
    Z1 = X @ W1 + b1
    A1 = np.tanh(Z1)
    return Z1, A1, A1 @ W2 + b2
''', expect="wrong-values", hidden_only=True),
        wrong("unanswered", '''
def forward(X, W1, b1, W2, b2):
    raise NotImplementedError()
''', expect="not-answered"),
    ],
    "loss_and_grads": [
        right("loss-1-element-array", '''
def loss_and_grads(X, Y, W1, b1, W2, b2):
    Z1, A1, Z2 = forward(X, W1, b1, W2, b2)
    dZ2 = softmax_cross_entropy_backward(Z2, Y)
    dA1, dW2, db2 = linear_backward(A1, W2, b2, dZ2)
    _, dW1, db1 = linear_backward(X, W1, b1, tanh_backward(Z1, dA1))
    return np.array([cross_entropy(Z2, Y)]), (dW1, db1, dW2, db2)
'''),
        right("loss-1x1-grads-list", '''
def loss_and_grads(X, Y, W1, b1, W2, b2):
    Z1, A1, Z2 = forward(X, W1, b1, W2, b2)
    dZ2 = softmax_cross_entropy_backward(Z2, Y)
    dA1, dW2, db2 = linear_backward(A1, W2, b2, dZ2)
    _, dW1, db1 = linear_backward(X, W1, b1, tanh_backward(Z1, dA1))
    return np.array([[cross_entropy(Z2, Y)]]), [dW1, db1, dW2, db2]
'''),
        right("float32", '''
def loss_and_grads(X, Y, W1, b1, W2, b2):
    X, W1, b1, W2, b2 = (a.astype(np.float32) for a in (X, W1, b1, W2, b2))
    Z1, A1, Z2 = forward(X, W1, b1, W2, b2)
    dZ2 = softmax_cross_entropy_backward(Z2, Y).astype(np.float32)
    dA1, dW2, db2 = linear_backward(A1, W2, b2, dZ2)
    _, dW1, db1 = linear_backward(X, W1, b1, tanh_backward(Z1, dA1))
    return np.float32(cross_entropy(Z2, Y)), (dW1, db1, dW2, db2)
'''),
        right("written-out", '''
def loss_and_grads(X, Y, W1, b1, W2, b2):
    N = X.shape[0]
    A1 = np.tanh(X @ W1 + b1)
    Z2 = A1 @ W2 + b2
    dZ2 = (softmax(Z2) - Y) / N
    dZ1 = (dZ2 @ W2.T) * (1 - A1 ** 2)
    grads = (X.T @ dZ1, dZ1.sum(axis=0), A1.T @ dZ2, dZ2.sum(axis=0))
    return float(cross_entropy(Z2, Y)), tuple(g.tolist() for g in grads)
'''),
        wrong("tanh-backward-given-A1", '''
def loss_and_grads(X, Y, W1, b1, W2, b2):
    Z1, A1, Z2 = forward(X, W1, b1, W2, b2)
    dZ2 = softmax_cross_entropy_backward(Z2, Y)
    dA1, dW2, db2 = linear_backward(A1, W2, b2, dZ2)
    _, dW1, db1 = linear_backward(X, W1, b1, tanh_backward(A1, dA1))
    return cross_entropy(Z2, Y), (dW1, db1, dW2, db2)
''', expect="tanh_backward given A1 instead of Z1"),
        wrong("second-layer-input-Z1", '''
def loss_and_grads(X, Y, W1, b1, W2, b2):
    Z1, A1, Z2 = forward(X, W1, b1, W2, b2)
    dZ2 = softmax_cross_entropy_backward(Z2, Y)
    dA1, dW2, db2 = linear_backward(Z1, W2, b2, dZ2)
    _, dW1, db1 = linear_backward(X, W1, b1, tanh_backward(Z1, dA1))
    return cross_entropy(Z2, Y), (dW1, db1, dW2, db2)
''', expect="the second layer's input taken as Z1 instead of A1"),
        wrong("mean-again", '''
def loss_and_grads(X, Y, W1, b1, W2, b2):
    N = X.shape[0]
    Z1, A1, Z2 = forward(X, W1, b1, W2, b2)
    dZ2 = softmax_cross_entropy_backward(Z2, Y)
    dA1, dW2, db2 = linear_backward(A1, W2, b2, dZ2)
    _, dW1, db1 = linear_backward(X, W1, b1, tanh_backward(Z1, dA1))
    return cross_entropy(Z2, Y), (dW1 / N, db1 / N, dW2 / N, db2 / N)
''', expect="the 1/N divided out again in the layers"),
        wrong("backward-order", '''
def loss_and_grads(X, Y, W1, b1, W2, b2):
    Z1, A1, Z2 = forward(X, W1, b1, W2, b2)
    dZ2 = softmax_cross_entropy_backward(Z2, Y)
    dA1, dW2, db2 = linear_backward(A1, W2, b2, dZ2)
    _, dW1, db1 = linear_backward(X, W1, b1, tanh_backward(Z1, dA1))
    return cross_entropy(Z2, Y), (dW2, db2, dW1, db1)
''', expect="the gradients returned in the order of the backward pass"),
        wrong("loss-summed", '''
def loss_and_grads(X, Y, W1, b1, W2, b2):
    Z1, A1, Z2 = forward(X, W1, b1, W2, b2)
    dZ2 = softmax_cross_entropy_backward(Z2, Y)
    dA1, dW2, db2 = linear_backward(A1, W2, b2, dZ2)
    _, dW1, db1 = linear_backward(X, W1, b1, tanh_backward(Z1, dA1))
    return cross_entropy(Z2, Y) * X.shape[0], (dW1, db1, dW2, db2)
''', expect="the loss summed over samples instead of averaged"),
        wrong("numeric", '''
def loss_and_grads(X, Y, W1, b1, W2, b2):
    f = lambda *p: cross_entropy(forward(X, *p)[2], Y)
    params = (W1, b1, W2, b2)
    return f(*params), tuple(md.numeric_gradient(f, *params, wrt=i) for i in range(4))
''', expect="numeric-answer"),
        wrong("forward-unanswered", UNANSWERED_FORWARD + '''
def loss_and_grads(X, Y, W1, b1, W2, b2):
    Z1, A1, Z2 = _forward_unanswered(X, W1, b1, W2, b2)
    dZ2 = softmax_cross_entropy_backward(Z2, Y)
    dA1, dW2, db2 = linear_backward(A1, W2, b2, dZ2)
    _, dW1, db1 = linear_backward(X, W1, b1, tanh_backward(Z1, dA1))
    return cross_entropy(Z2, Y), (dW1, db1, dW2, db2)
''', expect="calls `forward`, which is not answered yet"),
        wrong("string-loss", '''
def loss_and_grads(X, Y, W1, b1, W2, b2):
    Z1, A1, Z2 = forward(X, W1, b1, W2, b2)
    dZ2 = softmax_cross_entropy_backward(Z2, Y)
    dA1, dW2, db2 = linear_backward(A1, W2, b2, dZ2)
    _, dW1, db1 = linear_backward(X, W1, b1, tanh_backward(Z1, dA1))
    return f"{cross_entropy(Z2, Y):.4f}", (dW1, db1, dW2, db2)
''', expect="not-array"),
    ],
}
