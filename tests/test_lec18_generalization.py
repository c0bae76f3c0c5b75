"""Lecture 18: the math against independent oracles, checker mutants, the level generator, the agent loop."""
import numpy as np
import pytest
import scipy.stats
import torch

from rlcourse_utils import checks, generalization
from rlcourse_utils.algos import level_agent
from rlcourse_utils.envs import procgrid
from rlcourse_utils.nets import mlp
from mutants import assert_rejected

LEC18 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "18"]


def test_three_exercises_are_registered():
    assert {ex.id for ex in LEC18} == {"L18_split_levels", "L18_dihedral_augment", "L18_generalization_gap"}


def test_references_pass_public_and_hidden_cases():
    for ex in LEC18:
        assert checks.run_check(ex, ex.reference).passed
        assert checks.run_cases(ex, ex.reference, ex.hidden()).passed
        hidden = ex.hidden("another secret")
        assert len(hidden) >= 3 and checks.run_cases(ex, ex.reference, hidden).passed


# ---------------------------------------------------------------- math against oracles

def _split_oracle(keys, n_test):
    seen, test, train = set(), [], []
    for i, key in enumerate(keys):
        if key in seen:
            continue
        seen.add(key)
        (test if len(test) < n_test else train).append(i)
    return train, test


@pytest.mark.parametrize("n_keys", [3, 20, 10_000])
def test_split_levels_equals_a_plain_loop(n_keys):
    rng = np.random.default_rng(n_keys)
    keys = rng.integers(0, n_keys, size=400)
    n_test = min(3, len(set(keys.tolist())))
    train, test = generalization.split_levels(keys, n_test)
    want_train, want_test = _split_oracle(keys.tolist(), n_test)
    assert train.tolist() == want_train and test.tolist() == want_test
    assert not set(keys[train]) & set(keys[test])


def _rot_ccw(img):  # new[i, j] = old[j, V - 1 - i], written with indices, not np.rot90
    V = img.shape[-1]
    out = np.empty_like(img)
    for i in range(V):
        for j in range(V):
            out[..., i, j] = img[..., j, V - 1 - i]
    return out


def _move_turned(move, k):  # the move vector (dr, dc) turned as the image: CCW (dr, dc) -> (-dc, dr); mirror dc -> -dc
    dr, dc = move
    for _ in range(k % 4):
        dr, dc = -dc, dr
    return (dr, -dc) if k >= 4 else (dr, dc)


def test_dihedral_augment_equals_index_formulas_and_move_vectors():
    rng = np.random.default_rng(0)
    obs = rng.uniform(size=(8, 2, 5, 5))
    acts = rng.integers(0, 4, 8)
    out, out_a = generalization.dihedral_augment(obs, acts, np.arange(8))
    for k in range(8):
        want = obs[k]
        for _ in range(k % 4):
            want = _rot_ccw(want)
        want = want[..., ::-1] if k >= 4 else want
        assert np.array_equal(out[k], want)
        assert tuple(procgrid.MOVES[out_a[k]]) == _move_turned(tuple(procgrid.MOVES[acts[k]]), k)


def test_dihedral_inverse_used_by_the_agent_undoes_each_element():
    rng = np.random.default_rng(1)
    obs, acts = rng.uniform(size=(8, 1, 3, 3)), rng.integers(0, 4, 8)
    k = np.arange(8)
    inverse = np.where(k < 4, (4 - k) % 4, k)
    o1, a1 = generalization.dihedral_augment(obs, acts, k)
    o2, a2 = generalization.dihedral_augment(o1, a1, inverse)
    assert np.array_equal(o2, obs) and np.array_equal(a2, acts)


def test_transformed_levels_play_as_the_transformed_moves():
    lv, k, n = procgrid.make_levels(range(40, 48)), np.arange(8), np.arange(8)
    img = np.zeros((8, 3, 7, 7))
    img[:, 0] = lv.walls
    img[n, 1, lv.start[:, 0], lv.start[:, 1]], img[n, 2, lv.goal[:, 0], lv.goal[:, 1]] = 1.0, 1.0
    t_img, _ = generalization.dihedral_augment(img, np.zeros(8, np.int64), k)
    turned = procgrid.level_set(t_img[:, 0] > 0.5, np.argwhere(t_img[:, 1])[:, 1:], np.argwhere(t_img[:, 2])[:, 1:])
    e, e_t, rng = procgrid.ProcGrid(lv, 8), procgrid.ProcGrid(turned, 8), np.random.default_rng(2)
    o, o_t, alive = e.reset_to(n), e_t.reset_to(n), np.ones(8, bool)
    assert np.array_equal(generalization.dihedral_augment(o, np.zeros(8, np.int64), k)[0], o_t)
    for _ in range(30):
        a = rng.integers(4, size=8)
        o, r, term, trunc, _ = e.step(a)
        o_t, r_t, term_t, _, _ = e_t.step(generalization.dihedral_augment(o, a, k)[1])
        same = np.all(generalization.dihedral_augment(o, a, k)[0] == o_t, axis=(1, 2, 3))
        assert np.all(~alive | ((r == r_t) & (term == term_t) & (same | term | trunc)))
        alive &= ~(term | trunc)
    assert np.array_equal(turned.distance, lv.distance)


