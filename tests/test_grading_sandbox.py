"""The sandbox is the boundary: a submission that attacks the grader finds nothing to read, nothing to
reach and nothing that outlives it, and it cannot buy time by blocking the child's own alarm."""
import csv
import os
import socket
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

from rlcourse_utils import cli, grading
from rlcourse_utils.grading import sandbox
from test_grading import IDS, LEC01, LIMITS, SANDBOXED, notebook

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not SANDBOXED, reason="bubblewrap is not available here")
MARKER = f"987.{os.getpid() % 1000:03d}"  # a sleep length no other process on the machine uses

SNOOP = '''def bc_loss(logits, expert_actions):
    import importlib, os, socket, sys
    found = []
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_BlockPackage"]  # drop the blocker
    try:
        importlib.import_module("rlcourse" + "_utils")
        found.append("the course package")
    except Exception:
        pass
    for path in [bytes.fromhex(h).decode() for h in PATHS]:  # hex, so no token names the package
        if os.path.exists(path):
            found.append(path)
    here = os.path.dirname(os.path.abspath(sys.modules["_rlcourse_wire"].__file__))
    found += [name for name in os.listdir(here) if name not in ("child.py", "wire.py", "__pycache__")]
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            command = open(f"/proc/{pid}/cmdline", "rb").read()
        except OSError:
            continue
        if b"pytest" in command or b".ipynb" in command or b"rlcourse" in command:
            found.append(f"process {pid}")
    found += [key for key in os.environ if "SECRET" in key]
    try:
        socket.create_connection(("127.0.0.1", PORT), timeout=1)
        found.append("the network")
    except OSError:
        pass
    try:
        open(os.path.join(OUT, "gradebook.csv"), "w").write("forged")
        found.append("the gradebook")
    except OSError:
        pass
    raise RuntimeError(f"found {found}")'''

FORK_BOMBS = f'''import os, subprocess
for _ in range(50):
    subprocess.Popen(["/usr/bin/sleep", "{MARKER}"])
if os.fork() == 0:  # a double fork that would outlive the grader and rewrite its rows
    os.setsid()
    if os.fork() == 0:
        os.execv("/usr/bin/sleep", ["sleep", "{MARKER}"])
    os._exit(0)
'''

BLOCKS_ALARM = '''def dagger_aggregate(data_obs, data_actions, visited_obs, visited_states, expert):
    import signal
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    while True:
        pass'''


def test_a_submission_sees_nothing_of_the_course_and_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("RLCOURSE_GRADER_SECRET", "do-not-leak")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    folder, out_dir = tmp_path / "submissions", tmp_path / "out"
    folder.mkdir()
    paths = [str(ROOT), str(ROOT / "solutions"), str(ROOT / "rlcourse_utils" / "imitation.py"), str(folder),
             str(folder / "01_classmate.ipynb"), str(out_dir), str(tmp_path), "/root/.ssh", "/home"]
    snoop = SNOOP.replace("PATHS", repr([p.encode().hex() for p in paths])).replace("PORT", str(server.getsockname()[1])).replace(
        "OUT", repr(str(out_dir)))
    stack_history = next(ex for ex in LEC01 if ex.id == "L01_stack_history")
    from rlcourse_utils import build

    attacker = notebook({"L01_bc_loss": snoop, "L01_dagger_aggregate": BLOCKS_ALARM,
                         "L01_stack_history": FORK_BOMBS + build.reference_source(stack_history)})
    nbformat.write(attacker, str(folder / "01_attacker.ipynb"))
    nbformat.write(notebook(), str(folder / "01_classmate.ipynb"))
    try:
        start = time.monotonic()
        grading.grade([folder], out_dir / "gradebook.csv", limits=LIMITS, workers=2, progress=False)
        elapsed = time.monotonic() - start
    finally:
        server.close()
    with (out_dir / "gradebook.csv").open(encoding="utf-8") as f:
        rows = {(r["submission"], r["exercise"]): r for r in csv.DictReader(f)}
    snooped = rows[("01_attacker", "L01_bc_loss")]["reason"]
    assert "found []" in snooped, snooped[:600]
    blocked = rows[("01_attacker", "L01_dagger_aggregate")]
    assert float(blocked["points"]) == 0 and "took longer than" in blocked["reason"], blocked
    assert float(rows[("01_attacker", "L01_stack_history")]["points"]) == 3  # its cell ran; the answer is right
    assert all(float(rows[("01_classmate", e)]["points"]) == float(rows[("01_classmate", e)]["max_points"])
               for e in IDS)
    assert elapsed < LIMITS.wall_seconds * 2  # the blocked alarm cost one step's deadline, not the budget
    leftovers = subprocess.run(["pgrep", "-f", f"sleep {MARKER}"], capture_output=True, text=True).stdout.split()
    assert leftovers == [], f"processes outlived the grading: {leftovers}"


def test_a_submission_costs_at_most_its_budget(tmp_path):
    endless = BLOCKS_ALARM.replace("dagger_aggregate(data_obs, data_actions, visited_obs, visited_states, expert)",
                                   "{name}(*args)")
    nb = notebook({ex.id: endless.format(name=ex.name) for ex in LEC01})
    nbformat.write(nb, str(tmp_path / "01_endless.ipynb"))
    limits = grading.Limits(wall_seconds=20, sandbox=True)
    start = time.monotonic()
    rows = grading.grade([tmp_path / "01_endless.ipynb"], tmp_path / "out" / "gb.csv", limits=limits, workers=1,
                         progress=False)
    assert time.monotonic() - start < 20 + 30  # the budget, plus reading and comparing outside it
    assert sum(r.points for r in rows) == 0 and len(rows) == len(IDS)
    assert any("time budget" in r.reason for r in rows), [r.reason for r in rows]


def test_without_bubblewrap_grading_refuses_unless_told_what_is_given_up(tmp_path, monkeypatch, capsys):
    nbformat.write(notebook(), str(tmp_path / "01_alice.ipynb"))
    monkeypatch.setattr(sandbox, "unavailable_reason", lambda: "bubblewrap (the bwrap command) is not installed")
    args = ["grade", str(tmp_path / "01_alice.ipynb"), "--out", str(tmp_path / "gb.csv")]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "refusing to grade without a sandbox" in err and "--unsandboxed" in err
    assert cli.main([*args, "--unsandboxed"]) == 0
