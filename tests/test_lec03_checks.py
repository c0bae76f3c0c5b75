"""Lecture 3 checkers: the reference passes every case; known-wrong versions fail with a useful message."""
import numpy as np
import pytest

from rlcourse_utils import advantages, checks
from mutants import assert_rejected

LEC03 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "03"]


def test_three_exercises_are_registered():
    assert {ex.id for ex in LEC03} == {"L03_td_targets", "L03_nstep_returns", "L03_gae"}


# ---------------------------------------------------------------- known-wrong versions

def td_ignores_termination(rewards, next_values, terminated, gamma):
    return rewards + gamma * next_values


def td_masks_the_reward(rewards, next_values, terminated, gamma):
    return (1.0 - terminated) * (rewards + gamma * next_values)


def td_shifted(rewards, next_values, terminated, gamma):  # reads V one step too late
    v = np.concatenate([next_values[1:], next_values[-1:]])
    return rewards + gamma * (1.0 - terminated) * v


def td_integers(rewards, next_values, terminated, gamma):
    return advantages.td_targets(rewards, next_values, terminated, gamma).astype(np.int64)


def nstep_truncation_as_termination(rewards, next_values, terminated, truncated, gamma, n):
    done = np.asarray(terminated) | np.asarray(truncated)
    return advantages.nstep_returns(rewards, next_values, done, np.zeros_like(done), gamma, n)


def nstep_ignores_episode_ends(rewards, next_values, terminated, truncated, gamma, n):
    z = np.zeros(np.shape(rewards), dtype=bool)
    return advantages.nstep_returns(rewards, next_values, z, z, gamma, n)


def nstep_no_bootstrap_at_rollout_end(rewards, next_values, terminated, truncated, gamma, n):
    T = len(rewards)
    out = advantages.nstep_returns(rewards, next_values, terminated, truncated, gamma, n)
    t = np.arange(T).reshape((T,) + (1,) * (np.ndim(rewards) - 1))
    full = advantages.nstep_returns(rewards, np.zeros_like(next_values, dtype=float),
                                    terminated, truncated, gamma, n)
    return np.where(t + n > T, full, out)  # drops the bootstrap of sums cut by the rollout's end


def nstep_gamma_n_always(rewards, next_values, terminated, truncated, gamma, n):
    # bootstraps with γ^n even when the sum was cut after m < n steps
    r = np.asarray(rewards, dtype=float)
    T = len(r)
    done = np.asarray(terminated) | np.asarray(truncated)
    out = np.zeros_like(r)
    for t in range(T):
        g, alive = np.zeros_like(r[0]), np.ones_like(r[0])
        for k in range(n):
            i = min(t + k, T - 1)
            stop = done[i] | (k == n - 1) | (t + k >= T - 1)
            g = g + alive * gamma**k * r[i] + alive * stop * gamma**n * (1 - terminated[i]) * next_values[i]
            alive = alive * ~stop
        out[t] = g
    return out


def gae_truncation_as_termination(rewards, values, next_values, terminated, truncated, gamma, lam):
    done = np.asarray(terminated) | np.asarray(truncated)
    return advantages.gae(rewards, values, next_values, done, np.zeros_like(done), gamma, lam)


def gae_truncation_ignored(rewards, values, next_values, terminated, truncated, gamma, lam):
    return advantages.gae(rewards, values, next_values, terminated, np.zeros_like(truncated), gamma, lam)


def gae_values_shifted(rewards, values, next_values, terminated, truncated, gamma, lam):
    nv = np.concatenate([values[1:], next_values[-1:]])  # V(s_{t+1}) of the rollout, wrong across an episode end
    return advantages.gae(rewards, values, nv, terminated, truncated, gamma, lam)


def gae_no_lambda(rewards, values, next_values, terminated, truncated, gamma, lam):
    return advantages.gae(rewards, values, next_values, terminated, truncated, gamma, 1.0)