def test_generalization_gap_interval_equals_scipy_one_sample_t():
    rng = np.random.default_rng(3)
    for S in [2, 3, 7]:
        tr, te = rng.uniform(size=(S, 11)), rng.uniform(size=(S, 4))
        gaps = tr.mean(1) - te.mean(1)
        ci = scipy.stats.ttest_1samp(gaps, 0.0).confidence_interval(0.9)
        g, lo, hi = generalization.generalization_gap(tr, te, scipy.stats.t.ppf(0.95, S - 1))
        assert np.isclose(g, gaps.mean()) and np.isclose(lo, ci.low) and np.isclose(hi, ci.high)


def test_generalization_gap_leading_axes_and_one_seed():
    rng = np.random.default_rng(4)
    tr, te = rng.uniform(size=(4, 3, 5)), rng.uniform(size=(4, 3, 6))
    g, lo, hi = generalization.generalization_gap(tr, te, 4.303)
    for i in range(4):
        gi, li, hi_i = generalization.generalization_gap(tr[i], te[i], 4.303)
        assert np.isclose(g[i], gi) and np.isclose(lo[i], li) and np.isclose(hi[i], hi_i)
    g1, lo1, hi1 = generalization.generalization_gap(tr[:, :1], te[:, :1], 12.7)
    assert np.all(np.isneginf(lo1)) and np.all(np.isposinf(hi1)) and np.allclose(g1, tr[:, 0].mean(1) - te[:, 0].mean(1))


# ---------------------------------------------------------------- the generator and environment

def test_levels_are_deterministic_reachable_and_biased_on_request():
    a, b = procgrid.generate_level(5), procgrid.generate_level(5)
    assert np.array_equal(a.walls, b.walls) and a.start == b.start and a.goal == b.goal
    assert procgrid.level_key(a) == procgrid.level_key(b) != procgrid.level_key(procgrid.generate_level(6))
    levels = procgrid.make_levels(range(200), goal_side=-1)
    assert np.all(levels.goal[:, 1] < levels.start[:, 1]) and np.all(levels.distance >= 3)
    assert np.all(levels.walls[:, 0]) and np.all(levels.walls[:, :, -1])
    assert np.array_equal(procgrid.level_keys(levels)[:5],
                          [procgrid.level_key(procgrid.generate_level(s, goal_side=-1)) for s in range(5)])


def test_breadth_first_policy_earns_the_optimal_return_in_the_environment():
    levels = procgrid.make_levels(range(50))
    env = procgrid.ProcGrid(levels, 50)
    env.reset_to(np.arange(50))
    dist = np.stack([procgrid.distance_to_goal(w, tuple(g)) for w, g in zip(levels.walls, levels.goal)])
    got = np.full(50, np.nan)
    for _ in range(30):
        nbr = env.pos[:, None, :] + procgrid.MOVES[None]
        d = dist[np.arange(50)[:, None], nbr[..., 0], nbr[..., 1]]
        _, r, term, _, _ = env.step(np.argmin(np.where(d < 0, 99, d), axis=1))
        got = np.where(np.isnan(got) & term, r, got)
    assert np.allclose(got, procgrid.optimal_return(levels, 30))


def test_each_group_of_episodes_draws_only_from_its_own_levels():
    sets = [procgrid.make_levels([i]) for i in range(3)]
    env = procgrid.ProcGrid(sets, 4, max_steps=2, seed=0)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert np.array_equal(env.level, np.repeat([0, 1, 2], 4))
        env.step(rng.integers(4, size=12))


