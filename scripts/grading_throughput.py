"""Submissions graded per second: on 1 and 2 worker threads, and on a local Ray cluster.

    .venv/bin/python scripts/grading_throughput.py [N_SUBMISSIONS]

A class of N lecture-01 submissions (a mix: reference answers, stubs, wrong answers, one endless loop)
is graded three times into fresh gradebooks, with the same secret; the gradebooks must agree. Each
submission runs in its bubblewrap sandbox. Prints seconds and submissions per second for each way.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_grading import LEC01, notebook  # noqa: E402

from rlcourse_utils import build, grading  # noqa: E402


def make_class(folder: Path, n: int) -> None:
    kinds = [notebook(), notebook({ex.id: build.stub_source(ex) for ex in LEC01}),
             notebook({"L01_bc_loss": "def bc_loss(logits, expert_actions):\n    return logits.sum()"}),
             notebook({"L01_stack_history": "def stack_history(obs, episode_start, k):\n    while True:\n        pass"})]
    for i in range(n):
        nbformat.write(kinds[i % len(kinds)], str(folder / f"01_student{i:03d}.ipynb"))


def main(n: int = 16) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        make_class(folder, n)
        books = {}
        for label, kwargs in [("1 worker", {"workers": 1}), ("2 workers", {"workers": 2}),
                              ("Ray, local, 2 CPUs", {"workers": 2, "ray_address": "local"})]:
            out = Path(tmp) / label.replace(" ", "_").replace(",", "") / "gradebook.csv"
            start = time.perf_counter()
            grading.grade([folder], out, progress=False, secret="throughput", **kwargs)
            seconds = time.perf_counter() - start
            books[label] = out.read_text()
            print(f"{label:>20}: {n} submissions in {seconds:6.1f} s = {n / seconds:.2f} submissions/s", flush=True)
        assert len(set(books.values())) == 1, "the gradebooks differ"
        print("the three gradebooks are identical")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 16)
