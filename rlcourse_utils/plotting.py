"""One-line plots for the lectures: every figure has a title, axis labels and a legend.

Each helper draws on ``ax`` (a new figure if None) and returns the axes, so a
notebook cell can add to it or leave it as is. matplotlib only.

Importing this module (``import rlcourse_utils`` does) also gives offscreen rendering a
private ``XDG_RUNTIME_DIR`` when the machine has none (see ``quiet_offscreen_rendering``).
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import Any, Callable

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from rlcourse_utils.envs import obstacle


def quiet_offscreen_rendering() -> None:
    """Give SDL a valid ``XDG_RUNTIME_DIR`` before gymnasium's ``rgb_array`` rendering starts pygame.

    On a headless machine (CI, a container, a server kernel) the variable is unset, SDL probes
    Wayland while pygame initialises, and libwayland prints "error: XDG_RUNTIME_DIR is invalid or
    not set in the environment." to stderr, into every notebook output that renders. A private
    directory (mode 0700, as the XDG spec asks, removed at exit) removes that cause; nothing else
    changes (a machine with a display keeps its own directory and drivers).
    """
    current = os.environ.get("XDG_RUNTIME_DIR")
    if current and os.path.isdir(current) and os.access(current, os.W_OK):
        return
    path = tempfile.mkdtemp(prefix="rlcourse-runtime-")
    os.environ["XDG_RUNTIME_DIR"] = path  # read by SDL when pygame initialises, so before any render
    atexit.register(shutil.rmtree, path, ignore_errors=True)


quiet_offscreen_rendering()


def episode_frames(env_id: str, act: Callable[[np.ndarray], Any], seed: int, *, every: int = 100,
                   max_steps: int = 500) -> tuple[list[np.ndarray], float]:
    """Run one episode of ``act`` (observation → action) in ``env_id`` rendered offscreen (rgb_array).

    Returns the RGB frames (H, W, 3) after steps 0, ``every``, 2·``every``, ... and the undiscounted return.
    """
    import gymnasium as gym
    env = gym.make(env_id, render_mode="rgb_array")
    obs, _ = env.reset(seed=seed)
    frames, total = [], 0.0
    for t in range(max_steps):
        obs, reward, terminated, truncated, _ = env.step(act(obs))
        total += float(reward)
        if t % every == 0:
            frames.append(env.render())
        if terminated or truncated:
            break
    env.close()
    return frames, total


def film_strip(frames: list[np.ndarray], title: str, *, every: int = 100) -> Figure:
    """Frames side by side, each titled with its time step (0, ``every``, ...)."""
    fig, axes = plt.subplots(1, len(frames), figsize=(3 * len(frames), 2.2))
    for k, (ax, frame) in enumerate(zip(np.atleast_1d(axes), frames)):
        ax.imshow(frame)
        ax.set_title(f"t = {every * k}")
        ax.axis("off")
    fig.suptitle(title)
    return fig


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6, 4)) -> Axes:
    return plt.subplots(figsize=figsize)[1] if ax is None else ax


def learning_curve(x: np.ndarray, ys: np.ndarray, label: str, *, xlabel: str = "iteration",
                   ylabel: str = "mean return", title: str = "Learning curve", target: float | None = None,
                   ax: Axes | None = None) -> Axes:
    """Mean ± one standard deviation over seeds.

    Args:
        x: (L,) x-axis values (iterations, labels, steps).
        ys: (S, L) one row per seed.
        label: legend entry of the curve.
        target: draws a dashed horizontal line there (e.g. 475, CartPole-v1's "solved").
    """
    ax = _axes(ax)
    ys = np.atleast_2d(ys)
    mean, std = ys.mean(0), ys.std(0)  # (L,), (L,)
    line, = ax.plot(x, mean, marker="o", label=f"{label} (mean ± std, {len(ys)} seeds)")
    ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    if target is not None:
        ax.axhline(target, color="gray", linestyle="--", label=f"target {target:g}")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    return ax


def labels_vs_return(bc_labels: np.ndarray, bc_returns: np.ndarray, dagger_labels: np.ndarray,
                     dagger_returns: np.ndarray, *, target: float = 475.0, ax: Axes | None = None) -> Axes:
    """Return reached against expert labels used: behaviour cloning's sweep versus DAgger's iterations.

    Args:
        bc_labels: (L,) labels of each BC run; bc_returns: (S, L) its mean returns per seed.
        dagger_labels: (I,) cumulative labels per DAgger iteration; dagger_returns: (S, I).
    """
    ax = _axes(ax)
    learning_curve(bc_labels, bc_returns, "behaviour cloning", ax=ax)
    learning_curve(dagger_labels, dagger_returns, "DAgger", target=target, ax=ax,
                   xlabel="expert labels (log scale)", ylabel="mean return (10 episodes)",
                   title="Expert labels needed: behaviour cloning vs DAgger (CartPole-v1)")
    ax.set_xscale("log")
    return ax


def horizon_curves(curves: dict[str, np.ndarray], *, ylabel: str, title: str, ax: Axes | None = None) -> Axes:
    """Curves against the time step t, one per policy (e.g. ``rollouts.survival_curve``, ``mistake_curve``)."""
    ax = _axes(ax)
    for name, curve in curves.items():
        ax.plot(np.arange(len(curve)), curve, label=name)
    ax.set(title=title, xlabel="time step t", ylabel=ylabel)
    ax.legend()
    return ax


def obstacle_trajectories(rollout: obstacle.Rollout, title: str, *, max_paths: int = 50,
                          ax: Axes | None = None) -> Axes:
    """Paths of an obstacle-task rollout over the tree: successes in green, failures in red."""
    ax = _axes(ax, figsize=(4, 5))
    ax.add_patch(Circle(tuple(obstacle.OBSTACLE), obstacle.OBSTACLE_RADIUS, color="saddlebrown", alpha=0.5,
                        label="tree"))
    gate = obstacle.GATE_HALF_WIDTH
    ax.plot([-gate, gate], [obstacle.GOAL[1]] * 2, color="black", linewidth=4, label="finish gate")
    for ok, color, name in [(True, "tab:green", "success"), (False, "tab:red", "failure")]:
        for i, n in enumerate(np.flatnonzero(rollout.success[:max_paths] == ok)):
            ax.plot(rollout.obs[:, n, 0], rollout.obs[:, n, 1], color=color, alpha=0.4, linewidth=1,
                    label=name if i == 0 else None)
    ax.set(title=f"{title}: success {rollout.success.mean():.0%}", xlabel="x", ylabel="y",
           xlim=(-4, 4), ylim=(-0.5, 10.5), aspect="equal")
    ax.legend(loc="lower right", fontsize="small")
    return ax
