"""Kernel-side guard of `python -m grader autograde` (runs inside the student's kernel).

The autograder sends this file's source in a hidden first cell, before any student code, and
calls ``install(config)`` (the key, the result file, the trusted modules, as JSON). It makes a
passing test something a submission cannot fake by editing its answer cells:

* It imports the trusted modules (numpy, matdiff, and whatever the assignment's locked and
  test cells import) and snapshots them: module namespaces, the classes and functions in
  them (code, defaults, closures), ``sys.modules`` entries, the IPython machinery that runs
  a cell (instance attributes, input/AST transformers, event callbacks).
* It installs an audit hook (PEP 578). A hook cannot be removed, and nothing in Python hands
  out a reference to it; it keeps the snapshot and a secret key in its closure.
* Before each graded test cell the grader runs ``sys.audit("matdiff.grader.begin", id)``:
  the hook restores everything in the snapshot (undoing ``md.assert_gradient = ...``,
  ``np.testing.assert_allclose = ...``, ``builtins.AssertionError = ...``, swapped
  ``__code__``, custom exception handlers, input transformers, ...) and rebinds the names
  the locked cells imported (``np``, ``md``).
* The test cell ends with ``sys.audit("matdiff.grader.pass", id)``, reached only when every
  check in the cell finished without raising. The hook accepts it only when it comes from
  the test cell's own top-level code run by IPython in the kernel's thread (not from a
  student function, a thread or a nested ``run_cell``) and when nothing it snapshotted has
  changed since ``begin`` (so a student function that patches numpy while a check runs is
  caught). Then it writes a token, an HMAC of the test's id with the key, to a result file
  that the grader verifies. No token, no points: the guard fails closed.
* While it runs it refuses the tools that reach into hidden objects: ``gc`` object-graph
  walks, tracing/profiling hooks, ``ctypes`` memory access, ``/proc/*/mem`` and
  ``/proc/*/fd``, and reassigning the code, defaults or class attributes of trusted objects.

Limits (honest): everything runs in one process with the student's code; a determined
attacker who rewires parts of the kernel that are not snapshotted, or finds a C-level
escape, can still forge a pass. Running the comparisons outside the student's process is
the only complete answer.
"""


