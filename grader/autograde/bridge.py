"""The boundary between the trusted test kernel and the learner's sandboxed kernel.

This file runs inside kernels, not in the grader: its source is sent to both kernels of a
notebook (grader/ is not visible in the sandbox), so it imports only the standard library,
numpy and matdiff.

* In the learner's kernel ``install_learner()`` defines ``__matdiff_loop``, which serves the
  trusted side while one of its cells runs: it calls one of the learner's names with plain
  arguments, or tells what a name is, and answers with plain results as JSON text. Requests
  and answers travel on the kernel's stdin channel (the reply to an ``input()`` whose prompt
  carries the previous answer): one round trip per call, about a millisecond.
* In the trusted kernel (outside the sandbox, where the locked and test cells run)
  ``install_trusted(cfg)`` connects a client to the learner's kernel and, before every cell,
  binds each name the cell uses that no trusted cell defined to what the learner's kernel
  has: a function becomes a *proxy* (calling it sends its arguments across and returns what
  came back), a value is copied across. Trusted definitions always win. After the cell, the
  loop ends and the learner's kernel is free for the next cell.

What crosses, either way, is JSON of plain data only: None, bool, int, float, complex, str,
lists, tuples, dicts with str keys, numpy arrays and scalars of numbers (bool, int, uint,
float, complex; no object dtype), nothing else; at most ``LIMIT`` characters, ``MAX_DEPTH``
levels, ``MAX_ITEMS`` items. The trusted side decodes it into new objects of numpy's and
Python's own types (``decode``): no object the learner made, no ``__array__``, ``__eq__``,
subclass, frame or reference ever reaches the trusted side. Anything else the learner's
function returns arrives as an inert placeholder with the same type name (a function as a
function that raises), so matdiff's messages are the ones the learner would see in-process.

A function the trusted side passes to the learner's function (a test's ``f`` for
``which_layout(J, f, x)``) goes the other way. When it is *pure* (``as_code``: a plain Python
function that assigns to no variable outside itself and refers only to numbers, strings,
tuples, numeric arrays, allowed modules, numpy's ufuncs and other such functions) its code
and those values are sent and the learner's kernel rebuilds it: the learner's function calls
it there, as it would in-process, at no cost per call. Nothing is lost by it: what the
function computes over there only feeds the learner's function, whose result the learner
decides anyway, and its inputs are inputs the learner's function receives. Any other
callable stays on the trusted side and each call is sent back to it (a *call-back*).
"""

import base64
import dis
import importlib
import json
import re
import types

import numpy as np

LIMIT = 64 << 20                 # characters of JSON per message
MAX_DEPTH = 40
MAX_ITEMS = 200_000
OUT_CHARS = 20_000               # what a learner's function printed during one call
DTYPE = re.compile(r"[<>|=]?[biufc][1-9][0-9]?")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
PROMPT = "\x00matdiff-callback:"    # a learner's function calls a function of the test
ANSWER = "\x00matdiff-answer:"      # the serving loop's answer, and its request for the next


class NotPlain(ValueError):
    """Something that is not plain data was sent across the boundary."""


# ------------------------------------------------------------------------------ codec

def _budget():
    """A counter of items and a depth check shared by one encoding or decoding."""
    count = [0]

    def tick(depth, weight=1):
        count[0] += weight
        if count[0] > MAX_ITEMS or depth > MAX_DEPTH:
            raise NotPlain("too many items or too deeply nested")

    return tick

