"""Checker tests: the reference passes every case; known-wrong versions fail with a useful message."""
import numpy as np
import pytest
import torch

from rlcourse_utils import checks, imitation
from rlcourse_utils.checks import core
from mutants import assert_rejected


# Known-wrong versions (mutants) with a fragment of the message each must produce.
def bc_log_of_softmax(logits, expert_actions):
    return -torch.log(torch.softmax(logits, -1)).gather(-1, expert_actions.unsqueeze(-1)).mean()


def bc_sum(logits, expert_actions):
    return -torch.log_softmax(logits, -1).gather(-1, expert_actions.unsqueeze(-1)).sum()


def bc_detached(logits, expert_actions):
    return imitation.bc_loss(logits, expert_actions).detach()


def bc_float(logits, expert_actions):
    return imitation.bc_loss(logits, expert_actions).item()


def bc_no_sign(logits, expert_actions):
    return -imitation.bc_loss(logits, expert_actions)


def bc_keepdim(logits, expert_actions):
    return imitation.bc_loss(logits, expert_actions).reshape(1)


def dagger_replace(data_obs, data_actions, visited_obs, visited_states, expert):
    return visited_obs, expert(visited_states)


def dagger_labels_obs(data_obs, data_actions, visited_obs, visited_states, expert):
    return imitation.dagger_aggregate(data_obs, data_actions, visited_obs, visited_obs, expert)


def dagger_new_first(data_obs, data_actions, visited_obs, visited_states, expert):
    return (np.concatenate([visited_obs, data_obs]),
            np.concatenate([expert(visited_states), data_actions]))


def dagger_float_labels(data_obs, data_actions, visited_obs, visited_states, expert):
    obs, act = imitation.dagger_aggregate(data_obs, data_actions, visited_obs, visited_states, expert)
    return obs, act.astype(float)


def stack_rolls_across_episodes(obs, episode_start, k):
    frames = [np.concatenate([obs[:1].repeat(lag, 0), obs[: len(obs) - lag]]) for lag in range(k - 1, -1, -1)]
    return np.concatenate(frames, -1)


def stack_newest_first(obs, episode_start, k):
    out = imitation.stack_history(obs, episode_start, k)
    d = obs.shape[-1]
    return np.concatenate([out[..., i * d:(i + 1) * d] for i in range(k - 1, -1, -1)], -1)


def stack_wraps(obs, episode_start, k):
    return np.concatenate([np.roll(obs, lag, 0) for lag in range(k - 1, -1, -1)], -1)


def mog_naive(logits, means, log_stds, actions):
    w = torch.softmax(logits, -1)
    z = (actions.unsqueeze(-2) - means) / log_stds.exp()
    dens = torch.exp(-0.5 * z**2 - log_stds - 0.5 * np.log(2 * np.pi)).prod(-1)
    return torch.log((w * dens).sum(-1))


def mog_unweighted(logits, means, log_stds, actions):
    return imitation.mog_log_likelihood(torch.zeros_like(logits), means, log_stds, actions)


def mog_variance_as_std(logits, means, log_stds, actions):
    return imitation.mog_log_likelihood(logits, means, 2 * log_stds, actions)


def mog_mean_over_dims(logits, means, log_stds, actions):
    log_w = torch.log_softmax(logits, -1)
    z = (actions.unsqueeze(-2) - means) / log_stds.exp()
    return torch.logsumexp(log_w + (-0.5 * z**2 - log_stds - 0.5 * np.log(2 * np.pi)).mean(-1), -1)


def mog_nan(logits, means, log_stds, actions):
    return torch.full(logits.shape[:1], float("nan"), dtype=logits.dtype) + 0 * logits.sum()


def mutating(obs, episode_start, k):
    episode_start[0] = False
    return imitation.stack_history(obs, episode_start, k)


MUTANTS = [
    ("L01_bc_loss", bc_log_of_softmax, "contains inf"),
    ("L01_bc_loss", bc_sum, "expected"),
    ("L01_bc_loss", bc_detached, "cut off from autograd"),
    ("L01_bc_loss", bc_float, "should be a torch.Tensor, got a float"),
    ("L01_bc_loss", bc_no_sign, "expected"),
    ("L01_bc_loss", bc_keepdim, "has shape (1,), expected () (a scalar)"),
    ("L01_dagger_aggregate", dagger_replace, "shape"),
    ("L01_dagger_aggregate", dagger_labels_obs, "raised ValueError"),
    ("L01_dagger_aggregate", dagger_new_first, "differs at index"),
    ("L01_dagger_aggregate", dagger_float_labels, "holds floats"),
    ("L01_stack_history", stack_rolls_across_episodes, "differs at index"),
    ("L01_stack_history", stack_newest_first, "differs at index"),
    ("L01_stack_history", stack_wraps, "differs at index"),
    ("L01_stack_history", mutating, "changed its input `episode_start` in place"),
    ("L01_mog_log_likelihood", mog_naive, "inf"),
    ("L01_mog_log_likelihood", mog_unweighted, "expected"),
    ("L01_mog_log_likelihood", mog_variance_as_std, "expected"),
    ("L01_mog_log_likelihood", mog_mean_over_dims, "expected"),
    ("L01_mog_log_likelihood", mog_nan, "contains NaN"),
]


@pytest.mark.parametrize("exercise_id, mutant, fragment", MUTANTS, ids=[m[1].__name__ for m in MUTANTS])
def test_known_wrong_versions_fail_with_a_useful_message(exercise_id, mutant, fragment):
    assert_rejected(exercise_id, mutant, fragment)


