"""Attempts at notebook 05 (backward through a matrix product): right answers written other
ways, and the mistakes learners make, each with the verdict it must get."""

from . import right, wrong

NOTEBOOK = "05-matmul-backward"

_MATMUL_RIGHT = '''
def matmul_backward(A, B, G=None):
    if G is None:
        G = np.ones((A.shape[0], B.shape[1]))
    return G @ B.T, A.T @ G
'''

ATTEMPTS = {
    "matmul_backward": [
        right("float32", '''
def matmul_backward(A, B, G=None):
    A, B = A.astype(np.float32), B.astype(np.float32)
    G = np.ones((A.shape[0], B.shape[1]), np.float32) if G is None else G.astype(np.float32)
    return G @ B.T, A.T @ G
'''),
        right("lists, ones_like(A @ B)", '''
def matmul_backward(A, B, G=None):
    if G is None:
        G = np.ones_like(A @ B)
    return [(G @ B.T).tolist(), (A.T @ G).tolist()]
'''),
        right("einsum, index form", '''
def matmul_backward(A, B, G=None):
    G = np.ones((len(A), B.shape[1])) if G is None else G
    return np.einsum("ij,kj->ik", G, B), np.einsum("ik,ij->kj", A, G)
'''),
        right("rows and columns in loops", '''
def matmul_backward(A, B, G=None):
    G = np.ones((A.shape[0], B.shape[1])) if G is None else G
    dA = np.stack([G[i] @ B.T for i in range(A.shape[0])])
    dB = np.stack([A.T @ G[:, j] for j in range(B.shape[1])], axis=1)
    return dA, dB
'''),
        wrong("returned in the wrong order", '''
def matmul_backward(A, B, G=None):
    if G is None:
        G = np.ones((A.shape[0], B.shape[1]))
    return A.T @ G, G @ B.T
''', expect="dA and dB returned in the wrong order"),
        wrong("both transposed", '''
def matmul_backward(A, B, G=None):
    if G is None:
        G = np.ones((A.shape[0], B.shape[1]))
    return B @ G.T, G.T @ A
''', expect="a gradient transposed (the shape of Aᵀ or Bᵀ)"),
        wrong("ones even when G is given", '''
def matmul_backward(A, B, G=None):
    G = np.ones((A.shape[0], B.shape[1]))
    return G @ B.T, A.T @ G
''', expect="the ones used even when G is given"),
        wrong("G=None not handled", '''
def matmul_backward(A, B, G=None):
    return G @ B.T, A.T @ G
''', expect="error"),
        wrong("sign", '''
def matmul_backward(A, B, G=None):
    if G is None:
        G = np.ones((A.shape[0], B.shape[1]))
    return -(G @ B.T), -(A.T @ G)
''', expect="sign"),
        wrong("1% off", '''
def matmul_backward(A, B, G=None):
    if G is None:
        G = np.ones((A.shape[0], B.shape[1]))
    return 1.01 * (G @ B.T), A.T @ G
''', expect="scale"),
        wrong("a string", '''
def matmul_backward(A, B, G=None):
    return "G @ B.T", "A.T @ G"
''', expect="not-array"),
        wrong("numeric gradient", '''
def matmul_backward(A, B, G=None):
    G = np.ones((A.shape[0], B.shape[1])) if G is None else G
    return (md.numeric_gradient(lambda A: np.sum(G * (A @ B)), A),
            md.numeric_gradient(lambda B: np.sum(G * (A @ B)), B))
''', expect="numeric-answer"),
        wrong("the notebook's numeric_backward", '''
def matmul_backward(A, B, G=None):
    G = np.ones((A.shape[0], B.shape[1])) if G is None else G
    return numeric_backward(lambda A, B: A @ B)(A, B, G)
''', expect="numeric-answer"),
        wrong("hard-codes the visible data", '''
_rv = np.random.default_rng(5)
_Av, _Bv = _rv.standard_normal((3, 4)), _rv.standard_normal((4, 2))
_rv2 = np.random.default_rng(15)
_Av2, _Bv2 = _rv2.standard_normal((2, 5)), _rv2.standard_normal((5, 3))

def matmul_backward(A, B, G=None):
    G = np.ones((A.shape[0], B.shape[1])) if G is None else G
    if A.shape == _Av.shape and B.shape == _Bv.shape:
        return G @ _Bv.T, _Av.T @ G
    if A.shape == _Av2.shape and B.shape == _Bv2.shape:
        return G @ _Bv2.T, _Av2.T @ G
    return np.zeros(A.shape), np.zeros(B.shape)
''', expect="wrong-values", hidden_only=True),
        wrong("unanswered", '''
def matmul_backward(A, B, G=None):
    raise NotImplementedError()
''', expect="not-answered"),
    ],
    "matvec_backward": [
        right("np.outer", '''
def matvec_backward(A, x, g):
    return np.outer(g, x), A.T @ g
'''),
        right("broadcast outer product, g @ A", '''
def matvec_backward(A, x, g):
    return g[:, None] * x[None, :], g @ A
'''),
        right("float32", '''
def matvec_backward(A, x, g):
    A, x, g = A.astype(np.float32), x.astype(np.float32), g.astype(np.float32)
    return np.outer(g, x), A.T @ g
'''),
        right("columns, then squeezed; lists", '''
def matvec_backward(A, x, g):
    xc, gc = x.reshape(-1, 1), g.reshape(-1, 1)
    return (gc @ xc.T).tolist(), (A.T @ gc).ravel().tolist()
'''),
        wrong("outer product the other way round", '''
def matvec_backward(A, x, g):
    return np.outer(x, g), A.T @ g
''', expect="dA built as x times g"),
        wrong("dx left as a column", '''
def matvec_backward(A, x, g):
    return np.outer(g, x), A.T @ g.reshape(-1, 1)
''', expect="dx left as a column"),
        wrong("g left out", '''
def matvec_backward(A, x, g):
    return np.outer(np.ones_like(g), x), A.T @ np.ones_like(g)
''', expect="g left out"),
        wrong("x.T does nothing", '''
def matvec_backward(A, x, g):
    return g @ x.T, A.T @ g
''', expect="error"),
        wrong("sign", '''
def matvec_backward(A, x, g):
    return -np.outer(g, x), -(A.T @ g)
''', expect="sign"),
        wrong("numeric jacobian", '''
def matvec_backward(A, x, g):
    J = md.numeric_jacobian(lambda x: A @ x, x)
    return np.outer(g, x), g @ J
''', expect="numeric-answer"),
    ],
    "chain_backward": [
        right("two calls of matmul_backward", _MATMUL_RIGHT + '''
def chain_backward(A, B, D, G):
    C = A @ B
    dC, dD = matmul_backward(C, D, G)
    dA, dB = matmul_backward(A, B, dC)
    return dA, dB, dD
'''),
        right("one line each", '''
def chain_backward(A, B, D, G):
    return G @ (B @ D).T, A.T @ G @ D.T, (A @ B).T @ G
'''),
        right("float32 lists", '''
def chain_backward(A, B, D, G):
    A, B, D, G = (M.astype(np.float32) for M in (A, B, D, G))
    C = A @ B
    dC = G @ D.T
    return [(dC @ B.T).tolist(), (A.T @ dC).tolist(), (C.T @ G).tolist()]
'''),
        wrong("returned in the order computed", '''
def chain_backward(A, B, D, G):
    C = A @ B
    dC = G @ D.T
    dD = C.T @ G
    return dD, dC @ B.T, A.T @ dC
''', expect="returned in the order they were computed"),
        wrong("G left out", '''
def chain_backward(A, B, D, G):
    G = np.ones_like(G)
    C = A @ B
    dC = G @ D.T
    return dC @ B.T, A.T @ dC, C.T @ G
''', expect="the ones used instead of G"),
        wrong("every gradient transposed", '''
def chain_backward(A, B, D, G):
    C = A @ B
    dC = G @ D.T
    return B @ dC.T, dC.T @ A, G.T @ C
''', expect="a gradient transposed (the shape of its matrix's transpose)"),
        wrong("sign of dD", '''
def chain_backward(A, B, D, G):
    C = A @ B
    dC = G @ D.T
    return dC @ B.T, A.T @ dC, -(C.T @ G)
''', expect="sign"),
        wrong("a string", '''
def chain_backward(A, B, D, G):
    return None
''', expect="not-array"),
        wrong("matmul_backward not answered yet", '''
def matmul_backward(A, B, G=None):
    raise NotImplementedError()

def chain_backward(A, B, D, G):
    C = A @ B
    dC, dD = matmul_backward(C, D, G)
    dA, dB = matmul_backward(A, B, dC)
    return dA, dB, dD
''', expect="`chain_backward` calls `matmul_backward`, which is not answered yet"),
    ],
    "transpose_product_backward": [
        right("the formula", '''
def transpose_product_backward(A, B, G):
    return B @ G.T, A @ G
'''),
        right("via Exercise 1 on X = A.T", _MATMUL_RIGHT + '''
def transpose_product_backward(A, B, G):
    dX, dB = matmul_backward(A.T, B, G)
    return dX.T, dB
'''),
        right("float32, einsum", '''
def transpose_product_backward(A, B, G):
    A, B, G = A.astype(np.float32), B.astype(np.float32), G.astype(np.float32)
    return np.einsum("kj,ij->ki", B, G), np.einsum("ki,ij->kj", A, G)
'''),
        right("tuple of lists", '''
def transpose_product_backward(A, B, G):
    return ((B @ G.T).tolist(), (A @ G).tolist())
'''),
        wrong("dA left as the gradient of A.T", '''
def transpose_product_backward(A, B, G):
    return G @ B.T, A @ G
''', expect="dA left as the gradient of Aᵀ"),
        wrong("returned in the wrong order", '''
def transpose_product_backward(A, B, G):
    return A @ G, B @ G.T
''', expect="dA and dB returned in the wrong order"),
        wrong("G left out", '''
def transpose_product_backward(A, B, G):
    G = np.ones_like(G)
    return B @ G.T, A @ G
''', expect="upstream-ignored"),
        wrong("scale 2", '''
def transpose_product_backward(A, B, G):
    return 2 * (B @ G.T), A @ G
''', expect="scale"),
        wrong("numeric", '''
def transpose_product_backward(A, B, G):
    return (md.numeric_gradient(lambda A: np.sum(G * (A.T @ B)), A),
            md.numeric_gradient(lambda B: np.sum(G * (A.T @ B)), B))
''', expect="numeric-answer"),
    ],
}
