"""``rlcourse bench``: the plumbing on a tiny budget (no timing asserted), the stopping rule, the medians, the page
without SB3, and the agents taking their task as a setting."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rlcourse_utils import bench, cli
from rlcourse_utils.algos import actor_critic, ddpg, dqn, ppo, reinforce, sac, trpo

torch.set_num_threads(1)


def test_evaluate_uses_the_same_starts_and_counts_each_episode_once():
    # CartPole with a constant push ends in ~10 steps; a finished copy's later (autoreset) steps must not count
    always_left = lambda obs: np.zeros(len(obs), dtype=np.int64)  # noqa: E731
    a = bench.evaluate(always_left, "CartPole-v1", seed=7)
    assert a == bench.evaluate(always_left, "CartPole-v1", seed=7)
    assert 7 <= a <= 12  # 500 (or 10 × the steps of the longest episode) if padding were counted
    # oracle: the same 10 episodes played one at a time on single environments
    import gymnasium as gym

    env = gym.make_vec("CartPole-v1", num_envs=10, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=7)
    single = []
    for i in range(10):
        e = gym.make("CartPole-v1")
        e.reset()
        e.unwrapped.state = obs[i].astype(np.float64)
        total, done = 0.0, False
        while not done:
            _, r, term, trunc, _ = e.step(0)
            total, done = total + r, term or trunc
        single.append(total)
    assert a == pytest.approx(np.mean(single))


def test_recorder_evaluates_on_the_grid_stops_at_the_threshold_and_excludes_evaluation_time():
    b = bench.BENCHES["ppo"]
    rec = bench.Recorder(b, seed=0, max_seconds=1e9)
    rec.begin()
    slow_left = lambda obs: (sum(range(20_000)), np.zeros(len(obs), dtype=np.int64))[1]  # noqa: E731  costly eval
    assert rec(2_000, slow_left) is False and rec.curve == []  # before the first 2,500 steps: no evaluation
    assert rec(2_600, slow_left) is False  # return ~10 < 475
    assert rec(4_000, slow_left) is False and len(rec.curve) == 1  # next evaluation at 5,000, not 4,000
    assert rec(7_600, slow_left) is False and rec.next_eval == 10_000  # one evaluation for a long stride
    assert [p[0] for p in rec.curve] == [2_600, 7_600]
    assert rec.training_seconds() < rec.eval_seconds  # the evaluations' CPU time is not training time
    easy = bench.Recorder(bench.BENCHES["dqn@acrobot"], seed=0, max_seconds=1e9)  # Acrobot: -500 per failure
    easy.begin()
    assert easy(2_500, lambda obs: np.zeros(len(obs), dtype=np.int64)) is False  # never swings up: -500
    assert easy.reached is None
    cap = bench.Recorder(b, seed=0, max_seconds=0.0)
    cap.begin()
    assert cap(2_500, slow_left) is True and cap.reached is None  # over the time cap: stopped, not reached


def test_medians_count_a_missed_run_as_infinitely_slow():
    assert bench.median_or_none([3.0, None, 1.0]) == 3.0
    assert bench.median_or_none([None, None, 1.0]) is None
    assert bench.median_or_none([4.0, 2.0]) == 3.0


def test_ppo_and_dqn_take_acrobot_and_td3_takes_mountaincar_as_a_setting():
    seen = []
    r = ppo.train(ppo.Config(env_id="Acrobot-v1", total_steps=1_024, stop_at=None), seed=0,
                  callback=lambda steps, act: seen.append((steps, act(np.zeros((5, 6), np.float32)))) and False)
    assert r.model.policy(torch.zeros(1, 6)).shape == (1, 3)  # Acrobot: 6 observations, 3 actions
    assert [s for s, _ in seen] == list(range(16, 1_025, 16)) and seen[0][1].shape == (5,)  # every vector step
    stop = lambda steps, act: steps >= 400  # noqa: E731  a callback that stops the run
    q = dqn.train(dqn.Config(env_id="Acrobot-v1", total_steps=2_000, learning_starts=200, eval_every=10**9),
                  seed=0, callback=stop)
    # 2 updates per vector step of 4 envs from step 200 to the stop at 400: 51 vector steps
    assert q.model(torch.zeros(1, 6)).shape == (1, 3) and len(q.loss) == 2 * 51
    actions = []
    td3 = ddpg.train(ddpg.Config(env_id="MountainCarContinuous-v0", total_steps=600, learning_starts=200,
                                 eval_every=600, eval_episodes=1), seed=0,
                     callback=lambda steps, act: actions.append(act(np.array([[-0.5, 0.0]], np.float32))) and False)
    assert td3.actor.max_action == 1.0 and np.all(np.abs(actions) <= 1.0)  # MountainCarContinuous: |a| ≤ 1
    assert td3.eval_return.shape == (1,)
    pol = reinforce.train(reinforce.Config(env_id="Acrobot-v1", total_steps=1_000, n_envs=2, eval_episodes=1), 0)
    assert pol.policy(torch.zeros(1, 6)).shape == (1, 3)
    s = sac.train(sac.Config(total_steps=300, learning_starts=200, eval_every=10**9), seed=0,
                  callback=lambda steps, act: steps >= 250)
    assert len(s.alpha) == 50


@pytest.mark.parametrize("agent", ["a2c", "ppo", "trpo", "reinforce"])
def test_on_policy_agents_call_back_every_vector_step_and_stop_mid_rollout(agent):
    """SB3 calls its callback after every vector step, so the benchmark's evaluations land on the same step counts;
    the course's on-policy agents do the same, and a True from the callback ends the run inside a rollout."""
    train, cfg, n = {"a2c": (actor_critic.train, actor_critic.Config(total_steps=2_000, stop_at=None), 8),
                     "ppo": (ppo.train, ppo.Config(total_steps=2_000, stop_at=None), 16),
                     "trpo": (trpo.train, trpo.Config(total_steps=2_000), 8),
                     "reinforce": (reinforce.train, reinforce.Config(total_steps=2_000, eval_episodes=1), 8)}[agent]
    seen, probe = [], np.zeros((3, 4), np.float32)
    train(cfg, 0, callback=lambda steps, act: seen.append((steps, act(probe))) or steps >= 300)
    steps = [s for s, _ in seen]
    assert steps[-1] >= 300 and all(s < 300 for s in steps[:-1])  # stopped at the first call past 300
    assert all(0 < b - a <= n for a, b in zip(steps, steps[1:]))  # every vector step (real steps for REINFORCE)
    if agent != "reinforce":
        assert steps == list(range(n, steps[-1] + 1, n)) and steps[-1] < 300 + n
    assert seen[0][1].shape == (3,) and set(np.concatenate([a for _, a in seen]).tolist()) <= {0, 1}


