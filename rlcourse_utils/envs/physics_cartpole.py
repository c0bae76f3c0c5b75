"""CartPole-v1 with per-environment physics: gymnasium's numpy-vectorised CartPoleVectorEnv, with the pole's
half-length and mass as (N,) arrays instead of scalars, optionally redrawn at every episode start.

Fixed physics (``low == high``) gives a test setting; a range gives domain randomisation (Tobin et al.
2017). The dynamics are gymnasium's own (we only replace the constants; its ``step`` broadcasts), so the
default parameters reproduce CartPole-v1 exactly. Lecture 13 §Randomised source domains.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv

from rlcourse_utils.transfer import randomise_physics

DEFAULT = (0.5, 0.1)  # gymnasium's half-length `length` (m) and `masspole` (kg)


class PhysicsCartPole(CartPoleVectorEnv):
    """N CartPoles whose (half-length, pole mass) are drawn per episode from [low, high] (log-uniform).

    Args:
        num_envs: N.
        low, high: (2,) bounds of (half-length, pole mass), or (N, 2) per env; equal bounds fix the physics.
        randomise_fn: the domain-randomisation step, ``transfer.randomise_physics`` by default.
    """

    def __init__(self, num_envs: int, low=DEFAULT, high=DEFAULT, randomise_fn: Callable = randomise_physics):
        super().__init__(num_envs=num_envs)
        self.p_low, self.p_high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        self.randomise_fn = randomise_fn
        self.phys_rng = np.random.default_rng(0)  # its own stream: fixed physics leave gymnasium's draws intact
        self.params = np.broadcast_to(self.p_low, (num_envs, 2)).copy()  # (N, 2)
        self._set(np.ones(num_envs, dtype=bool))

    def _set(self, which: np.ndarray) -> None:
        u = self.phys_rng.uniform(size=self.params.shape)
        self.params = np.asarray(self.randomise_fn(self.params, which, u, self.p_low, self.p_high,
                                                   np.array([True, True])))
        self.length, self.masspole = self.params[:, 0], self.params[:, 1]
        self.total_mass = self.masspole + self.masscart
        self.polemass_length = self.masspole * self.length

    def reset(self, *, seed=None, options=None):
        out = super().reset(seed=seed, options=options)
        if seed is not None:
            self.phys_rng = np.random.default_rng([seed, 13])
        self._set(np.ones(self.num_envs, dtype=bool))
        return out

    def step(self, action):
        if self.prev_done.any():  # these envs reset inside this step (next-step autoreset): new physics
            self._set(self.prev_done.copy())
        return super().step(action)