def install(cfg):  # noqa: C901 - one closure on purpose: nothing escapes it
    import _thread
    import hashlib
    import hmac
    import importlib
    import json
    import os
    import sys
    import types

    if type(cfg) is str:
        cfg = json.loads(cfg)

    for name in cfg["imports"]:
        try:
            importlib.import_module(name)
        except Exception:  # an instructor import that fails will fail in the notebook too
            pass

    # Everything the hook uses is bound here: builtins can be patched later, locals cannot.
    type_, id_, isinstance_, len_, vars_ = type, id, isinstance, len, vars
    dict_, set_, tuple_, list_ = dict, set, tuple, list
    getattr_, setattr_, delattr_ = getattr, setattr, delattr
    callable_, RuntimeError_, ValueError_, zip_, any_ = callable, RuntimeError, ValueError, zip, any
    classmethod_, staticmethod_, property_ = classmethod, staticmethod, property
    str_, bytes_ = str, bytes
    FunctionType, ModuleType = types.FunctionType, types.ModuleType
    CodeType = types.CodeType
    getframe, get_ident = sys._getframe, _thread.get_ident
    hmac_new, sha256, os_write = hmac.new, hashlib.sha256, os.write
    sys_modules = sys.modules
    MISSING = object()
    SCALARS = (int, float, complex, bool, str, bytes, tuple, frozenset, type(None))
    DYNAMIC_TRAITS = {"last_execution_result", "last_execution_succeeded", "execution_count",
                      "parent_header"}
    IGNORED_KEYS = {"__warningregistry__", "_", "__", "___", "input"}  # ipykernel swaps input()

    key = bytes_.fromhex(cfg["key"])
    out_fd = os.open(cfg["result"], os.O_WRONLY | os.O_APPEND)
    trusted_roots = set_(cfg["trusted"])
    thread_id = get_ident()
    ip = get_ipython()  # noqa: F821 - the kernel's shell
    user_ns = ip.user_ns

    # ---- snapshot -------------------------------------------------------------------------
    modules = {}                     # name -> (module, its dict, a private copy)
    classes = {}                     # id -> (class, private copy of its __dict__)
    functions = {}                   # id -> (function, code, defaults, kwdefaults, closure)

    def closure_of(fn):
        cells = fn.__closure__
        if not cells:
            return ()
        out = []
        for c in cells:
            try:
                out.append(c.cell_contents)
            except ValueError_:
                out.append(MISSING)
        return tuple_(out)

    def add_function(fn):
        if type_(fn) is FunctionType and id_(fn) not in functions:
            kw = fn.__kwdefaults__
            functions[id_(fn)] = (fn, fn.__code__, fn.__defaults__, kw,
                                  dict_(kw) if kw else None, closure_of(fn))

    def add_class(cls):
        if id_(cls) in classes:
            return
        mod = getattr_(cls, "__module__", "") or ""
        if type_(mod) is not str_ or mod.split(".")[0] not in trusted_roots:
            return
        d = vars_(cls)
        classes[id_(cls)] = (cls, dict_(d))
        for v in d.values():
            for inner in (v, getattr_(v, "__func__", None), getattr_(v, "fget", None),
                          getattr_(v, "fset", None)):
                add_function(inner)

    for name, mod in list_(sys_modules.items()):
        if isinstance_(mod, ModuleType) and name.split(".")[0] in trusted_roots:
            d = vars_(mod)
            modules[name] = (mod, d, dict_(d))
            for v in d.values():
                if isinstance_(v, type_):
                    add_class(v)
                else:
                    add_function(v)

    # the IPython machinery that runs a cell
    shell_dict = vars_(ip)
    shell_snap = dict_(shell_dict)
    trait_values = shell_dict.get("_trait_values", {})
    trait_snap = dict_(trait_values)
    lists = []                       # (list object, private copy)
    for owner, names in ((ip, ("ast_transformers", "input_transformers_post",
                                "input_transformers_cleanup")),
                         (getattr_(ip, "input_transformer_manager", None),
                          ("cleanup_transforms", "line_transforms", "token_transformers"))):
        for n in names:
            lst = getattr_(owner, n, None)
            if type_(lst) is list_:
                lists.append((lst, list_(lst)))
    callbacks = getattr_(getattr_(ip, "events", None), "callbacks", {})
    for lst in callbacks.values():
        if type_(lst) is list_:
            lists.append((lst, list_(lst)))
    run_code = type_(ip).run_code.__code__

    # names the locked and test cells import, e.g. ("np", "numpy", None), ("check", "matdiff", "check")
    bindings = []
    for alias, modname, attr in cfg["bindings"]:
        entry = modules.get(modname)
        if entry is not None:
            value = entry[2].get(attr, MISSING) if attr else entry[0]
            if value is not MISSING:
                bindings.append((alias, value))

    # code objects that legitimately appear in the call chain of a cell (per module, lazily)
    legit_codes = {}

    def codes_of(moddict):
        """ids of the code objects reachable from a module as it was at start-up."""
        found = legit_codes.get(id_(moddict))
        if found is not None:
            return found
        found = set_()
        stack = []
        for v in module_snapshots[id_(moddict)][1].values():
            stack.append(v)
            if isinstance_(v, type_):
                stack.extend(classes[id_(v)][1].values() if id_(v) in classes else
                             dict_(vars_(v)).values())
        while stack:
            v = stack.pop()
            t = type_(v)
            if t is classmethod_ or t is staticmethod_:
                v = v.__func__
            elif t is property_:
                v = v.fget
            if type_(v) is FunctionType:
                stack.append(v.__code__)
                w = vars_(v).get("__wrapped__")
                if type_(w) is FunctionType:
                    stack.append(w.__code__)
            if type_(v) is CodeType and id_(v) not in found:
                found.add(id_(v))
                stack.extend(c for c in v.co_consts if type_(c) is CodeType)
        legit_codes[id_(moddict)] = found
        return found

    # every module namespace at start-up, with a private copy of its contents
    module_snapshots = {id_(vars_(m)): (vars_(m), dict_(vars_(m))) for m in list_(sys_modules.values())
                        if isinstance_(m, ModuleType)}

    import sysconfig
    lib_dirs = tuple_({sysconfig.get_paths()[k] + "/" for k in ("stdlib", "platstdlib", "purelib",
                                                                 "platlib")})
    method_types = (types.MethodType, types.BuiltinMethodType)

    def library_code(x):
        """Is x a plain function or method whose code is in an installed library?"""
        if type_(x) in method_types:
            x = x.__func__ if type_(x) is types.MethodType else None
        if type_(x) is not FunctionType or x.__globals__ is user_ns:
            return False
        name = x.__code__.co_filename
        return type_(name) is str_ and name.startswith(lib_dirs)

    # ---- restore and compare ----------------------------------------------------------------
    state = {"armed": None, "restoring": False, "tampered": None, "seq": 0}

    def interesting(v):
        return v is not MISSING and (callable_(v) or isinstance_(v, (type_, ModuleType))
                                     or isinstance_(v, SCALARS))

    def is_submodule(modname, k, v):
        return isinstance_(v, ModuleType) and getattr_(v, "__name__", None) == modname + "." + k

    def world(fix):
        """Differences from the snapshot; with fix=True, undo them."""
        diffs = []
        for name, (mod, d, snap) in modules.items():
            if sys_modules.get(name) is not mod:
                diffs.append("sys.modules[" + name + "]")
                if fix:
                    sys_modules[name] = mod
            for k, v in snap.items():
                cur = d.get(k, MISSING)
                if cur is not v and k not in IGNORED_KEYS:
                    if interesting(v) or interesting(cur):
                        diffs.append(name + "." + k)
                    if fix:
                        d[k] = v
            if len_(d) != len_(snap):
                for k in list_(d):
                    if k not in snap and k not in IGNORED_KEYS and not is_submodule(name, k, d[k]):
                        diffs.append(name + "." + k + " (added)")
                        if fix:
                            del d[k]
        for cls, snap in classes.values():
            d = vars_(cls)
            for k, v in snap.items():
                cur = d.get(k, MISSING)
                if cur is not v:
                    if interesting(v) or interesting(cur):
                        diffs.append(cls.__qualname__ + "." + k)
                    if fix:
                        setattr_(cls, k, v)
            if len_(d) != len_(snap):
                for k in list_(d):
                    if k not in snap:
                        diffs.append(cls.__qualname__ + "." + k + " (added)")
                        if fix:
                            delattr_(cls, k)
        for fn, code, defaults, kwdefaults, kwsnap, closure in functions.values():
            changed = fn.__code__ is not code or fn.__defaults__ is not defaults \
                or fn.__kwdefaults__ is not kwdefaults
            if kwsnap is not None and (len_(kwdefaults) != len_(kwsnap) or any_(
                    kwdefaults.get(k, MISSING) is not v for k, v in kwsnap.items())):
                changed = True
                if fix:
                    kwdefaults.clear()
                    kwdefaults.update(kwsnap)
            cells = fn.__closure__ or ()
            for c, v in zip_(cells, closure, strict=False):
                try:
                    cur = c.cell_contents
                except ValueError_:
                    cur = MISSING
                if cur is not v:
                    changed = True
                    if fix and v is not MISSING:
                        c.cell_contents = v
            if changed:
                diffs.append(fn.__qualname__)
                if fix:
                    fn.__code__, fn.__defaults__, fn.__kwdefaults__ = code, defaults, kwdefaults
        # the shell that runs cells
        for k, v in shell_snap.items():
            if shell_dict.get(k, MISSING) is not v and (callable_(v) or k == "custom_exceptions"
                                                         or k == "CustomTB"):
                diffs.append("shell." + k)
                if fix:
                    shell_dict[k] = v
        for k in list_(shell_dict):
            if k not in shell_snap and callable_(shell_dict[k]):
                diffs.append("shell." + k + " (added)")
                if fix:
                    del shell_dict[k]
        for k, v in trait_snap.items():
            cur = trait_values.get(k, MISSING)
            if cur is not v and not isinstance_(v, SCALARS) and k not in DYNAMIC_TRAITS:
                diffs.append("shell trait " + k)
                if fix:
                    trait_values[k] = v
        for lst, snap in lists:
            if len_(lst) == len_(snap) and not any_(a is not b for a, b in zip_(lst, snap, strict=False)):
                continue
            kept = [x for x in snap if any_(x is y for y in lst)]
            added = [x for x in lst if not any_(x is y for y in snap)]
            # installed libraries may register hooks (matplotlib's inline backend does)
            legit = [x for x in added if library_code(x)]
            if len_(kept) != len_(snap) or len_(legit) != len_(added):
                diffs.append("shell transformers/callbacks")
                if fix:
                    lst[:] = snap + legit
        return diffs

    def chain_ok():
        """Is our caller the top-level code of a cell, run by IPython in the kernel thread?"""
        if get_ident() != thread_id:
            return "called from another thread"
        f = getframe(2)          # 0: chain_ok, 1: hook, 2: the code that raised the event
        if f.f_globals is not user_ns:
            return "called from inside a function"
        back = f.f_back
        if back is None or back.f_code is not run_code:
            return "not run by IPython"
        back = back.f_back
        while back is not None:
            g = back.f_globals
            if g is user_ns:
                return "called from inside another cell"
            outer = back.f_back
            if back.f_code.co_name == "<module>" and outer is not None \
                    and outer.f_code.co_name == "_run_code" and outer.f_back is not None \
                    and outer.f_back.f_back is None:
                return None          # the kernel launcher, run by runpy: the bottom of the stack
            snap = module_snapshots.get(id_(g))
            where = " (" + back.f_code.co_filename.rsplit("/", 1)[-1] + ":" + back.f_code.co_name + ")"
            if snap is None or snap[0] is not g or id_(back.f_code) not in codes_of(g):
                return "called through code the kernel did not start with" + where
            back = outer
        return None

    def emit(kind, grade_id, detail=""):
        state["seq"] += 1
        body = kind + " " + grade_id + " " + str_(state["seq"])
        mac = hmac_new(key, body.encode(), sha256).hexdigest()
        line = body + " " + mac + " " + detail.replace("\n", " ") + "\n"
        os_write(out_fd, line.encode())

    DENIED = {"gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys.settrace",
              "sys.setprofile", "sys._current_frames", "sys.monitoring.register_callback", "sys.addaudithook"}
    FUNC_ATTRS = {"__code__", "__defaults__", "__kwdefaults__", "__closure__", "__globals__"}

    def deny(what):
        if state["armed"] is not None and state["tampered"] is None:
            state["tampered"] = what
        raise RuntimeError_("the grader does not allow " + what + " while grading")

    def hook(event, args):
        if type_(event) is not str_ or state["restoring"]:
            return
        if event in DENIED or event.startswith("ctypes."):
            deny(event)
        elif event == "object.__setattr__" or event == "object.__delattr__":
            obj, name = args[0], args[1]
            if id_(obj) in functions and type_(name) is str_ and name in FUNC_ATTRS:
                deny("changing " + name + " of a trusted function")
            if id_(obj) in classes and classes[id_(obj)][0] is obj:
                deny("changing a trusted class")
        elif event == "open":
            path = args[0]
            if type_(path) is bytes_:
                path = path.decode(errors="replace")
            if type_(path) is str_ and path.startswith("/proc/") and (
                    "/mem" in path or "/fd" in path or "environ" in path):
                deny("opening " + path)
        elif event == "matdiff.grader.begin":
            grade_id = args[0] if args else None
            problem = chain_ok() if type_(grade_id) is str_ else "bad id"
            if problem is not None:
                if type_(grade_id) is str_:
                    emit("REJECT", grade_id, "begin " + problem)
                return
            state["restoring"] = True
            try:
                undone = world(fix=True)
                for alias, value in bindings:
                    if user_ns.get(alias, MISSING) is not value:
                        undone.append(alias)
                        user_ns[alias] = value
            finally:
                state["restoring"] = False
            state["armed"], state["tampered"] = grade_id, None
            if undone:
                emit("RESTORED", grade_id, ", ".join(undone[:5]) + (" ..." if len_(undone) > 5 else ""))
        elif event == "matdiff.grader.pass":
            grade_id = args[0] if args else None
            if type_(grade_id) is not str_ or state["armed"] != grade_id:
                return
            problem = chain_ok()
            if problem is None and state["tampered"] is not None:
                problem = "tried " + state["tampered"]
            if problem is None:
                diffs = world(fix=False)
                if diffs:
                    problem = "changed " + ", ".join(diffs[:5]) + (" ..." if len_(diffs) > 5 else "")
            state["armed"] = None
            if problem is None:
                emit("PASS", grade_id)
            else:
                emit("TAMPER", grade_id, problem)

    del cfg
    sys.addaudithook(hook)