def gae_forwards(rewards, values, next_values, terminated, truncated, gamma, lam):
    deltas = advantages.gae(rewards, values, next_values, terminated, truncated, gamma, 0.0)
    not_done = 1.0 - (np.asarray(terminated) | np.asarray(truncated))
    out, running = np.zeros_like(deltas), np.zeros_like(deltas[0])
    for t in range(len(deltas)):  # accumulates the past instead of the future
        running = deltas[t] + gamma * lam * running
        out[t] = running
        running = running * not_done[t]
    return out


def gae_returns_instead(rewards, values, next_values, terminated, truncated, gamma, lam):
    return advantages.gae(rewards, values, next_values, terminated, truncated, gamma, lam) + values


def gae_lambda_without_gamma(rewards, values, next_values, terminated, truncated, gamma, lam):
    deltas = advantages.gae(rewards, values, next_values, terminated, truncated, gamma, 0.0)
    not_done = 1.0 - (np.asarray(terminated) | np.asarray(truncated))
    out, running = np.zeros_like(deltas), np.zeros_like(deltas[0])
    for t in reversed(range(len(deltas))):  # decays by λ alone, not γλ
        running = deltas[t] + lam * not_done[t] * running
        out[t] = running
    return out


def gae_one_env_only(rewards, values, next_values, terminated, truncated, gamma, lam):
    if np.ndim(rewards) > 1:  # written for (T,) arrays: a batch of envs breaks it
        raise ValueError("operands could not be broadcast together")
    return advantages.gae(rewards, values, next_values, terminated, truncated, gamma, lam)


def nstep_one_env_only(rewards, next_values, terminated, truncated, gamma, n):
    if np.ndim(rewards) > 1:
        raise ValueError("operands could not be broadcast together")
    return advantages.nstep_returns(rewards, next_values, terminated, truncated, gamma, n)


def nstep_bootstrap_gamma_k(rewards, next_values, terminated, truncated, gamma, n):
    # bootstraps with γ^(m-1) instead of γ^m: one discount short
    return advantages.nstep_returns(np.asarray(rewards) * 1.0, np.asarray(next_values) / gamma if gamma else next_values,
                                    terminated, truncated, gamma, n)


MUTANTS = [
    ("L03_td_targets", td_ignores_termination, "differs at index"),
    ("L03_td_targets", td_masks_the_reward, "differs at index"),
    ("L03_td_targets", td_shifted, "differs at index"),
    ("L03_td_targets", td_integers, "holds integers"),
    ("L03_nstep_returns", nstep_truncation_as_termination, "truncated at t=0"),
    ("L03_nstep_returns", nstep_ignores_episode_ends, "terminated at t=0"),
    ("L03_nstep_returns", nstep_no_bootstrap_at_rollout_end, "differs at index"),
    ("L03_nstep_returns", nstep_gamma_n_always, "differs at index"),
    ("L03_gae", gae_truncation_as_termination, "truncated at t=1"),
    ("L03_gae", gae_truncation_ignored, "truncated at t=1"),
    ("L03_gae", gae_values_shifted, "differs at index"),
    ("L03_gae", gae_no_lambda, "λ = 0"),
    ("L03_gae", gae_forwards, "differs at index"),
    ("L03_gae", gae_returns_instead, "differs at index"),
    ("L03_gae", gae_lambda_without_gamma, "differs at index"),
    ("L03_gae", gae_one_env_only, "raised ValueError"),
    ("L03_nstep_returns", nstep_one_env_only, "raised ValueError"),
    ("L03_nstep_returns", nstep_bootstrap_gamma_k, "differs at index"),
]


@pytest.mark.parametrize("exercise_id, mutant, fragment", MUTANTS, ids=[m[1].__name__ for m in MUTANTS])
def test_known_wrong_versions_fail_with_a_useful_message(exercise_id, mutant, fragment):
    assert_rejected(exercise_id, mutant, fragment)