def _bench_cli(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rlcourse_utils.cli", "bench", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)


def test_bench_command_writes_the_page_plot_and_numbers_on_a_tiny_budget(tmp_path):
    if os.environ.get("CI"):
        assert bench.sb3_versions() is not None, "the test suite installs the [bench] extra (course.py)"
    out = tmp_path / "docs" / "b.md"
    code = cli.main(["bench", "ppo", "double_dqn", "ppo@acrobot", "--seeds", "3", "4", "--steps", "2600",
                     "--out", str(out), "--jobs", "2"])
    assert code == 0
    page, raw = out.read_text(), json.loads(out.with_suffix(".json").read_text())
    assert out.with_suffix(".png").stat().st_size > 10_000
    assert "Budgets were cut to 2,600 steps" in page and "## Machine" in page and "Load average" in page
    assert "| PPO (Lecture 6) | CartPole-v1 (475) | PPO |" in page and "Acrobot-v1 (-100)" in page
    rows = {(r["bench"], r["seed"]): r for r in raw["rows"]}
    assert set(rows) == {(n, s) for n in ("ppo", "double_dqn", "ppo@acrobot") for s in (3, 4)}
    assert rows["ppo", 3]["first"] == "course" and rows["ppo", 4]["first"] == ("sb3" if bench.sb3_versions() else
                                                                                "course")
    for r in raw["rows"]:
        (steps, _, _), = r["course"]["curve"]  # one evaluation, at the first update past 2,500 steps
        assert 2_500 <= steps < 2_500 + 512
        assert r["course"]["total_steps"] <= 2_600 + 512 and r["course"]["total_seconds"] > 0
        if bench.BENCHES[r["bench"]].sb3_algo and bench.sb3_versions():
            assert r["sb3"]["curve"] and r["sb3"]["curve"][0][0] >= 2_500
        else:
            assert r["sb3"] is None
    if bench.sb3_versions():
        assert "stable-baselines3 2." in page and "SB3 has no double DQN" in page


def test_without_sb3_the_course_side_still_runs_and_the_page_says_so(tmp_path):
    shadow = tmp_path / "shadow" / "stable_baselines3"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('stable-baselines3 is not installed (test shadow)')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(shadow.parent), *sys.path]))
    done = _bench_cli(tmp_path, "dqn", "--seeds", "0", "--steps", "2500", "--out", "page.md", env=env)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "page.md").read_text()
    assert "**Stable-Baselines3 was missing**" in page and "stable-baselines3 missing" in page
    assert "| DQN (Lecture 5) | CartPole-v1 (475) | DQN (not run) |" in page
    row = json.loads((tmp_path / "page.json").read_text())["rows"][0]
    assert row["sb3"] is None and row["course"]["curve"][0][0] == 2_500