def encode(obj, function=None, lenient=False) -> str:
    """``obj`` as JSON text. ``function(f, enc)`` encodes a callable (``{"fn": id}`` for a
    call-back, or ``as_code(f, enc, ...)``); ``lenient`` (the learner's side) turns what is not
    plain into ``{"o": type name}`` instead of raising."""
    tick = _budget()

    def enc(o, depth):
        tick(depth)
        t = type(o)
        if o is None or t is bool or t is str or t is int:
            return o
        if t is float:
            return o if o == o and abs(o) != float("inf") else {"f": repr(o)}
        if t is complex:
            return {"c": [enc(o.real, depth + 1), enc(o.imag, depth + 1)]}
        if t is list:
            return [enc(x, depth + 1) for x in o]
        if t is tuple:
            return {"t": [enc(x, depth + 1) for x in o]}
        if t is dict and all(type(k) is str for k in o):
            return {"d": [[k, enc(v, depth + 1)] for k, v in o.items()]}
        if t is np.ndarray and o.dtype.kind in "biufc":
            a = np.ascontiguousarray(o)
            tick(depth, a.size // 64)
            return {"a": [a.dtype.str, list(a.shape), base64.b64encode(a.tobytes()).decode()]}
        if isinstance(o, np.generic) and type(o).__module__ == "numpy" and o.dtype.kind in "biufc":
            return {"s": [o.dtype.str, base64.b64encode(o.tobytes()).decode()]}
        if function is not None and callable(o):
            return function(o, lambda v: enc(v, depth + 1))
        if lenient:
            if isinstance(o, np.ndarray) or hasattr(o, "__array__"):
                try:
                    a = np.asarray(o)
                    if type(a) is not np.ndarray:
                        a = np.array(a, subok=False)
                    if a.dtype.kind in "biufc":
                        return enc(a, depth)
                except Exception:
                    pass
            name = getattr(o, "__name__", None) if callable(o) else None
            return {"o": [type(o).__name__, name if type(name) is str else None]}
        raise NotPlain(f"a {t.__name__} cannot be sent to the learner's function")

    text = json.dumps(enc(obj, 0), allow_nan=False)
    if len(text) > LIMIT:
        raise NotPlain(f"more than {LIMIT >> 20} MB of data")
    return text


def nested(code):
    """``code`` and every code object nested in it (functions, lambdas, classes,
    comprehensions), outermost first."""
    stack = [code]
    while stack:
        c = stack.pop()
        yield c
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))


_STATEFUL = {"STORE_DEREF", "DELETE_DEREF", "STORE_GLOBAL", "DELETE_GLOBAL"}
# built-ins that reach outside the function (files, the namespace, the session)
_WORLD = {"open", "input", "exec", "eval", "compile", "__import__", "globals", "locals", "vars",
          "breakpoint", "exit", "quit", "help", "setattr", "delattr", "get_ipython", "display"}


class _NotPure(Exception):
    pass


def _inert(v, depth=0) -> bool:
    """A value a function cannot keep state in: None, numbers, strings, tuples of these,
    numeric arrays and numpy scalars (lists, dicts and objects may be a test's record of
    calls: a function using one is called back instead)."""
    t = type(v)
    if v is None or t in (bool, int, float, complex, str):
        return True
    if t is tuple:
        return depth < 8 and all(_inert(x, depth + 1) for x in v)
    if t is np.ndarray:
        return v.dtype.kind in "biufc"
    return isinstance(v, np.generic) and type(v).__module__ == "numpy" and v.dtype.kind in "biufc"


def as_code(f, enc, modules, refuse=()):
    """A trusted function as ``{"py": [...]}``, which the learner's kernel rebuilds
    (``decode(..., rebuild=True)``), or None when it is not pure: not a plain Python function,
    assigning to a variable outside itself (``nonlocal``, ``global``), or referring to anything
    but inert values (``_inert``), modules whose top package is in ``modules``, numpy's ufuncs,
    functions of those modules, and other pure functions. ``refuse``: functions never sent
    (the proxies of the learner's own functions). ``enc`` encodes an inert value."""
    import marshal

    def form(v, seen):
        if isinstance(v, types.ModuleType):
            if v.__name__.split(".")[0] in modules:
                return {"m": v.__name__}
        elif isinstance(v, np.ufunc):
            if getattr(np, v.__name__, None) is v:
                return {"u": v.__name__}
        elif type(v) is types.FunctionType and v not in refuse:
            mod = getattr(v, "__module__", None)
            if type(mod) is str and mod.split(".")[0] in modules:
                if getattr(importlib.import_module(mod), v.__name__, None) is v:
                    return {"r": [mod, v.__name__]}
            elif v not in seen and len(seen) < 8:
                return function(v, (*seen, v))
        elif _inert(v):
            return enc(v)
        raise _NotPure

    def function(fn, seen):
        code, names = fn.__code__, set()
        for c in nested(code):
            if any(ins.opname in _STATEFUL for ins in dis.get_instructions(c)):
                raise _NotPure
            names.update(c.co_names)
        if names & _WORLD - fn.__globals__.keys():
            raise _NotPure
        glob = [[n, form(fn.__globals__[n], seen)] for n in sorted(names) if n in fn.__globals__]
        try:
            cells = [form(c.cell_contents, seen) for c in fn.__closure__ or ()]
        except ValueError:                   # a variable not yet assigned
            raise _NotPure from None
        defaults = [form(d, seen) for d in fn.__defaults__ or ()]
        kw = [[k, form(v, seen)] for k, v in (fn.__kwdefaults__ or {}).items()]
        return {"py": [base64.b64encode(marshal.dumps(code)).decode(), glob, cells, defaults, kw]}

    try:
        return form(f, ()) if callable(f) else None
    except (_NotPure, ValueError, RecursionError, ImportError):
        return None