def test_a_stub_is_reported_as_not_implemented(capsys):
    def bc_loss(logits, expert_actions):
        raise NotImplementedError

    checks.check("L01_bc_loss", bc_loss)
    out = capsys.readouterr().out
    assert out.startswith("… L01_bc_loss: not implemented yet") and out.count("\n") == 1


def test_a_pass_prints_one_line(capsys):
    checks.check("L01_bc_loss", imitation.bc_loss)
    assert capsys.readouterr().out == "✓ L01_bc_loss passed (5/5 cases).\n"


def test_endless_loop_is_stopped_and_reported():
    ex = checks.get("L01_bc_loss")
    fast = core.Exercise(**{**ex.__dict__, "timeout": 0.5})

    def bc_loss(logits, expert_actions):
        while True:
            try:
                pass
            except Exception:  # a student's catch-all must not swallow the stop
                pass

    result = core.run_check(fast, bc_loss)
    assert "did not return within 0.5 s" in result.line


def test_exception_reports_type_message_and_line():
    def stack_history(obs, episode_start, k):
        x = 1
        return obs[k + 100]  # IndexError on line 3 of this function

    result = core.run_check(checks.get("L01_stack_history"), stack_history)
    assert "raised IndexError" in result.line and "(line " in result.line


def test_flood_of_prints_is_captured():
    def stack_history(obs, episode_start, k):
        print("x" * 1_000_000)
        return obs

    result = core.run_check(checks.get("L01_stack_history"), stack_history)
    assert "printed 1000001 characters" in result.line and len(result.line) < 3000


def test_not_a_function():
    assert "expected the function bc_loss, got int" in core.run_check(checks.get("L01_bc_loss"), 3).line


def test_use_falls_back_to_the_reference_loudly(capsys):
    def bc_loss(logits, expert_actions):
        raise NotImplementedError

    assert checks.use("L01_bc_loss", bc_loss) is imitation.bc_loss
    out = capsys.readouterr().out
    assert "REFERENCE implementation rcu.imitation.bc_loss" in out
    assert checks.use("L01_bc_loss", bc_sum) is imitation.bc_loss


def test_use_keeps_a_correct_answer(capsys):
    def bc_loss(logits, expert_actions):
        return torch.nn.functional.cross_entropy(logits, expert_actions)

    used = checks.use("L01_bc_loss", bc_loss)
    assert used.__wrapped__ is bc_loss and used(torch.zeros(2, 3), torch.tensor([0, 1])) == bc_loss(
        torch.zeros(2, 3), torch.tensor([0, 1]))


def test_a_used_answer_that_fails_later_names_its_exercise(capsys):
    def bc_loss(logits, expert_actions):  # right on the public cases, breaks on an empty batch
        if len(logits) == 0:
            raise IndexError("index 0 is out of bounds")
        return torch.nn.functional.cross_entropy(logits, expert_actions)

    used = checks.use("L01_bc_loss", bc_loss)
    with pytest.raises(IndexError) as info:
        used(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))
    note = "\n".join(info.value.__notes__)
    assert "YOUR bc_loss (exercise L01_bc_loss)" in note and "torch array of shape (0, 3)" in note


def test_unknown_exercise_id_lists_the_known_ones():
    with pytest.raises(KeyError, match="L01_bc_loss"):
        checks.get("L01_nope")


def test_wire_roundtrip_preserves_values_and_flags():
    value = (np.array([1.0, np.nan]), torch.ones(2, requires_grad=True) * 2, 3, [np.int64(4)], None)
    back = core.decode(core.encode(value))
    assert np.isnan(back[0][1]) and back[1].has_grad_fn and back[1].array.tolist() == [2.0, 2.0]
    assert back[2] == 3 and back[3][0] == 4 and back[4] is None
    assert isinstance(core.decode(core.encode(object())), core.OtherValue)


def test_a_loss_with_the_right_value_but_the_wrong_gradient_fails():
    from rlcourse_utils import policy_gradient

    def pg_pseudo_loss(log_probs, advantages, mask=None):  # forgets to detach the weights
        weighted = log_probs * advantages
        if mask is not None:
            weighted = weighted * mask
        return -weighted.sum(0).mean()

    result = core.run_check(checks.get("L02_pg_pseudo_loss"), pg_pseudo_loss)
    assert not result.passed
    assert "the gradient of sum(result) with respect to `advantages`" in result.line
    assert "autograd would train on the wrong gradient" in result.line
    assert core.run_check(checks.get("L02_pg_pseudo_loss"), policy_gradient.pg_pseudo_loss).passed


def weighted_sum(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Σ x·w with the weights as constants."""
    return (x * w.detach()).sum()


def test_a_wrong_value_is_reported_before_a_wrong_gradient():
    def cases():
        return [core.Case((torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)), "gradient case first"),
                core.Case((torch.ones(3), torch.full((3,), 2.0)), "value case second")]

    ex = core.Exercise("L00_weighted_sum", weighted_sum, cases, cases, points=1, hint="detach w")

    def undetached_and_wrong_on_three(x, w):
        return (x * w).sum() + (len(x) == 3)

    result = core.run_check(ex, undetached_and_wrong_on_three)
    assert [r.gradient_only for r in result.results] == [True, False]
    assert "case 2/2" in result.line and "the value is right" not in result.line, result.line
    only_gradient = core.run_check(ex, lambda x, w: (x * w).sum())
    assert "case 1/2" in only_gradient.line and "the value is right" in only_gradient.line
