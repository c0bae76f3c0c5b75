"""Lecture 1 math: hand-computed values and independent formulations."""
import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from rlcourse_utils import imitation


def test_bc_loss_hand_computed():
    logits = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    expected = (np.log(2) + np.log(1 + np.exp(-2))) / 2  # 0.41003
    assert imitation.bc_loss(logits, torch.tensor([0, 0])).item() == pytest.approx(expected, rel=1e-6)


def test_bc_loss_equals_torch_cross_entropy_and_is_differentiable():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    actions = torch.randint(0, 4, (50,), generator=gen)
    loss = imitation.bc_loss(logits, actions)
    assert loss.item() == pytest.approx(torch.nn.functional.cross_entropy(logits, actions).item(), rel=1e-12)
    loss.backward()
    # d loss / d logits = (softmax - onehot) / B
    expected = (torch.softmax(logits, -1) - torch.nn.functional.one_hot(actions, 4)) / 50
    torch.testing.assert_close(logits.grad, expected.detach())


def test_bc_loss_is_stable_for_huge_logits():
    loss = imitation.bc_loss(torch.tensor([[1000.0, 0.0]]), torch.tensor([1]))
    assert loss.item() == pytest.approx(1000.0)


def test_dagger_aggregate_labels_states_with_the_expert_and_appends():
    expert = lambda s: (s[:, 1] > 0).astype(np.int64)  # noqa: E731
    obs, act = imitation.dagger_aggregate(np.zeros((2, 1)), np.array([1, 1]), np.array([[7.0], [8.0]]),
                                          np.array([[0.0, -1.0], [0.0, 1.0]]), expert)
    assert obs.tolist() == [[0.0], [0.0], [7.0], [8.0]]
    assert act.tolist() == [1, 1, 0, 1]
    assert act.dtype == np.int64


def _stack_loop(obs, starts, k):
    """Naive formulation: walk back from t, never past the episode's first step."""
    out = []
    for t in range(len(obs)):
        first = max(i for i in range(t + 1) if starts[i] or i == 0)
        out.append(np.concatenate([obs[max(t - lag, first)] for lag in range(k - 1, -1, -1)]))
    return np.array(out)


@pytest.mark.parametrize("seed", range(5))
def test_stack_history_matches_a_naive_loop(seed):
    rng = np.random.default_rng(seed)
    obs, starts = rng.normal(size=(30, 3)), rng.random(30) < 0.2
    k = int(rng.integers(1, 6))
    np.testing.assert_array_equal(imitation.stack_history(obs, starts, k), _stack_loop(obs, starts, k))


def test_stack_history_batch_axis_equals_per_env_calls():
    rng = np.random.default_rng(1)
    obs, starts = rng.normal(size=(12, 3, 2)), rng.random((12, 3)) < 0.3
    batched = imitation.stack_history(obs, starts, 3)
    for n in range(3):
        np.testing.assert_array_equal(batched[:, n], imitation.stack_history(obs[:, n], starts[:, n], 3))


def test_mog_log_likelihood_matches_scipy():
    rng = np.random.default_rng(2)
    B, K, D = 6, 3, 2
    logits, means = rng.normal(size=(B, K)), rng.normal(size=(B, K, D))
    log_stds, actions = rng.normal(-0.3, 0.3, size=(B, K, D)), rng.normal(size=(B, D))
    got = imitation.mog_log_likelihood(*map(torch.tensor, (logits, means, log_stds, actions))).numpy()
    w = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    expected = [np.log(sum(w[b, k] * multivariate_normal(means[b, k], np.diag(np.exp(2 * log_stds[b, k])))
                           .pdf(actions[b]) for k in range(K))) for b in range(B)]
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_mog_log_likelihood_does_not_underflow():
    z = torch.zeros(1, 2, 1, dtype=torch.float64)
    value = imitation.mog_log_likelihood(z[..., 0], z, z - 3.0, torch.tensor([[50.0]], dtype=torch.float64)).item()
    expected = -0.5 * (50 / np.exp(-3.0)) ** 2 + 3.0 - 0.5 * np.log(2 * np.pi)  # both components equal
    assert np.isfinite(value) and value == pytest.approx(expected, rel=1e-12)
