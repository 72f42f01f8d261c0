"""Attempts at notebook 1, the derivative as a local linear approximation."""

from attempts import right, wrong

NOTEBOOK = "01-linear-approximation"

ATTEMPTS = {
    "partials_g": [
        right("unpacked", "def partials_g(p):\n    x, y = p\n"
              "    return np.array([2 * x * y**3 + 4 * y, 3 * x**2 * y**2 + 4 * x - 5])"),
        right("indexing, float32", "def partials_g(p):\n"
              "    return np.array([2 * p[0] * p[1]**3 + 4 * p[1], 3 * p[0]**2 * p[1]**2 + 4 * p[0] - 5],"
              " dtype=np.float32)"),
        right("a list", "def partials_g(p):\n    x, y = p\n"
              "    return [2 * x * y**3 + 4 * y, 3 * x**2 * y**2 + 4 * x - 5]"),
        right("a tuple, factored", "def partials_g(p):\n    x, y = p\n"
              "    return (y * (2 * x * y**2 + 4), 3 * (x * y)**2 + 4 * x - 5)"),
        wrong("entries swapped", "def partials_g(p):\n    x, y = p\n"
              "    return np.array([3 * x**2 * y**2 + 4 * x - 5, 2 * x * y**3 + 4 * y])",
              "the two partials in the wrong order"),
        wrong("-5y kept in dg/dx", "def partials_g(p):\n    x, y = p\n"
              "    return np.array([2 * x * y**3 + 4 * y - 5, 3 * x**2 * y**2 + 4 * x - 5])",
              "-5y given a slope in x"),
        wrong("-5 dropped from dg/dy", "def partials_g(p):\n    x, y = p\n"
              "    return np.array([2 * x * y**3 + 4 * y, 3 * x**2 * y**2 + 4 * x])",
              "-5y dropped from dg/dy"),
        wrong("hard-coded at the first visible point", "def partials_g(p):\n"
              "    return np.array([-2.375, 2.6875])", "wrong-values"),
        wrong("power rule: 3 of y^3 forgotten", "def partials_g(p):\n    x, y = p\n"
              "    return np.array([2 * x * y**3 + 4 * y, x**2 * y**2 + 4 * x - 5])", "wrong-values"),
        wrong("sign", "def partials_g(p):\n    x, y = p\n"
              "    return -np.array([2 * x * y**3 + 4 * y, 3 * x**2 * y**2 + 4 * x - 5])", "sign"),
        wrong("twice", "def partials_g(p):\n    x, y = p\n"
              "    return 2 * np.array([2 * x * y**3 + 4 * y, 3 * x**2 * y**2 + 4 * x - 5])", "scale"),
        wrong("a column", "def partials_g(p):\n    x, y = p\n"
              "    return np.array([[2 * x * y**3 + 4 * y], [3 * x**2 * y**2 + 4 * x - 5]])", "shape"),
        wrong("numeric", "def partials_g(p):\n"
              "    return md.numeric_gradient(lambda q: g(q[0], q[1]), p)", "numeric-answer"),
        wrong("a string", "def partials_g(p):\n    return 'dg/dx, dg/dy'", "not-array"),
        wrong("1% off", "def partials_g(p):\n    x, y = p\n"
              "    return 1.01 * np.array([2 * x * y**3 + 4 * y, 3 * x**2 * y**2 + 4 * x - 5])", "scale"),
        wrong("unanswered", "def partials_g(p):\n    raise NotImplementedError()", "not-answered"),
    ],
    "total_derivative": [
        right("two paths", "def total_derivative(s):\n    u, v = 3 * s - 1, s**2\n"
              "    return 2 * u * v * 3 + (u**2 + np.cos(v)) * 2 * s"),
        right("float32", "def total_derivative(s):\n    u, v = 3 * s - 1, s**2\n"
              "    return np.float32(2 * u * v * 3 + (u**2 + np.cos(v)) * 2 * s)"),
        right("a 1-element array", "def total_derivative(s):\n    u, v = 3 * s - 1, s**2\n"
              "    return np.array([2 * u * v * 3 + (u**2 + np.cos(v)) * 2 * s])"),
        right("a (1, 1) array", "def total_derivative(s):\n    u, v = 3 * s - 1, s**2\n"
              "    return np.array([[2 * u * v * 3 + (u**2 + np.cos(v)) * 2 * s]])"),
        right("a list of one", "def total_derivative(s):\n    u, v = 3 * s - 1, s**2\n"
              "    return [2 * u * v * 3 + (u**2 + np.cos(v)) * 2 * s]"),
        wrong("only the path through u", "def total_derivative(s):\n    u, v = 3 * s - 1, s**2\n"
              "    return 2 * u * v * 3", "only the path through u"),
        wrong("only the path through v", "def total_derivative(s):\n    u, v = 3 * s - 1, s**2\n"
              "    return (u**2 + np.cos(v)) * 2 * s", "only the path through v"),
        wrong("sin v forgotten in dq/dv", "def total_derivative(s):\n    u, v = 3 * s - 1, s**2\n"
              "    return 2 * u * v * 3 + u**2 * 2 * s", "sin v left out"),
        wrong("links du/ds, dv/ds forgotten", "def total_derivative(s):\n    u, v = 3 * s - 1, s**2\n"
              "    return 2 * u * v + u**2 + np.cos(v)", "du/ds and dv/ds left out"),
        wrong("twice the answer", "def total_derivative(s):\n    u, v = 3 * s - 1, s**2\n"
              "    return 2 * (2 * u * v * 3 + (u**2 + np.cos(v)) * 2 * s)", "scale"),
        wrong("1e-4 off", "def total_derivative(s):\n    u, v = 3 * s - 1, s**2\n"
              "    return 2 * u * v * 3 + (u**2 + np.cos(v)) * 2 * s + 1e-4", "imprecise"),
        wrong("sign", "def total_derivative(s):\n    u, v = 3 * s - 1, s**2\n"
              "    return -(2 * u * v * 3 + (u**2 + np.cos(v)) * 2 * s)", "sign"),
        wrong("hard-coded at the first visible point", "def total_derivative(s):\n"
              "    return 6.163266002054167", "wrong-values"),
        wrong("a difference quotient", "def total_derivative(s):\n"
              "    return (q_of_s(s + 1e-3) - q_of_s(s)) / 1e-3", "wrong-values"),
        wrong("numeric", "def total_derivative(s):\n    return md.numeric_gradient(q_of_s, s)",
              "numeric-answer"),
        wrong("a string", "def total_derivative(s):\n    return '6.16'", "not-array"),
        wrong("1% off", "def total_derivative(s):\n    u, v = 3 * s - 1, s**2\n"
              "    return 1.01 * (2 * u * v * 3 + (u**2 + np.cos(v)) * 2 * s)", "wrong-values"),
        wrong("two numbers", "def total_derivative(s):\n    u, v = 3 * s - 1, s**2\n"
              "    return np.array([2 * u * v * 3, (u**2 + np.cos(v)) * 2 * s])", "shape"),
    ],
    "first_order_prediction": [
        right("np.sum", "def first_order_prediction(L0, grad, dw):\n"
              "    return L0 + np.sum(np.asarray(grad) * np.asarray(dw))"),
        right("the course's (1 x m)(m x 1) product", "def first_order_prediction(L0, grad, dw):\n"
              "    return L0 + grad.reshape(1, -1) @ dw.reshape(-1, 1)"),
        right("a 1-element array", "def first_order_prediction(L0, grad, dw):\n"
              "    return np.array([L0 + np.sum(grad * dw)])"),
        right("ravel and dot", "def first_order_prediction(L0, grad, dw):\n"
              "    return L0 + np.ravel(grad) @ np.ravel(dw)"),
        right("vdot, float32", "def first_order_prediction(L0, grad, dw):\n"
              "    return np.float32(L0 + np.vdot(grad, dw))"),
        right("a loop over entries", "def first_order_prediction(L0, grad, dw):\n    total = L0\n"
              "    for gi, di in zip(np.ravel(grad), np.ravel(dw)):\n        total += gi * di\n"
              "    return total"),
        wrong("only the change", "def first_order_prediction(L0, grad, dw):\n"
              "    return np.sum(grad * dw)", "only the change, without L0"),
        wrong("the change subtracted", "def first_order_prediction(L0, grad, dw):\n"
              "    return L0 - np.sum(grad * dw)", "the change subtracted"),
        wrong("a mean", "def first_order_prediction(L0, grad, dw):\n"
              "    return L0 + np.mean(grad * dw)", "a mean over the weights"),
        wrong("product of sums", "def first_order_prediction(L0, grad, dw):\n"
              "    return L0 + np.sum(grad) * np.sum(dw)", "the sums of grad and dw multiplied"),
        wrong("1% off", "def first_order_prediction(L0, grad, dw):\n"
              "    return L0 + 1.01 * np.sum(grad * dw)", "wrong-values"),
        wrong("no sum", "def first_order_prediction(L0, grad, dw):\n    return L0 + grad * dw", "shape"),
        wrong("a string", "def first_order_prediction(L0, grad, dw):\n"
              "    return str(L0 + np.sum(grad * dw))", "not-array"),
        wrong("None", "def first_order_prediction(L0, grad, dw):\n    L0 + np.sum(grad * dw)", "not-array"),
        wrong("matrix product of the arrays", "def first_order_prediction(L0, grad, dw):\n"
              "    return L0 + np.sum(grad @ dw)", "error"),
        wrong("hard-coded", "def first_order_prediction(L0, grad, dw):\n    return 2.25", "wrong-values"),
    ],
}
