"""Lecture 13: the math against independent oracles, checker mutants, the environments, a smoke test."""
import numpy as np
import pytest
import torch

from rlcourse_utils import checks, transfer
from rlcourse_utils.envs.bitflip import BitFlip
from rlcourse_utils.envs.physics_cartpole import PhysicsCartPole
from mutants import assert_rejected

LEC13 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "13"]


def test_three_exercises_are_registered():
    assert {ex.id for ex in LEC13} == {"L13_randomise_physics", "L13_hindsight_relabel", "L13_distillation_loss",
                                       "L13_mmd"}


def test_references_pass_public_and_hidden_cases():
    for ex in LEC13:
        assert checks.run_check(ex, ex.reference).passed
        assert checks.run_cases(ex, ex.reference, ex.hidden()).passed


# ---------------------------------------------------------------- math against oracles

def test_distillation_loss_equals_explicit_kl_and_its_gradient():
    rng = np.random.default_rng(0)
    qt, qs = rng.normal(size=(6, 3)) * 3, rng.normal(size=(6, 3))
    tau = 0.3
    p = np.exp(qt / tau) / np.exp(qt / tau).sum(1, keepdims=True)
    q = np.exp(qs) / np.exp(qs).sum(1, keepdims=True)
    kl = np.mean([sum(p[i, a] * np.log(p[i, a] / q[i, a]) for a in range(3)) for i in range(6)])
    s = torch.tensor(qs, requires_grad=True)
    loss = transfer.distillation_loss(torch.tensor(qt), s, tau)
    loss.backward()
    assert np.isclose(loss.item(), kl)
    assert np.allclose(s.grad.numpy(), (q - p) / 6)


def test_relabelled_rewards_equal_the_environment_reward_for_that_goal():
    rng = np.random.default_rng(1)
    env = BitFlip(6, 1, rng)
    s0, _ = env.reset()
    actions = rng.integers(0, 6, size=6)
    ach = np.stack([env.step(np.array([a]))[0][0] for a in actions])  # (T, n)
    fut = np.array([rng.integers(t, 6) for t in range(6)])
    goals, rewards = transfer.hindsight_relabel(ach, fut)
    for t in range(6):  # replay the same actions with goal g'_t: the env's own reward at step t
        env2 = BitFlip(6, 1, rng)
        env2.state, env2.goal = s0.copy(), goals[t][None].copy()
        for a in actions[:t + 1]:
            _, r, _ = env2.step(np.array([a]))
        assert r[0] == rewards[t]
    assert rewards[fut == np.arange(6)].tolist() == [0.0] * int((fut == np.arange(6)).sum())


def test_log_uniform_draw_matches_its_quantiles():
    n = 200_000
    rng = np.random.default_rng(2)
    x = transfer.randomise_physics(np.zeros((n, 1)), np.ones(n, bool), rng.uniform(size=(n, 1)), np.array([0.1]),
                                   np.array([10.0]), np.array([True]))[:, 0]
    assert abs(np.mean(x < 1.0) - 0.5) < 0.005  # median of log-uniform(0.1, 10) is 1
    assert x.min() >= 0.1 and x.max() <= 10.0


def test_physics_cartpole_default_is_gymnasium_and_redraws_only_on_reset():
    import gymnasium as gym
    e, g = PhysicsCartPole(4), gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="vector_entry_point")
    e.reset(seed=3), g.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(300):
        a = rng.integers(2, size=4)
        r1, r2 = e.step(a), g.step(a)
        assert np.allclose(r1[0], r2[0]) and (r1[2] == r2[2]).all()
    d = PhysicsCartPole(8, (0.1, 0.1), (2.0, 0.1))
    d.reset(seed=0)
    before, done_seen = d.params.copy(), np.zeros(8, bool)
    for _ in range(400):
        pre = d.prev_done.copy()
        d.step(np.zeros(8, dtype=np.int64))  # always push left: episodes end fast
        done_seen |= pre
        assert np.all(d.params[~done_seen] == before[~done_seen])
    assert done_seen.all() and not np.allclose(d.params[:, 0], before[:, 0])


# ---------------------------------------------------------------- mutants

def dr_all_envs(params, reset, u, low, high, log_scale):  # resamples every env, mid-episode too
    return transfer.randomise_physics(params, np.ones_like(reset), u, low, high, log_scale)


def dr_always_uniform(params, reset, u, low, high, log_scale):
    return transfer.randomise_physics(params, reset, u, low, high, np.zeros_like(log_scale))


def dr_one_draw(params, reset, u, low, high, log_scale):  # the same physics for every env that resets
    return transfer.randomise_physics(params, reset, np.broadcast_to(u[:1], u.shape), low, high, log_scale)


def her_previous_state(achieved, future):  # compares the goal with the state BEFORE the action
    goals, _ = transfer.hindsight_relabel(achieved, future)
    prev = np.concatenate([np.zeros_like(achieved[..., :1, :]), achieved[..., :-1, :]], axis=-2)
    return goals, transfer.goal_reward(prev, goals)