def _rebuild(v, dec, depth):
    """The learner's side of ``as_code``: a function from its code and values."""
    import builtins
    import marshal

    if type(v) is not list or len(v) != 5 or type(v[0]) is not str or \
            any(type(x) is not list for x in v[1:]):
        raise NotPlain("a bad function")
    code = marshal.loads(base64.b64decode(v[0].encode(), validate=True))
    if not isinstance(code, types.CodeType) or len(v[2]) != len(code.co_freevars):
        raise NotPlain("a bad function")
    g = {"__builtins__": builtins}
    g.update({n: dec(x, depth + 1) for n, x in v[1]})
    fn = types.FunctionType(code, g, code.co_name, tuple(dec(d, depth + 1) for d in v[3]) or None,
                            tuple(types.CellType(dec(c, depth + 1)) for c in v[2]) or None)
    fn.__kwdefaults__ = {k: dec(x, depth + 1) for k, x in v[4]} or None
    return fn


def _placeholder(type_name: str, name):
    """An inert stand-in for something the learner returned that is not plain data."""
    if not NAME.fullmatch(type_name or ""):
        type_name = "object"
    if type_name in ("function", "builtin_function_or_method", "method") and NAME.fullmatch(name or ""):
        def stand_in(*args, **kwargs):
            raise TypeError(f"{name} is a function of the learner's kernel; it was not called")
        stand_in.__name__ = stand_in.__qualname__ = name
        return stand_in
    cls = type(type_name, (), {"__repr__": lambda self: f"<a {type_name} of the learner's kernel>",
                               "__module__": "learner"})
    return cls()


