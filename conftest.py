"""Settings for every test path (tests/, the package's doctests, solutions/ under nbval)."""
import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    import torch

    # pytest-xdist runs one worker per core; a second torch thread in each would only oversubscribe them.
    torch.set_num_threads(1)