def her_final_goal(achieved, future):  # "final" strategy where "future" indices were given
    T = achieved.shape[-2]
    return transfer.hindsight_relabel(achieved, np.full(np.shape(future), T - 1))


def her_positive_reward(achieved, future):  # 1 for success, 0 otherwise
    goals, r = transfer.hindsight_relabel(achieved, future)
    return goals, r + 1.0


def her_flat_index(achieved, future):  # indexes the first episode of a batch for all
    achieved = np.asarray(achieved)
    if achieved.ndim == 2:
        return transfer.hindsight_relabel(achieved, future)
    out = [transfer.hindsight_relabel(achieved[0], f) for f in np.asarray(future)]
    return np.stack([o[0] for o in out]), np.stack([o[1] for o in out])


def kd_reverse(teacher, student, tau=1.0):
    import torch.nn.functional as F
    log_p, log_q = F.log_softmax(teacher / tau, -1), F.log_softmax(student, -1)
    return (log_q.exp() * (log_q - log_p)).sum(-1).mean()


def kd_cross_entropy(teacher, student, tau=1.0):  # same gradient, value off by the teacher's entropy
    import torch.nn.functional as F
    return -(F.softmax(teacher / tau, -1) * F.log_softmax(student, -1)).sum(-1).mean()


def kd_tau_on_both(teacher, student, tau=1.0):
    return transfer.distillation_loss(teacher, student / tau, tau)


def kd_naive_log(teacher, student, tau=1.0):
    p, q = torch.softmax(teacher / tau, -1), torch.softmax(student, -1)
    return (p * (torch.log(p) - torch.log(q))).sum(-1).mean()


def kd_sum_over_states(teacher, student, tau=1.0):
    return transfer.distillation_loss(teacher, student, tau) * student.shape[0]


def kd_last_axis_mean(teacher, student, tau=1.0):  # averages only over the first axis
    import torch.nn.functional as F
    log_p, log_q = F.log_softmax(teacher / tau, -1), F.log_softmax(student, -1)
    return (log_p.exp() * (log_p - log_q)).sum(-1).mean(0).sum()


@pytest.mark.parametrize("mutant,fragment", [(dr_all_envs, "did not reset"), (dr_always_uniform, "log-uniform"),
                                             (dr_one_draw, "log-uniform")])
def test_randomise_mutants_are_rejected(mutant, fragment):
    assert_rejected("L13_randomise_physics", mutant, fragment)


@pytest.mark.parametrize("mutant,fragment", [(her_previous_state, "j_t = t"), (her_final_goal, "j_t = t"),
                                             (her_positive_reward, "j_t = t"), (her_flat_index, "batch of 4")])
def test_relabel_mutants_are_rejected(mutant, fragment):
    assert_rejected("L13_hindsight_relabel", mutant, fragment)


@pytest.mark.parametrize("mutant,fragment", [(kd_reverse, "reverse KL"), (kd_cross_entropy, "student = teacher"),
                                             (kd_tau_on_both, "TEACHER"), (kd_naive_log, "log-softmax"),
                                             (kd_sum_over_states, "B = 8"), (kd_last_axis_mean, "leading axes")])
def test_distillation_mutants_are_rejected(mutant, fragment):
    assert_rejected("L13_distillation_loss", mutant, fragment)


def _kernel(x, y, bandwidths):
    d2 = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    return sum(torch.exp(-d2 / (2 * s * s)) for s in bandwidths)


def mmd_no_factor_two(x, y, bandwidths=(1.0,)):  # cross term counted once
    return _kernel(x, x, bandwidths).mean() + _kernel(y, y, bandwidths).mean() - _kernel(x, y, bandwidths).mean()


def mmd_sigma_squared(x, y, bandwidths=(1.0,)):  # exp(−d²/σ²): the 2 dropped
    return transfer.mmd2(x, y, tuple(s / np.sqrt(2.0) for s in bandwidths))


def mmd_unbiased(x, y, bandwidths=(1.0,)):  # U-statistic: diagonal excluded
    n, m = len(x), len(y)
    kxx, kyy = _kernel(x, x, bandwidths), _kernel(y, y, bandwidths)
    off = lambda k, b: (k.sum() - k.diagonal().sum()) / max(b * (b - 1), 1)
    return off(kxx, n) + off(kyy, m) - 2 * _kernel(x, y, bandwidths).mean()


def mmd_mean_of_kernels(x, y, bandwidths=(1.0,)):  # averages the kernels instead of summing them
    return transfer.mmd2(x, y, bandwidths) / len(bandwidths)


def mmd_first_bandwidth(x, y, bandwidths=(1.0,)):
    return transfer.mmd2(x, y, bandwidths[:1])


def mmd_distance_not_squared(x, y, bandwidths=(1.0,)):
    z = torch.cat([x, y])
    d = ((z[:, None] - z[None]) ** 2).sum(-1).clamp_min(1e-30).sqrt()
    k = sum(torch.exp(-d / (2 * s * s)) for s in bandwidths)
    n = len(x)
    return k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean()


