"""Grading a class on a Ray cluster: one task per submission, the same gradebook as on one machine.

``rlcourse grade ... --ray ADDRESS`` sends each submission (its notebook as plain JSON data, already
read by the driver) to a Ray task that runs ``grade_one``, which starts the submission's sandboxed
child on whichever node runs the task. The hidden cases and the reference's answers are computed
once, by the driver, and shared with every task through Ray's object store. The driver writes the
journal, the feedback files and the gradebook as results arrive, exactly as with ``--workers``.
Every node needs this package, its Python environment and bubblewrap, as the driver's machine does.
``--ray local`` starts a Ray instance on this machine and stops it at the end.
"""
from __future__ import annotations

from typing import Any, Iterator


def grade_on_ray(address: str, jobs: list[tuple[int, tuple]], prepared: dict, limits: Any, reveal: bool,
                 workers: int | None = None) -> Iterator[tuple[int, list | None, str]]:
    """(index, rows or None, error) per job, as the tasks finish."""
    import ray

    from rlcourse_utils.grading import grade_one

    started_here = not ray.is_initialized()
    if started_here:
        options = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address == "local":
            ray.init(num_cpus=workers, **options)
        else:
            ray.init(address=address, **options)
    try:
        task = ray.remote(num_cpus=1, max_retries=1)(grade_one)
        shared = ray.put(prepared)
        pending = {task.remote(*args, shared, limits, reveal): i for i, args in jobs}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                i = pending.pop(ref)
                try:
                    yield i, ray.get(ref), ""
                except Exception as err:  # a task lost with its node, or one Ray could not run
                    yield i, None, f"the Ray task failed: {type(err).__name__}"
    finally:
        if started_here:
            ray.shutdown()
