"""Run a grading child inside a bubblewrap sandbox and read what it sends back, under deadlines.

The boundary (DESIGN.md §Grading): a submission's code runs as an unprivileged user (uid 65534,
no capabilities) in its own user, PID, network, IPC and mount namespaces. It sees a read-only
Python environment and two small grader files, a private /tmp, and nothing else: not the
repository, ``solutions/``, the package (its references and cases), other submissions or the
output folder. Nothing it starts outlives it (the PID namespace dies with it). Its request
arrives on stdin; its answers leave on a pipe this process owns, one JSON line per event, and
this process enforces every deadline itself, so blocking or catching SIGALRM gains nothing.
"""
from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CHILD_FILES = {"child.py": HERE / "child.py", "wire.py": HERE.parent / "checks" / "wire.py"}
INSIDE = "/grader"  # where the child's two files appear in the sandbox
MAX_LINE = 64 * 2**20  # one event line may hold large arrays, not unbounded ones


class SandboxMissing(RuntimeError):
    """bubblewrap cannot run here, and the instructor did not accept grading without it."""


VENV_INSIDE = "/venv"  # a virtual environment appears here, not at its own path (which may be in the repository)


def _python_trees() -> dict[Path, str]:
    """The directories the child's Python needs, each with where it appears in the sandbox: the
    interpreter's own tree at its path, and a virtual environment (if any) at /venv."""
    trees = {Path(p).resolve(): str(Path(p).resolve()) for p in (sys.base_prefix, sys.base_exec_prefix)}
    if Path(sys.prefix).resolve() not in trees:
        trees[Path(sys.prefix).resolve()] = VENV_INSIDE
    return trees


def _python_inside() -> str:
    """The child's interpreter as the sandbox sees it."""
    prefix = Path(sys.prefix).resolve()
    executable = Path(sys.executable)
    if _python_trees()[prefix] == VENV_INSIDE and executable.parent.resolve() == (prefix / "bin"):
        return f"{VENV_INSIDE}/bin/{executable.name}"
    return str(executable.resolve())


def _package_dirs() -> list[Path]:
    """Where the course package lives, to be hidden when it is installed inside a Python tree."""
    import rlcourse_utils

    return [Path(p).resolve() for p in rlcourse_utils.__path__]


def bwrap_command(files_dir: Path) -> list[str]:
    """The bubblewrap command line that runs ``python -I /grader/child.py`` in the sandbox."""
    cmd = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--as-pid-1", "--uid", "65534", "--gid", "65534",
           "--cap-drop", "ALL", "--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
           "--ro-bind", str(files_dir), INSIDE, "--chdir", "/tmp", "--clearenv",
           "--setenv", "HOME", "/tmp", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "OMP_NUM_THREADS", "1",
           "--setenv", "MPLBACKEND", "Agg", "--setenv", "PYTHONDONTWRITEBYTECODE", "1"]
    for name in ("lib", "lib64", "bin", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            cmd += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            cmd += ["--ro-bind", str(path), str(path)]
    if Path("/etc/ld.so.cache").exists():
        cmd += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    trees = {tree: inside for tree, inside in _python_trees().items() if not str(tree).startswith("/usr/")}
    for tree, inside in trees.items():
        cmd += ["--ro-bind", str(tree), inside]
    for package in _package_dirs():  # an installed (not editable) package would sit inside a tree
        for tree, inside in trees.items():
            if package.is_relative_to(tree):
                cmd += ["--tmpfs", str(Path(inside) / package.relative_to(tree))]
    return cmd + [_python_inside(), "-I", f"{INSIDE}/child.py"]


@lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    """None when bubblewrap runs here; otherwise why not, in words."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (the bwrap command) is not installed: `apt-get install bubblewrap` on Debian/Ubuntu"
    with tempfile.TemporaryDirectory() as tmp:
        probe = bwrap_command(Path(tmp))[:-2] + ["-c", "import numpy, torch; print('ok')"]
        try:
            done = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"bubblewrap could not start a sandbox here ({err})"
    if done.stdout.strip() != "ok":
        return f"bubblewrap could not start a sandbox here: {done.stderr.strip()[:300]}"
    return None


def _set_limits(memory_bytes: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 2**20, 64 * 2**20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_child(request: dict, memory_bytes: int, startup_seconds: float, step_seconds: float, budget_seconds: float,
              sandbox: bool, valid: Any) -> tuple[list[dict], str, float]:
    """Run one child on ``request``; return its valid events, how it ended ("ok" or what went wrong)
    and the seconds it took.

    Deadlines, all enforced here: the first event within ``startup_seconds`` (Python and torch
    starting), each next event within ``step_seconds`` of the previous one (one cell, or one case),
    and everything within ``budget_seconds``. A line that is not a valid event ends the reading.
    """
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        files = Path(tmp, "grader")
        files.mkdir()
        for name, source in CHILD_FILES.items():
            shutil.copyfile(source, files / name)
        files.chmod(0o755)
        if sandbox:
            cmd = bwrap_command(files)
            env = None
        else:
            cmd = [sys.executable, "-I", str(files / "child.py")]
            env = {"PATH": os.environ.get("PATH", ""), "HOME": tmp, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=lambda: _set_limits(memory_bytes))
        events: list[dict] = []
        ending = None
        try:
            try:
                proc.stdin.write(json.dumps(request).encode())
                proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            events, ending = _read_events(proc, start, startup_seconds, step_seconds, budget_seconds, valid)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # bwrap and its PID namespace: everything the child started
            except ProcessLookupError:
                pass
            code = proc.wait()
            proc.stdout.close()
        if ending is None:
            if sandbox and code > 128:  # bwrap reports a child killed by signal N as exit code 128 + N
                code = 128 - code
            ending = "ok" if code == 0 else describe_exit(code)
        return events, ending, time.monotonic() - start


def _read_events(proc: subprocess.Popen, start: float, startup: float, step: float, budget: float,
                 valid: Any) -> tuple[list[dict], str | None]:
    """Events as they arrive; an ending when a deadline passed or the stream went bad, else None."""
    events: list[dict] = []
    buffer = b""
    deadline = min(start + startup, start + budget)
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    fd = proc.stdout.fileno()
    while True:
        now = time.monotonic()
        if now >= deadline:
            if now >= start + budget:
                return events, f"was stopped after the {budget:g} s time budget of this submission"
            what = "to start" if not events else "to finish a step"
            return events, f"was stopped: it took longer than {startup if not events else step:g} s {what}"
        if not selector.select(timeout=deadline - now):
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return events, None  # the child closed its end: it finished or died
        buffer += chunk
        if len(buffer) > MAX_LINE and b"\n" not in buffer:
            return events, "sent a line too long to read"
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            try:
                event = json.loads(line.decode("utf-8", errors="replace"))
            except (ValueError, RecursionError):
                return events, "sent something that is not a grading event"
            if not valid(event):
                return events, "sent something that is not a grading event"
            events.append(event)
            deadline = min(time.monotonic() + step, start + budget)


def describe_exit(code: int) -> str:
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        why = {"SIGKILL": " (killed, often for using too much memory)", "SIGSEGV": " (a crash)",
               "SIGXFSZ": " (wrote too much output)"}.get(name, "")
        return f"crashed: the process was ended by {name}{why}"
    return f"crashed: the process exited with code {code} before finishing"