def test_bench_rejects_an_unknown_row(capsys):
    assert cli.main(["bench", "ppo", "rainbow"]) == 2
    assert "no benchmark rainbow" in capsys.readouterr().err


def test_merge_replaces_only_the_rerun_rows_and_the_page_says_so(tmp_path):
    run = lambda name, steps: {"bench": name, "seed": 0, "first": "course", "sb3": None,  # noqa: E731
                               "course": {"reached": True, "steps": steps, "seconds": 1.0, "total_steps": steps,
                                          "total_seconds": 1.0, "wall_seconds": 1.0, "steps_per_second": steps,
                                          "curve": [[steps, 1.0, 500.0]]}}
    machine = dict(bench.machine_facts(), load_average_end=(0.0, 0.0, 0.0))
    base = {"names": ["ppo", "a2c"], "seeds": [0], "steps_cap": None, "max_seconds": 300.0, "jobs": 1,
            "machine": machine, "rows": [run("ppo", 1), run("a2c", 2)], "date": "then",
            "suite_wall_seconds": 60.0, "suite_cpu_seconds": 60.0, "command": "rlcourse bench ppo a2c --seeds 0"}
    new = dict(base, names=["ppo"], rows=[run("ppo", 3)], date="now")
    merged = bench.merge(base, new)
    assert sorted((r["bench"], r["course"]["steps"]) for r in merged["rows"]) == [("a2c", 2), ("ppo", 3)]
    assert merged["suite_wall_seconds"] == 120.0 and merged["names"] == ["ppo", "a2c"]
    with pytest.raises(ValueError):
        bench.merge(base, dict(new, seeds=[1]))
    bench.write_page(merged, tmp_path / "p.md", merged["command"])
    page = (tmp_path / "p.md").read_text()
    assert "**Rerun**: the row ppo was run again on now" in page and "rlcourse bench ppo a2c --seeds 0" in page
    # --rewrite writes the page again from the numbers alone (no run): the text follows the page writer
    (tmp_path / "p.md").write_text("stale")
    assert cli.main(["bench", "--rewrite", "--out", str(tmp_path / "p.md")]) == 0
    assert "**Rerun**: the row ppo was" in (tmp_path / "p.md").read_text()
    # a second rerun of ppo: the first rerun's line says its ppo numbers were replaced
    twice = bench.merge(merged, dict(new, rows=[run("ppo", 4)], date="later"))
    bench.write_page(twice, tmp_path / "p.md", twice["command"])
    page = (tmp_path / "p.md").read_text()
    assert "run again on now" in page and "; ppo again later, below." in page and "run again on later" in page
    assert page.count("Rows not named in a rerun are from the first run.") == 1


