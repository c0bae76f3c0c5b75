"""The grader's child: runs one submission's exercise cells, in its own process, under limits.

Started by ``rlcourse_utils.grading.sandbox`` as ``python -I child.py`` inside a bubblewrap
sandbox, beside a copy of the wire format (``wire.py``) and nothing else of the course: the
package, its references and the comparison are not on its filesystem (the import blocker below
only turns an attempt into a clear message). The request arrives on stdin. The child sends
back plain data, one JSON event per line on its original stdout (a pipe the grader owns; the
submission's own prints go nowhere), flushed as it goes, so whatever happened before a crash is
not lost and the grader can time every step:

    {"event": "exec", "exercise": id}            about to run that exercise's cell
    {"event": "exec_done", "exercise": id, "error": str | null}
    {"event": "call", "exercise": id}            about to call the function on the cases
    {"event": "case", "exercise": id}            about to run one case
    {"event": "result", "exercise": id, "outcomes": [...], "missing": bool}
"""
import importlib.abc
import importlib.util
import json
import os
import resource
import sys


class _BlockPackage(importlib.abc.MetaPathFinder):
    """Refuses ``import rlcourse_utils``: a submission must not call the reference."""

    def find_spec(self, name, path=None, target=None):
        if name == "rlcourse_utils" or name.startswith("rlcourse_utils."):
            raise ImportError("rlcourse_utils is not available while grading: the exercise must be your own code")
        return None


def _load_wire():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wire.py")
    spec = importlib.util.spec_from_file_location("_rlcourse_wire", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["_rlcourse_wire"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def main() -> None:
    request = json.loads(sys.stdin.buffer.read())
    events_fd = os.dup(1)  # the pipe to the grader; fds 1 and 2 go nowhere from here on
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    memory = int(request["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 2**20, 64 * 2**20))

    wire = _load_wire()
    sys.meta_path.insert(0, _BlockPackage())
    import numpy as np
    import torch

    torch.set_num_threads(1)
    events = os.fdopen(events_fd, "w", buffering=1)

    def emit(**event) -> None:
        events.write(json.dumps(event) + "\n")
        events.flush()

    timeout = float(request["timeout"])
    namespace = {"__name__": "__submission__"}
    exec(wire.PREAMBLE, namespace)
    for cell in request["cells"]:
        emit(event="exec", exercise=cell["exercise"])
        code = compile(cell["source"], f"<exercise cell {cell['exercise']}>", "exec")
        outcome = wire.guarded_call(exec, (code, namespace), timeout)
        emit(event="exec_done", exercise=cell["exercise"], error=outcome.error)

    for task in request["tasks"]:
        emit(event="call", exercise=task["exercise"])
        fn = namespace.get(task["function"])
        if not callable(fn):
            emit(event="result", exercise=task["exercise"], outcomes=[], missing=True)
            continue
        outcomes = []
        for wire_args in task["cases"]:
            if outcomes and outcomes[-1]["timed_out"]:  # one endless loop is enough to know
                outcomes.append(dict(outcomes[-1], error="was not run: an earlier case did not return"))
                continue
            emit(event="case", exercise=task["exercise"])
            args = wire.decode(wire_args, as_tensors=True)
            outcome = wire.guarded_call(fn, tuple(args), timeout)
            try:
                gradients = wire.encode(wire.input_gradients(outcome.value, tuple(args)))
                value, error, inputs_after = wire.encode(outcome.value), outcome.error, wire.encode(list(args))
            except Exception as err:  # a value nested thousands deep, or one whose methods raise
                gradients, value, inputs_after = None, None, None
                error = (f"returned a value that cannot be sent back as plain numbers and arrays "
                         f"({type(err).__name__}, e.g. nested too deeply)")
            outcomes.append({"value": value, "gradients": gradients, "error": error,
                             "not_implemented": outcome.not_implemented, "timed_out": outcome.timed_out,
                             "printed": outcome.printed, "inputs_after": inputs_after})
        emit(event="result", exercise=task["exercise"], outcomes=outcomes, missing=False)
    events.close()
    os._exit(0)  # skip interpreter teardown: nothing a submission left behind may run after this


if __name__ == "__main__":
    main()