def test_egocentric_view_centres_the_agent_and_shows_the_goal():
    levels = procgrid.make_levels(range(10))
    env = procgrid.ProcGrid(levels, 10)
    obs = env.reset_to(np.arange(10))
    R = 4
    assert obs.shape == (10, 2, 9, 9) and np.all(obs[:, 0, R, R] == 0)  # the agent stands on a free cell
    goal_in_view = np.argwhere(obs[:, 1])[:, 1:] - R
    assert np.array_equal(goal_in_view, levels.goal - levels.start)


# ---------------------------------------------------------------- the agent loop

def test_ensemble_member_k_is_nets_mlp_under_its_seed():
    ens = level_agent.EnsembleMLP([3, 7], 10, 5, (8, 8))
    x = torch.randn(2, 4, 10)
    out = ens(x)
    for k, s in enumerate([3, 7]):
        torch.manual_seed(s)
        net = mlp(10, 5, (8, 8), torch.nn.ReLU)
        assert torch.allclose(out[k], net(x[k]), atol=1e-6)


def test_gradient_clipping_is_per_agent():
    ens = level_agent.EnsembleMLP([0, 1], 3, 2, (4,))
    x = torch.randn(2, 5, 3)
    x[1] *= 1000  # agent 1's gradient is huge, agent 0's is not
    ens(x).pow(2).sum().backward()
    g0 = [p.grad[0].clone() for p in ens.parameters()]
    level_agent._clip_per_agent(ens, 1e6)  # no clipping for agent 0 at this norm
    assert all(torch.equal(a, p.grad[0]) for a, p in zip(g0, ens.parameters()))
    level_agent._clip_per_agent(ens, 0.5)
    norms = torch.stack([sum(p.grad[k].pow(2).sum() for p in ens.parameters()).sqrt() for k in range(2)])
    assert torch.all(norms <= 0.5 + 1e-4)


def test_training_is_deterministic_and_one_level_is_learned():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the notebooks: small batched matmuls are slower on shared threads
    cfg = level_agent.Config(total_steps=4_096, n_envs=16, n_steps=16)
    levels = procgrid.make_levels([0])
    runs = [level_agent.Run(levels, 0), level_agent.Run(levels, 1, generalization.dihedral_augment)]
    a, b = level_agent.train(cfg, runs), level_agent.train(cfg, runs)
    assert np.array_equal(a.train_returns, b.train_returns, equal_nan=True)
    ret = level_agent.evaluate(a, levels, 64)
    assert ret.shape == (2, 64) and ret[0].mean() > 0.6  # memorising one level is quick
    assert np.array_equal(ret, level_agent.evaluate(b, levels, 64))
    torch.set_num_threads(threads)


def test_weight_decay_shrinks_only_its_own_agent():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    levels = procgrid.make_levels(range(8))
    cfg = level_agent.Config(total_steps=2_048, n_envs=16, n_steps=16)
    res = level_agent.train(cfg, [level_agent.Run(levels, 0), level_agent.Run(levels, 0, weight_decay=0.5)])
    norms = sum(w.detach().pow(2).flatten(1).sum(1) for w in res.model.weights)  # (2,)
    assert norms[1] < 0.5 * norms[0]
    torch.set_num_threads(threads)


def test_random_policy_evaluation_is_the_chance_level():
    levels = procgrid.make_levels(range(100, 300))
    chance = level_agent.evaluate(None, levels, 200)
    assert chance.shape == (1, 200) and 0.05 < chance.mean() < 0.3


# ---------------------------------------------------------------- mutants

def split_by_index(keys, n_test):  # seeds split, content ignored: copies of test levels train
    keys = np.asarray(keys)
    return np.arange(n_test, len(keys)), np.arange(n_test)


def split_keeps_test_copies(keys, n_test):  # dedupes the training pool, but copies of test levels stay in it
    keys = np.asarray(keys)
    _, test = generalization.split_levels(keys, n_test)
    train, seen = [], set()
    for i in range(int(test.max(initial=-1)) + 1, len(keys)):
        if keys[i] not in seen:
            seen.add(keys[i])
            train.append(i)
    return np.array(train, dtype=np.int64), test


def split_no_dedupe(keys, n_test):  # the training pool keeps repeats
    keys = np.asarray(keys)
    _, test = generalization.split_levels(keys, n_test)
    test_keys = set(keys[test].tolist())
    return np.array([i for i in range(len(keys)) if keys[i] not in test_keys], dtype=np.int64), test


def split_sorted_by_key(keys, n_test):  # np.unique's order (by key), not the stream's
    _, first = np.unique(np.asarray(keys), return_index=True)
    return first[n_test:].astype(np.int64), first[:n_test].astype(np.int64)