@pytest.mark.parametrize("mutant,fragment", [(mmd_no_factor_two, "≈ 1.7293"), (mmd_sigma_squared, "≈ 1.7293"),
                                             (mmd_unbiased, "≈ 1.7293"), (mmd_mean_of_kernels, "SUMMED"),
                                             (mmd_first_bandwidth, "SUMMED"), (mmd_distance_not_squared, "≈ 1.7293")])
def test_mmd_mutants_are_rejected(mutant, fragment):
    assert_rejected("L13_mmd", mutant, fragment)


def test_mmd_equals_the_explicit_double_sum_and_the_mean_embedding_limit():
    rng = np.random.default_rng(3)
    x, y, bw = rng.normal(size=(5, 3)), rng.normal(size=(7, 3)) + 0.5, (0.5, 2.0)
    k = lambda a, b: sum(np.exp(-np.sum((a - b) ** 2) / (2 * s * s)) for s in bw)
    explicit = (sum(k(a, b) for a in x for b in x) / 25 + sum(k(a, b) for a in y for b in y) / 49
                - 2 * sum(k(a, b) for a in x for b in y) / 35)
    assert np.isclose(transfer.mmd2(torch.tensor(x), torch.tensor(y), bw).item(), explicit, rtol=1e-10)
    sigma = 1000.0
    limit = np.sum((x.mean(0) - y.mean(0)) ** 2)
    assert np.isclose(sigma ** 2 * transfer.mmd2(torch.tensor(x), torch.tensor(y), (sigma,)).item(), limit, rtol=1e-4)


def test_modular_and_adaptation_smoke_deterministic():
    from rlcourse_utils.algos import domain_adapt, modular
    cfg = domain_adapt.Config(iters=20)
    a, b = domain_adapt.train(cfg, 1, "adapted"), domain_adapt.train(cfg, 1, "adapted")
    assert np.array_equal(a.losses, b.losses) and 0.0 <= a.target_accuracy <= 1.0
    m1, l1 = modular.train(modular.Config(iters=20), seed=2, runs=2)
    m2, l2 = modular.train(modular.Config(iters=20), seed=2, runs=2)
    assert np.array_equal(l1, l2) and l1.shape == (20, 2)


def test_modular_runs_side_by_side_equal_runs_alone_in_distribution():
    """Each run of a batched training gets only its own loss's gradient: zeroing run 1's data cannot change run 0."""
    from rlcourse_utils.algos import modular
    net, _ = modular.train(modular.Config(iters=1), seed=0, runs=2)
    s = torch.randn(2, 8, 2)
    r, k, run = torch.tensor([0, 0]), torch.tensor([1, 1]), torch.tensor([0, 1])
    out = net(s, r, k, run)
    (g0,) = torch.autograd.grad(out[0].sum(), [net.task.weights[0]])
    assert torch.all(g0[3:] == 0) and torch.any(g0[:3] != 0)  # run 0 touches only its own 3 task modules


# ---------------------------------------------------------------- pinned PPO settings

def test_ppo_settings_pin_every_field_of_ppo_config():
    import dataclasses
    from rlcourse_utils.algos import physics_transfer, ppo
    fields = {f.name for f in dataclasses.fields(ppo.Config)}
    assert set(physics_transfer.PPO_SETTINGS) == fields  # a new PPO field must be pinned here too
    cfg = physics_transfer.config(total_steps=1234, stop_at=None)
    assert cfg.total_steps == 1234 and cfg.stop_at is None and cfg.value_scale == 100.0 and cfg.lr == 3e-3
    with pytest.raises(TypeError):
        physics_transfer.config(learning_rate=1.0)


def test_adaptation_never_reads_the_target_labels(monkeypatch):
    """The adapted arm is the same with the target training labels scrambled; the oracle arm is not."""
    from rlcourse_utils.algos import domain_adapt
    cfg = domain_adapt.Config(iters=30)
    real = domain_adapt.data

    def scrambled(c, seed):
        d = real(c, seed)
        d["yt"] = d["yt"][torch.randperm(len(d["yt"]), generator=torch.Generator().manual_seed(0))]
        return d

    base = {arm: domain_adapt.train(cfg, 0, arm) for arm in ("adapted", "oracle")}
    monkeypatch.setattr(domain_adapt, "data", scrambled)
    other = {arm: domain_adapt.train(cfg, 0, arm) for arm in ("adapted", "oracle")}
    assert np.array_equal(base["adapted"].losses, other["adapted"].losses)
    assert not np.array_equal(base["oracle"].losses, other["oracle"].losses)


def test_modular_task_is_solvable_by_its_expert_on_every_pair():
    """The expert a* = M_r⁻¹ v_k(s) reaches g_k from every start, on held-out pairs too: the monolithic network's
    held-out failures are the network's, not the task's."""
    from rlcourse_utils.algos import modular

    class Expert(torch.nn.Module):
        def forward(self, s, r, k, run):
            return torch.as_tensor(modular.expert_action(s.numpy().astype(np.float64), r.numpy(), k.numpy()))

    for r in range(3):
        for k in range(3):
            assert modular.success_rate(Expert(), r, k) == 1.0
