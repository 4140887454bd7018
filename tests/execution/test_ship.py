"""Shipping the learned policies: weights as exact JSON, the best seed on validation, and the files ship writes."""

import json

import pytest
import torch

from workbench.execution.experiments import LEARNERS, TASK_VERSION, Setting, tasks
from workbench.execution.learners import make_learner
from workbench.execution.policies import load_policy, policy_from_params, policy_params, state_from_params
from workbench.execution.ship import best_seeds, ship
from workbench.runner import Runner, cached_results


@pytest.mark.parametrize("name", ["continuous", "discrete", "hybrid", "hybrid_staged"])
def test_policy_params_survive_json_bitwise(name):
    torch.manual_seed(3)
    policy = make_learner(name, hidden=8)
    back = policy_from_params(name, json.loads(json.dumps(policy_params(policy))), hidden=8)
    a, b = policy.state_dict(), back.state_dict()
    assert list(a) == list(b)
    assert all(a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]) for k in a)  # the hybrid's bool buffer too
    assert not back.training


def test_weights_as_json_name_what_is_wrong():
    with pytest.raises(TypeError, match="policy: expected a torch.nn.Module"):
        policy_params({"a": 1})
    with pytest.raises(ValueError, match="params: expected"):
        state_from_params({"w": [1.0, 2.0]})
    with pytest.raises(ValueError, match="name.*'nope'"):
        load_policy("nope")


def test_best_seeds_take_the_lowest_validation_cost_per_learner():
    results = [{"val_cost_bps": v} for v in (0.5, -0.2, -0.2, 3.0, 1.0, 0.9)]  # 2 learners x 3 seeds
    assert best_seeds(results, ["a", "b"], [7, 8, 9]) == {"a": (8, -0.2), "b": (9, 0.9)}  # ties: the first seed
    with pytest.raises(ValueError, match="results: expected 6"):
        best_seeds(results[:5], ["a", "b"], [7, 8, 9])


def test_ship_writes_the_best_seeds_weights_and_the_run_json(tmp_path, capsys):
    tiny = Setting(train_days=1, day_seconds=300.0, test_days=1, episodes=32, seeds=2, starts_per_day=2,
                   eval_every=16, val_days=2, val_starts=2)
    runner = Runner(workers=0, cache=True, cache_dir=tmp_path / "cache")
    chosen = ship(settings=tiny, runner=runner, weights=tmp_path / "weights", json_path=tmp_path / "run.json")
    out = capsys.readouterr().out
    data = json.loads((tmp_path / "run.json").read_text())
    assert data["quick"] is False and data["setting"]["seeds"] == [0, 1]
    learned = cached_results("execution", tasks(tiny, LEARNERS, [0, 1])[1:], TASK_VERSION, tmp_path / "cache")
    for a, name in enumerate(LEARNERS):
        # the seed shipped is the one whose kept checkpoint scored lowest on the validation days
        scores = {c["seed"]: min(c["val_cost_bps"]) for c in data["curves"] if c["agent"] == name}
        seed, score = chosen[name]
        assert score == min(scores.values()) == scores[seed] == learned[2 * a + seed]["val_cost_bps"]
        assert f"{name}: shipped seed {seed} (validation cost {score:.3f} bps" in out
        # and its weights are that task's trained weights, bit for bit
        shipped = torch.load(tmp_path / "weights" / f"{name}.pt", weights_only=True)
        trained = state_from_params(learned[2 * a + seed]["weights"])
        assert list(shipped) == list(trained) and all(torch.equal(shipped[k], trained[k]) for k in trained)
    with pytest.raises(ValueError, match="runner: expected a caching Runner"):
        ship(settings=tiny, runner=Runner(workers=0, cache=False), json_path=None)