def test_a_row_that_meets_both_medians_but_misses_more_seeds_than_sb3_is_listed_as_behind(tmp_path):
    def side(steps, seconds):
        reached = steps is not None
        return {"reached": reached, "steps": steps, "seconds": seconds, "total_steps": steps or 50_000,
                "total_seconds": seconds or 40.0, "wall_seconds": seconds or 40.0, "steps_per_second": 1_000.0,
                "curve": [[steps or 50_000, seconds or 40.0, 500.0 if reached else 100.0]]}

    rows = []
    for seed, (dqn_steps, ppo_steps) in enumerate([(10_000, 5_000), (None, 5_000), (20_000, 5_000)]):
        sb3 = side(20_000, 40.0)
        rows += [{"bench": "dqn", "seed": seed, "first": "course", "sb3": sb3,
                  "course": side(dqn_steps, dqn_steps and dqn_steps / 1_000)},
                 {"bench": "ppo", "seed": seed, "first": "course", "sb3": sb3, "course": side(ppo_steps, 1.0)}]
    machine = dict(bench.machine_facts(), load_average_end=(0.0, 0.0, 0.0),
                   sb3={"stable-baselines3": "2.x", "sb3-contrib": "2.x"})
    results = {"names": ["ppo", "dqn"], "seeds": [0, 1, 2], "steps_cap": None, "max_seconds": 300.0, "jobs": 1,
               "machine": machine, "rows": rows, "date": "now", "suite_wall_seconds": 1.0, "suite_cpu_seconds": 1.0}
    (dqn_row,) = [s for s in bench.summarise(results) if s["name"] == "dqn"]
    assert dqn_row["steps_ratio"] == 1.0 and dqn_row["time_ratio"] == 0.5 and dqn_row["course_missed"] == 1
    bench.write_page(results, tmp_path / "p.md", "rlcourse bench ppo dqn")
    behind = (tmp_path / "p.md").read_text().split("## Where the course is behind")[1].split("\n## ")[0]
    assert "not reached on 1 of 3 seeds (SB3 on 0), though both medians meet the bars" in behind
    assert "DQN (Lecture 5)" in behind and "PPO (Lecture 6)" not in behind


def test_with_no_row_behind_the_page_still_names_the_caveats_and_the_missed_course_alone_rows(tmp_path):
    def side(steps):
        return {"reached": steps is not None, "steps": steps, "seconds": 1.0 if steps else None,
                "total_steps": steps or 20_000, "total_seconds": 1.0, "wall_seconds": 1.0, "steps_per_second": 1_000.0,
                "curve": [[steps or 20_000, 1.0, 500.0 if steps else 0.0]]}

    sb3 = dict(side(20_000), seconds=10.0)
    rows = [{"bench": "dqn", "seed": 0, "first": "course", "sb3": sb3, "course": side(10_000)},
            {"bench": "td3@mountaincar", "seed": 0, "first": "course", "sb3": None, "course": side(None)}]
    machine = dict(bench.machine_facts(), load_average_end=(0.0, 0.0, 0.0),
                   sb3={"stable-baselines3": "2.x", "sb3-contrib": "2.x"})
    results = {"names": ["dqn", "td3@mountaincar"], "seeds": [0], "steps_cap": None, "max_seconds": 300.0,
               "jobs": 1, "machine": machine, "rows": rows, "date": "now", "suite_wall_seconds": 1.0,
               "suite_cpu_seconds": 1.0}
    bench.write_page(results, tmp_path / "p.md", "rlcourse bench dqn td3@mountaincar")
    behind = (tmp_path / "p.md").read_text().split("## Where the course is behind")[1].split("\n## ")[0]
    assert "no row misses a bar" in behind
    assert f"**DQN (Lecture 5)**: {bench.CAVEATS['dqn']}" in behind  # its 5-step targets, said where it is behind
    assert "**TD3, defaults, on MountainCarContinuous-v0**: not reached on 1 of 1 seeds" in behind
