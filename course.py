"""Set the course up and use it: the two commands of the README.

    python3 course.py lab     # set up if needed, then open the course in JupyterLab
    python3 course.py test    # set up if needed, then run the whole test suite

Setting up means: a virtual environment in .venv/ of this repository, the pinned
dependencies and the rlcourse_utils package installed there (editable), and a
Jupyter kernel "Python 3.11 (rlcourse)" that runs in that environment. `test` also
installs the instructor extra (nbgrader), whose round trip the suite proves, and the
bench extra (Stable-Baselines3), whose plumbing tests/test_bench.py runs. It is
redone only when pyproject.toml changes. Needs nothing but Python 3.11 and git.
Extra arguments go to JupyterLab (lab) or pytest (test).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".rlcourse-installed"
KERNEL_NAME, KERNEL_DISPLAY = "rlcourse", "Python 3.11 (rlcourse)"


def run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT)


def setup(extras: str = "") -> None:
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"The course needs Python 3.11 (found {sys.version.split()[0]} at {sys.executable}).")
    if not PYTHON.exists():
        print(f"Creating the course's virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    # The stamp lists what is installed for this pyproject.toml: "" (the course), and the extras.
    stamp = lambda names: hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + names.encode()).hexdigest()  # noqa: E731
    done = STAMP.read_text().split() if STAMP.exists() else []
    if stamp(extras) not in done:
        run(PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-e", f"{ROOT}[{extras}]" if extras else ROOT)
        STAMP.write_text(" ".join({stamp(""), stamp(extras)} | {d for d in done if stamp("") in done}))
    run(PYTHON, "-m", "ipykernel", "install", "--user", "--name", KERNEL_NAME, "--display-name", KERNEL_DISPLAY)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"lab", "test"}:
        print(__doc__)
        return 2
    command, extra = argv[0], argv[1:]
    try:
        setup("instructor,bench" if command == "test" else "")
    except subprocess.CalledProcessError as err:
        print(f"Setting up failed while running: {' '.join(map(str, err.cmd))}", file=sys.stderr)
        return err.returncode or 1
    if command == "test":
        return subprocess.run([str(PYTHON), "-m", "pytest", *extra], cwd=ROOT).returncode
    root_flag = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    lab = [str(VENV / "bin" / "jupyter"), "lab", f"--ServerApp.root_dir={ROOT}", *root_flag, *extra,
           "lectures/01_imitation_learning.ipynb"]
    os.chdir(ROOT)
    os.execv(lab[0], lab)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
