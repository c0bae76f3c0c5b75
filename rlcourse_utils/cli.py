"""The rlcourse command: build solutions, grade submissions, print an exercise stub."""
from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path


def _solutions(args: argparse.Namespace) -> int:
    from rlcourse_utils import build

    root = Path(args.root) if args.root else build.course_root()
    if args.check:
        problems = build.drift(root, args.lectures or None)
        print("\n".join(problems) if problems else "solutions/ is up to date with lectures/ and the reference.")
        return 1 if problems else 0
    times = build.build(root, args.lectures or None)
    for name, seconds in times.items():
        print(f"solutions/{name}: executed in {seconds:.1f} s")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from rlcourse_utils import grading

    limits = grading.Limits(wall_seconds=args.timeout, memory_bytes=args.memory_mb * 2**20,
                            sandbox=not args.unsandboxed)
    inputs = [Path(s) for s in args.submissions]
    missing = [str(p) for p in inputs if not p.exists()]
    if missing:
        print(f"rlcourse grade: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    if not grading.expand(inputs):
        print(f"rlcourse grade: no notebooks (*.ipynb) in {', '.join(map(str, inputs))}", file=sys.stderr)
        return 2
    out = Path(args.out)
    secret = args.secret or os.environ.get("RLCOURSE_GRADER_SECRET")
    if not secret:
        secret = secrets.token_hex(16)
        print("rlcourse grade: no --secret and no RLCOURSE_GRADER_SECRET: the hidden cases are drawn with a one-off "
              "secret, so a rerun draws new ones and regrades everything", file=sys.stderr)
    try:
        rows = grading.grade(inputs, out, Path(args.feedback) if args.feedback else None, args.lecture, limits,
                             args.workers, secret=secret, reveal=args.reveal_cases, ray_address=args.ray)
    except (ValueError, grading.SandboxMissing) as err:
        print(f"rlcourse grade: {err}", file=sys.stderr)
        return 2
    submissions = {r.submission for r in rows}
    print(f"graded {len(submissions)} submissions, {len(rows)} rows -> {out}")
    return 0


def _nbgrader(args: argparse.Namespace) -> int:
    from rlcourse_utils import build, nbgrader_export

    root = Path(args.root) if args.root else build.course_root()
    for path in nbgrader_export.export(root, Path(args.out), args.lectures or None):
        print(f"wrote {path}")
    print(f"next: cd {args.out} && nbgrader generate_assignment <lecture> --create; after submissions are "
          "collected, RLCOURSE_GRADER_SECRET=... nbgrader autograde <lecture> --create && nbgrader export")
    return 0


def _stub(args: argparse.Namespace) -> int:
    from rlcourse_utils import build, checks

    if args.exercise not in checks.EXERCISES:
        print(f"rlcourse stub: no exercise {args.exercise!r}; known: {', '.join(sorted(checks.EXERCISES))}",
              file=sys.stderr)
        return 2
    ex = checks.get(args.exercise)
    if args.insert:
        build.insert_exercise(Path(args.insert), ex, args.after)
        print(f"added {ex.id}'s exercise, check and use cells to {args.insert}")
        return 0
    print(build.stub_source(ex))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from rlcourse_utils import bench

    unknown = [n for n in args.algos if n not in bench.BENCHES]
    if unknown:
        print(f"rlcourse bench: no benchmark {', '.join(unknown)}; known: {', '.join(bench.BENCHES)}", file=sys.stderr)
        return 2
    if args.rewrite:
        return bench.rewrite(Path(args.out))
    return bench.main(args.algos, args.seeds, Path(args.out), args.jobs, args.steps, args.max_seconds, args.merge)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rlcourse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("solutions", help="rebuild and execute solutions/ from lectures/ and the reference")
    p.add_argument("lectures", nargs="*", help="lecture numbers to rebuild (default: all), e.g. 01")
    p.add_argument("--check", action="store_true", help="only report whether solutions/ has drifted; exit 1 if so")
    p.add_argument("--root", help="course repository (default: the one this package is installed from)")
    p.set_defaults(func=_solutions)

    p = sub.add_parser("grade", help="grade submitted notebooks on hidden cases")
    p.add_argument("submissions", nargs="+", help="notebooks, or folders of notebooks")
    p.add_argument("--out", default="gradebook.csv", help="gradebook CSV (default: gradebook.csv)")
    p.add_argument("--feedback", help="folder for one feedback file per submission (default: beside --out)")
    p.add_argument("--lecture", help="lecture number, when a submission does not say (e.g. 01)")
    p.add_argument("--workers", type=_positive_int, help="parallel submissions, at least 1 (default: number of cores)")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="wall-clock seconds one submission may take in all (default: 120)")
    p.add_argument("--ray", metavar="ADDRESS",
                   help="grade on a Ray cluster (its address, e.g. ray://head:10001), or `local` to start Ray here; "
                        "each node needs the course environment and bubblewrap")
    p.add_argument("--secret", help="the instructor's secret that draws the hidden cases (default: the "
                   "RLCOURSE_GRADER_SECRET environment variable; keep it out of the repository)")
    p.add_argument("--reveal-cases", action="store_true",
                   help="let feedback show each failing hidden case's inputs and expected answer")
    p.add_argument("--unsandboxed", action="store_true",
                   help="grade even where bubblewrap is missing, giving up the sandbox: each submission then runs "
                        "with your user's rights and can read your files and use the network")
    p.add_argument("--memory-mb", type=int, default=2048, help="memory limit per grading process, MiB")
    p.set_defaults(func=_grade)

    p = sub.add_parser("nbgrader", help="write the lectures as an nbgrader source/ tree (hidden tests included)")
    p.add_argument("lectures", nargs="*", help="lecture numbers (default: all), e.g. 04")
    p.add_argument("--out", required=True, help="the nbgrader course folder to write (source/ goes inside)")
    p.add_argument("--root", help="course repository (default: the one this package is installed from)")
    p.set_defaults(func=_nbgrader)

    p = sub.add_parser("stub", help="print the exercise cell students get for an exercise id")
    p.add_argument("exercise", help="exercise id, e.g. L01_bc_loss")
    p.add_argument("--insert", metavar="NOTEBOOK",
                   help="instead of printing, add the exercise cell, its check cell and a `use` cell to this "
                        "lecture notebook, with the metadata the builder, the grader and nbgrader read")
    p.add_argument("--after", type=int, help="with --insert: after this cell index (default: at the end)")
    p.set_defaults(func=_stub)

    p = sub.add_parser("bench", help="every reference agent against Stable-Baselines3 (the [bench] extra), as a page")
    p.add_argument("algos", nargs="*", metavar="ALGO",
                   help="rows to run (default: all): ppo a2c reinforce dqn double_dqn trpo td3 ddpg sac ppo@acrobot "
                        "dqn@acrobot td3@mountaincar")
    p.add_argument("--seeds", type=int, nargs="+", help="seeds (default: 100 101 102 103 104)")
    p.add_argument("--out", default="docs/benchmarks.md", help="the page; its plot (.png) and numbers (.json) go beside")
    p.add_argument("--jobs", type=_positive_int, default=1, help="worker processes at a time (default: 1)")
    p.add_argument("--steps", type=_positive_int, help="cut every run's step budget to this (a quick plumbing run)")
    p.add_argument("--max-seconds", type=float, default=300.0,
                   help="a run that has trained this many CPU seconds without reaching the threshold stops (300)")
    p.add_argument("--rewrite", action="store_true", help="run nothing: write the page again from its .json")
    p.add_argument("--merge", action="store_true",
                   help="replace only these rows in the page's existing numbers (beside --out) and rewrite the page")
    p.set_defaults(func=_bench)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