def decode(text, function=None, rebuild=False):
    """Plain objects from JSON text written by ``encode``, validated; raises NotPlain.
    On the learner's side only: ``function(id)`` turns a call-back into a local function, and
    ``rebuild`` accepts the functions, modules and ufuncs of ``as_code``."""
    if type(text) is not str or len(text) > LIMIT:
        raise NotPlain("not text, or too long")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise NotPlain(f"not valid JSON ({type(exc).__name__})") from None
    tick = _budget()

    def dec(o, depth):
        tick(depth)
        t = type(o)
        if o is None or t is bool or t is str or t is int or t is float:
            return o
        if t is list:
            return [dec(x, depth + 1) for x in o]
        if t is not dict or len(o) != 1:
            raise NotPlain("an unknown form")
        (kind, v), = o.items()
        if kind == "t" and type(v) is list:
            return tuple(dec(x, depth + 1) for x in v)
        if kind == "f" and v in ("nan", "inf", "-inf"):
            return float(v)
        if kind == "c" and type(v) is list and len(v) == 2:
            re_, im = dec(v[0], depth + 1), dec(v[1], depth + 1)
            if type(re_) not in (int, float) or type(im) not in (int, float):
                raise NotPlain("a bad complex number")
            return complex(re_, im)
        if kind == "d" and type(v) is list:
            out = {}
            for item in v:
                if type(item) is not list or len(item) != 2 or type(item[0]) is not str:
                    raise NotPlain("a bad dict")
                out[item[0]] = dec(item[1], depth + 1)
            return out
        if kind in ("a", "s") and type(v) is list and len(v) == (3 if kind == "a" else 2) \
                and type(v[0]) is str and DTYPE.fullmatch(v[0]) and type(v[-1]) is str:
            dtype = np.dtype(v[0])
            if dtype.kind not in "biufc" or dtype.hasobject:
                raise NotPlain("not a numeric dtype")
            shape = [] if kind == "s" else v[1]
            if type(shape) is not list or len(shape) > 32 or \
                    any(type(n) is not int or n < 0 for n in shape):
                raise NotPlain("a bad shape")
            try:
                raw = base64.b64decode(v[-1].encode(), validate=True)
            except ValueError:
                raise NotPlain("bad array data") from None
            size = 1
            for n in shape:
                size *= n
            tick(depth, size // 64)
            if kind == "s":
                if len(raw) != dtype.itemsize:
                    raise NotPlain("bad scalar data")
                return np.frombuffer(raw, dtype=dtype)[0].copy()
            if len(raw) != size * dtype.itemsize:
                raise NotPlain("array data of the wrong size")
            return np.frombuffer(raw, dtype=dtype).reshape(tuple(shape)).copy()
        if kind == "fn" and function is not None and type(v) is int:
            return function(v)
        if rebuild and kind == "py":
            return _rebuild(v, dec, depth)
        if rebuild and kind == "m" and type(v) is str:
            return importlib.import_module(v)
        if rebuild and kind == "u" and type(v) is str and isinstance(getattr(np, v, None), np.ufunc):
            return getattr(np, v)
        if rebuild and kind == "r" and type(v) is list and len(v) == 2 and all(type(x) is str for x in v):
            return getattr(importlib.import_module(v[0]), v[1])
        if kind == "o" and type(v) is list and len(v) == 2 and type(v[0]) is str:
            return _placeholder(v[0], v[1] if type(v[1]) is str else None)
        raise NotPlain("an unknown form")

    return dec(data, 0)


def _exception(name, args, message, note=None):
    """A trusted exception standing for the one the learner's function raised."""
    import builtins

    cls = getattr(builtins, name, None) if type(name) is str else None
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        safe = name if type(name) is str and NAME.fullmatch(name) else "Exception"
        cls = type(safe, (Exception,), {"__module__": "learner"})
    try:
        exc = cls(*args) if type(args) is tuple else cls(message)
    except Exception:
        exc = cls(str(message))
    if note:
        exc.add_note(note)
    return exc


# ------------------------------------------------------------------------ learner side

def install_learner():
    """Define ``__matdiff_loop()`` in the learner's kernel. Nothing here is trusted: whatever
    it answers is validated by the trusted side (and the learner's own code may answer in its
    place: it can only say what the learner's functions return, which it decides anyway)."""
    import builtins
    import contextlib
    import io
    import traceback

    ip = get_ipython()  # noqa: F821 - the kernel's shell

    def callback(fid):
        def call_back(*args):
            reply = builtins.input(PROMPT + encode({"fn": fid, "args": list(args)}, lenient=True))
            result = decode(reply)
            if "err" in result:
                raise _exception(*result["err"])
            return result["ok"]
        return call_back

    def serve(request):
        req = decode(request, function=callback, rebuild=True)
        fn = ip.user_ns.get(req["name"], serve)
        args, kwargs = list(req["args"]), req["kwargs"]
        before = [a.copy() if type(a) is np.ndarray else None for a in args]
        out, called = io.StringIO(), None
        try:
            if fn is serve:
                raise NameError(f"name {req['name']!r} is not defined")
            with contextlib.redirect_stdout(out):
                if req.get("graded"):
                    from matdiff._guard import graded_call

                    with graded_call(req["graded"]) as state:
                        try:
                            value = fn(*args, **kwargs)
                        finally:
                            called = state.called
                else:
                    value = fn(*args, **kwargs)
            result = {"ok": value}
        except Exception as exc:
            tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
            tb = "".join(tb[1:])[-4000:] if len(tb) > 2 else ""
            plain_args = exc.args if all(type(a) in (str, int, float) for a in exc.args) else None
            result = {"err": [type(exc).__name__, plain_args, str(exc)[:4000], tb]}
        result["called"] = called
        result["out"] = out.getvalue()[:OUT_CHARS]
        result["changed"] = [i for i, (b, a) in enumerate(zip(before, args, strict=True))
                             if b is not None and not (b.shape == a.shape
                                                       and np.array_equal(b, a, equal_nan=True))]
        result["after"] = [args[i] for i in result["changed"]]
        try:
            return encode(result, lenient=True)
        except Exception as exc:
            return encode({"err": ["ValueError", None, f"the result could not be sent to the "
                                   f"grader: {exc}", ""], "called": called, "out": "",
                           "changed": [], "after": []})

    def code_names(fn):
        """Every name the function's code refers to (nested code too), and for the globals it
        uses that are functions, their qualified names (``matdiff.layouts.to_denominator``)."""
        code = getattr(fn, "__code__", None)
        if code is None:
            return []
        names = set()
        for c in nested(code):
            if len(names) >= 2000:
                break
            names.update(c.co_names)
        glob = getattr(fn, "__globals__", {})
        for n in list(names):
            g = glob.get(n)
            if callable(g) and type(getattr(g, "__module__", None)) is str:
                names.add(f"{g.__module__}.{getattr(g, '__name__', n)}")
        return sorted(n for n in names if type(n) is str)[:2000]

    def names(request):
        """For each name asked for: missing (None), a function, a module or a value."""
        found = {}
        for name in decode(request):
            if name not in ip.user_ns:
                continue
            value = ip.user_ns[name]
            if isinstance(value, type(builtins)):
                found[name] = {"module": value.__name__}
            elif callable(value) and not isinstance(value, type):
                found[name] = {"function": code_names(value)}
            else:
                found[name] = {"value": value}
        return encode(found, lenient=True)

    def loop():
        """Serve the trusted side while one of its cells runs: each request arrives as the
        reply to an ``input()`` whose prompt carries the previous answer (one round trip on
        the stdin channel per call, instead of an execute request)."""
        answer = ""
        while True:
            kind, _, body = builtins.input(ANSWER + answer).partition(":")
            if kind == "call":
                answer = serve(body)
            elif kind == "names":
                answer = names(body)
            else:
                return

    ip.user_ns["__matdiff_loop"] = loop


# ------------------------------------------------------------------------ trusted side

def install_trusted(cfg):  # noqa: C901 - the trusted kernel's half, in one place
    """Connect to the learner's kernel and bind the learner's names before every cell."""
    import builtins
    import os
    import time

    import zmq
    from jupyter_client import BlockingKernelClient

    from matdiff import _guard

    if type(cfg) is str:
        cfg = json.loads(cfg)
    ip = get_ipython()  # noqa: F821 - the kernel's shell
    kc = BlockingKernelClient(context=zmq.Context())
    kc.load_connection_info(cfg["connection"])
    kc.start_channels(shell=True, iopub=False, stdin=True, hb=False, control=False)
    kc.allow_stdin = True
    modules = set(cfg["modules"])
    pid, deadline = cfg["pid"], cfg["deadline"]
    bound = {}                       # name -> the object bound for it (proxy or value copy)
    pending = set()                  # names trusted code refers to that the learner lacked
    proxies = {}                     # name -> its proxy
    proxy_set = set()                # the proxies, never shipped as code
    stats = {"calls": 0, "lookups": 0, "callbacks": 0, "shipped": 0, "seconds": 0.0}
    ip.user_ns["__matdiff_stats"] = stats

    def alive():
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False

    loop = {"id": None}              # the learner's serving loop, while a trusted cell runs
    poller = zmq.Poller()            # the learner's kernel's replies and input requests
    poller.register(kc.shell_channel.socket, zmq.POLLIN)
    poller.register(kc.stdin_channel.socket, zmq.POLLIN)

    def answer(msg_id, callbacks):
        """The serving loop's next answer (text), running the call-backs asked for meanwhile."""
        while True:
            if time.time() > deadline:
                raise TimeoutError("the learner's function did not return in the notebook's time")
            ready = dict(poller.poll(200))
            if not ready and not alive():
                loop["id"] = None
                raise RuntimeError("the learner's kernel stopped (the code exited or crashed "
                                   "Python) while the test called it")
            while kc.stdin_channel.msg_ready():
                msg = kc.stdin_channel.get_msg(timeout=0)
                prompt = msg["content"].get("prompt", "")
                if msg["parent_header"].get("msg_id") == msg_id:
                    if prompt.startswith(ANSWER):
                        return prompt[len(ANSWER):]
                    if callbacks is not None and prompt.startswith(PROMPT):
                        kc.input(run_callback(prompt[len(PROMPT):], callbacks))
                        continue
                kc.input("")
            while kc.shell_channel.msg_ready():
                msg = kc.shell_channel.get_msg(timeout=0)
                if msg["parent_header"].get("msg_id") == msg_id:    # the loop ended
                    loop["id"] = None
                    raise RuntimeError(f"the learner's kernel could not run the call "
                                       f"({msg['content'].get('ename', 'error')})")

    def ask(kind, body, callbacks=None):
        """Send a request to the learner's serving loop (started for this cell if it is not
        running yet); return its answer (text)."""
        started = time.monotonic()
        try:
            if loop["id"] is None:
                loop["id"] = kc.execute("__matdiff_loop()", silent=True, store_history=False,
                                        allow_stdin=True)
                answer(loop["id"], None)
            kc.input(f"{kind}:{body}")
            return answer(loop["id"], callbacks)
        finally:
            stats["seconds"] += time.monotonic() - started

    def end_loop(*_):
        """After a trusted cell: end the serving loop, so that the learner's kernel is free
        for the next cell."""
        msg_id, loop["id"] = loop["id"], None
        if msg_id is None:
            return
        kc.input("end:")
        while time.time() < deadline and (poller.poll(200) or alive()):
            while kc.shell_channel.msg_ready():
                if kc.shell_channel.get_msg(timeout=0)["parent_header"].get("msg_id") == msg_id:
                    return
            while kc.stdin_channel.msg_ready():              # an input() of the learner's
                kc.stdin_channel.get_msg(timeout=0)
                kc.input("")

    def run_callback(text, callbacks):
        stats["callbacks"] += 1
        try:
            req = decode(text)
            fn = callbacks[req["fn"]]
            return encode({"ok": fn(*req["args"])}, function=None)
        except Exception as exc:
            return encode({"err": [type(exc).__name__, None, str(exc)[:4000]]})

    def call(name, args, kwargs):
        stats["calls"] += 1
        state = _guard._ACTIVE.get()
        callbacks = []

        def function(f, enc):
            shipped = as_code(f, enc, modules, refuse=proxy_set)
            if shipped is not None:
                stats["shipped"] += 1
                return shipped
            callbacks.append(f)
            return {"fn": len(callbacks) - 1}

        payload = encode({"name": name, "args": list(args), "kwargs": dict(kwargs),
                          "graded": state.answer if state is not None else None}, function=function)
        text = ask("call", payload, callbacks)
        try:
            result = decode(text)
            if type(result) is not dict:
                raise NotPlain("not a result")
            out, changed, after = result.get("out"), result.get("changed"), result.get("after")
            called = result.get("called")
        except (NotPlain, TypeError, ValueError) as exc:
            raise RuntimeError(f"`{name}` sent back something the grader cannot read: {exc}") from None
        if type(out) is str and out:
            print(out[:OUT_CHARS], end="")
        if type(changed) is list and type(after) is list:       # the function changed its input
            for i, new in zip(changed, after, strict=False):
                if type(i) is int and 0 <= i < len(args) and type(args[i]) is np.ndarray \
                        and type(new) is np.ndarray and new.shape == args[i].shape:
                    try:
                        np.copyto(args[i], new, casting="unsafe")
                    except (TypeError, ValueError):
                        pass
        if state is not None and type(called) is str and NAME.fullmatch(called):
            state.called = state.called or called
        if "err" in result:
            err = result["err"]
            if type(err) is not list or len(err) != 4:
                raise RuntimeError(f"`{name}` raised an error the grader cannot read")
            ename, eargs, message, tb = err
            if ename == "NumericAnswerError" and type(called) is str and NAME.fullmatch(called):
                raise _guard.NumericAnswerError(called, state.answer if state else name)
            note = f"(raised in your function; its traceback:)\n{tb}" if type(tb) is str and tb else None
            raise _exception(ename, tuple(eargs) if type(eargs) is list else None, message, note)
        return result.get("ok")

    def proxy(name):
        if name not in proxies:
            def learner_function(*args, **kwargs):
                return call(name, args, kwargs)
            proxies[name] = learner_function
            proxy_set.add(learner_function)
        fn = proxies[name]
        return fn

    def loaded(code, out, stored):
        """Add to ``out`` the globals ``code`` reads (nested code too), to ``stored`` (when
        given) those its own top level binds."""
        for c in nested(code):
            for ins in dis.get_instructions(c):
                if ins.opname in ("LOAD_NAME", "LOAD_GLOBAL") and type(ins.argval) is str:
                    out.add(ins.argval)
                elif ins.opname in ("STORE_NAME", "STORE_GLOBAL") and stored is not None \
                        and c is code:
                    stored.add(ins.argval)

    def functions_in(value):
        """The trusted functions a value of this kernel holds: itself, a class's methods, the
        functions in a dict, list or tuple, a function's defaults and closure."""
        if type(value) in (dict, list, tuple):
            items = value.values() if type(value) is dict else value
            return [v for v in items if type(v) is types.FunctionType]
        if isinstance(value, type) and value.__module__ == "__main__":
            return [v for v in vars(value).values() if type(v) is types.FunctionType]
        if type(value) is not types.FunctionType or value.__globals__ is not ip.user_ns:
            return []
        held = list(value.__defaults__ or ())
        for cell in value.__closure__ or ():
            try:
                held.append(cell.cell_contents)
            except ValueError:                  # not bound yet
                pass
        return [value, *(v for v in held if type(v) is types.FunctionType)]

    def reach(used):
        """The names a cell reading ``used`` may read: those, and the globals read by the
        trusted functions it reads, transitively (the course's own code: no eval tricks)."""
        out, todo, seen = set(used), list(used), set()
        while todo:
            name = todo.pop()
            if name in bound:
                continue
            for fn in functions_in(ip.user_ns.get(name)):
                if fn.__code__ not in seen:
                    seen.add(fn.__code__)
                    more = set()
                    loaded(fn.__code__, more, None)
                    todo += more - out
                    out |= more
        return out

    def before_cell(info):
        """Bind the learner's names this cell may read: a function as a proxy, a value as a
        copy, looked up again before every cell that reads it (the learner may have changed
        it since); a cell that reads none of them does not ask the learner's kernel."""
        try:
            code = compile(ip.transform_cell(info.raw_cell), "<cell>", "exec")
        except Exception:
            return
        used, stored = set(), set()
        loaded(code, used, stored)
        for name in list(bound):                 # a trusted cell rebound it: it is trusted now
            if ip.user_ns.get(name, bound) is not bound[name]:
                del bound[name]
        wanted = {n for n in used if (n not in ip.user_ns or n in bound) and n not in stored
                  and not hasattr(builtins, n) and not n.startswith("__matdiff")}
        pending.update(wanted)
        asked = sorted((pending | set(bound)) & reach(used))
        if not asked:
            return
        stats["lookups"] += 1
        try:
            found = decode(ask("names", encode(asked)))
        except Exception:
            return
        if type(found) is not dict:
            return
        for name in asked:
            info_ = found.get(name)
            if type(info_) is not dict or len(info_) != 1:
                if name in bound:                # the learner deleted it
                    ip.user_ns.pop(name, None)
                    del bound[name]
                continue
            (kind, v), = info_.items()
            if kind == "function":
                value = proxy(name)
                if type(v) is list:      # what the learner's code refers to, for rule checks
                    value.learner_names = frozenset(n for n in v if type(n) is str)
            elif kind == "value":
                value = v
            elif kind == "module" and type(v) is str and v.split(".")[0] in modules:
                try:
                    value = importlib.import_module(v)
                except Exception:
                    continue
            else:
                continue
            ip.user_ns[name] = bound[name] = value
            pending.discard(name)

    def close():
        """The notebook is graded: forget the learner's kernel (this kernel may serve the next)."""
        end_loop()
        ip.events.unregister("pre_run_cell", before_cell)
        ip.events.unregister("post_run_cell", end_loop)
        kc.stop_channels()
        kc.context.destroy(linger=0)
        return stats

    ip.events.register("pre_run_cell", before_cell)
    ip.events.register("post_run_cell", end_loop)
    ip.user_ns["__matdiff_close"] = close