def aug_image_only(obs, actions, k):
    return generalization.dihedral_augment(obs, actions, k)[0], np.asarray(actions, dtype=np.int64)


def aug_clockwise_actions(obs, actions, k):
    out, _ = generalization.dihedral_augment(obs, actions, k)
    turned = (np.asarray(actions) + np.asarray(k)) % 4
    return out, np.where(np.asarray(k) >= 4, (-turned) % 4, turned).astype(np.int64)


def aug_mirror_first(obs, actions, k):  # mirror then rotate: a different element for k ≥ 4
    obs, k = np.asarray(obs), np.asarray(k)
    out = np.empty_like(obs)
    for g in range(8):
        img = obs[k == g][..., ::-1] if g >= 4 else obs[k == g]
        out[k == g] = np.rot90(img, g % 4, axes=(-2, -1))
    return out, generalization.dihedral_augment(obs, actions, k)[1]


def aug_mirror_rows(obs, actions, k):  # an up-down mirror where left-right was asked
    obs, k = np.asarray(obs), np.asarray(k)
    out = np.empty_like(obs)
    for g in range(8):
        img = np.rot90(obs[k == g], g % 4, axes=(-2, -1))
        out[k == g] = img[..., ::-1, :] if g >= 4 else img
    return out, generalization.dihedral_augment(obs, actions, k)[1]


def aug_one_k(obs, actions, k):  # the first image's element for the whole batch
    k = np.asarray(k)
    return generalization.dihedral_augment(obs, actions, np.full_like(k, k[0]))


def gap_pooled_episodes(train_returns, test_returns, t_crit):  # episodes as the independent units
    g, _, _ = generalization.generalization_gap(train_returns, test_returns, t_crit)
    tr, te = np.asarray(train_returns), np.asarray(test_returns)
    flat = lambda x: x.reshape(*x.shape[:-2], -1)
    se = np.sqrt(flat(tr).var(-1, ddof=1) / flat(tr).shape[-1] + flat(te).var(-1, ddof=1) / flat(te).shape[-1])
    return g, g - t_crit * se, g + t_crit * se


def gap_ddof0(train_returns, test_returns, t_crit):
    gaps = np.mean(train_returns, -1) - np.mean(test_returns, -1)
    half = t_crit * gaps.std(-1) / np.sqrt(gaps.shape[-1])
    return gaps.mean(-1), gaps.mean(-1) - half, gaps.mean(-1) + half


def gap_no_sqrt(train_returns, test_returns, t_crit):  # the spread of seeds, not of their mean
    gaps = np.mean(train_returns, -1) - np.mean(test_returns, -1)
    half = t_crit * gaps.std(-1, ddof=1)
    return gaps.mean(-1), gaps.mean(-1) - half, gaps.mean(-1) + half


def gap_reversed(train_returns, test_returns, t_crit):
    return generalization.generalization_gap(test_returns, train_returns, t_crit)


def gap_normal_quantile(train_returns, test_returns, t_crit):  # 1.96 whatever S
    return generalization.generalization_gap(train_returns, test_returns, 1.96)


MUTANTS = [
    ("L18_split_levels", split_by_index, "case 1/7"),
    ("L18_split_levels", split_keeps_test_copies, "case 1/7"),
    ("L18_split_levels", split_no_dedupe, "case 3/7"),
    ("L18_split_levels", split_sorted_by_key, "case 1/7"),
    ("L18_dihedral_augment", aug_image_only, "case 1/6"),
    ("L18_dihedral_augment", aug_clockwise_actions, "case 1/6"),
    ("L18_dihedral_augment", aug_mirror_first, "case 3/6"),
    ("L18_dihedral_augment", aug_mirror_rows, "case 2/6"),
    ("L18_dihedral_augment", aug_one_k, "case 3/6"),
    ("L18_generalization_gap", gap_pooled_episodes, "case 1/6"),
    ("L18_generalization_gap", gap_ddof0, "case 1/6"),
    ("L18_generalization_gap", gap_no_sqrt, "case 1/6"),
    ("L18_generalization_gap", gap_reversed, "case 1/6"),
    ("L18_generalization_gap", gap_normal_quantile, "case 1/6"),
]


@pytest.mark.parametrize("exercise_id, mutant, fragment", MUTANTS, ids=[m[1].__name__ for m in MUTANTS])
def test_known_wrong_versions_are_rejected(exercise_id, mutant, fragment):
    assert_rejected(exercise_id, mutant, fragment)
