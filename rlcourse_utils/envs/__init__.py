"""Small environments and experts the lectures need (gymnasium API).

``cartpole``: a weight-free LQR expert for CartPole-v1 and its partial observation.
``obstacle``: a 2-D point that must pass a disc on the left or on the right (multimodal demos).
"""
from rlcourse_utils.envs import (cartpole, gridworld, maze, obstacle, pendulum, tabular)
from rlcourse_utils.envs import procgrid  # Lecture 18
from rlcourse_utils.envs import bitflip, physics_cartpole  # Lecture 13

__all__ = ["cartpole", "gridworld", "maze", "obstacle", "pendulum", "tabular"]
__all__ += ["procgrid"]
__all__ += ["bitflip", "physics_cartpole"]
