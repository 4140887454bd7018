"""Reproduce the claim of Pan et al. (IJCAI 2022) on synthetic stocks and the real LOBSTER sample.

Setting (the paper trains on CSI 300 snapshots, which are not public; see the research notes): sell a
parent order of 5 % of the stock's expected traded volume over the horizon, within 10 steps of 20 s,
TWAP-sized child orders whose limit price the agent chooses. Learning agents (continuous, discrete,
hybrid) are trained with PPO on days of three synthetic stocks with different tick sizes, price levels
and liquidity (the weights kept are the best on separate validation days), then evaluated greedily on
held-out days of those stocks (``held_out_days``), on six held-out stocks blended between them
(``held_out_stocks``: :func:`~workbench.execution.synthetic.blend_stock`, inside the training range), on
a thin, volatile stock outside that range (``out_of_range_stock``: a stress test), and on the real AAPL
sample's replay (10 steps of 4.5 s, 300 shares). Baselines: TWAP and VWAP schedules with market orders,
and fixed-offset limit orders. The checkpoint kept is the one with the lowest markout cost on the validation
days (the shortfall without the drift on the inventory held, whose expectation it shares; see
:class:`~workbench.execution.env.ExecutionEnv`).

``reproduce`` is what the CLI prints and the notebook shows.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import torch

from workbench.data import DataNotFoundError
from workbench.execution.agents import FixedOffsetAgent, QuoteImprovingAgent, TWAPAgent, VWAPAgent
from workbench.execution.env import ExecutionEnv
from workbench.execution.learners import make_learner
from workbench.execution.market import MarketDay
from workbench.execution.policies import policy_params
from workbench.execution.ppo import PPOConfig, evaluate, train
from workbench.execution.research.hybrid_variants import VARIANTS
from workbench.execution.results_tables import markdown_tables
from workbench.execution.synthetic import STOCKS, SyntheticStock, blend_stock, simulate_day
from workbench.report import Report
from workbench.runner import Runner, Task

__all__ = ["Setting", "QUICK", "FULL", "TASK_VERSION", "LEARNERS", "tasks", "learner_task", "baselines_task",
           "TrainingSetup", "task_env", "real_env", "reproduce", "evaluation_sets", "episode_starts", "synthetic_days",
           "real_day", "parent_volume", "held_out_stocks", "stock_named", "synthetic_stocks", "training_stocks",
           "markdown_tables"]

TRAIN_STOCKS = ("large_tick", "mid_tick", "small_tick")
HELD_OUT_BLENDS = tuple(range(6))  # blend_stock seeds: new stocks inside the training range
OUT_OF_RANGE_STOCK = "illiquid"  # thinner and more volatile than every training stock
STEPS, STEP_SECONDS = 10, 20.0
PARTICIPATION = 0.05  # parent order as a share of the expected traded volume over the horizon
TRAIN_REWARD = "markout"  # fills against the step-end mid: unbiased for the shortfall, without the drift's noise
# model selection scores the same drift-free cost: with raw shortfall, the fixed validation days' trends chose, for
# every seed alike, whichever checkpoint rested deeper on the days that happened to trend our way
VAL_METRIC = "markout_cost_bps"


@dataclass(frozen=True)
class Setting:
    """How much to simulate and train: ``train_days`` simulated days of ``day_seconds`` per training stock,
    ``episodes`` PPO episodes per learner and seed (``seeds`` seeds), a validation score every ``eval_every``
    episodes on ``val_days`` days (``val_starts`` episodes each), and ``test_days`` days per evaluated stock with
    ``starts_per_day`` episodes each."""

    train_days: int
    day_seconds: float
    test_days: int
    episodes: int
    seeds: int
    starts_per_day: int
    eval_every: int
    val_days: int
    val_starts: int

    def __post_init__(self):
        for name, v in asdict(self).items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                raise ValueError(f"{name}: expected a positive number, got {v!r}")


# evaluation episodes are cheap (milliseconds) and a 200 s episode's shortfall moves by ~10 bps with the market,
# so effects of ~1 bps need hundreds of them. They must also span many days: overlapping windows of one day
# share its drift, and a day that trends rewards whichever agent rests deeper (with 2 test days per stock,
# resting 4 ticks behind the touch looked 6 bps cheaper than TWAP on one held-out stock, and was 0.7 bps
# dearer over 12 other days). Hence 12 test days per stock, 25 starts each (windows overlap about threefold).
QUICK = Setting(train_days=1, day_seconds=600.0, test_days=1, episodes=192, seeds=1, starts_per_day=12, eval_every=96,
                val_days=2, val_starts=6)
FULL = Setting(train_days=4, day_seconds=1800.0, test_days=12, episodes=3200, seeds=5, starts_per_day=25,
               eval_every=320, val_days=8, val_starts=25)
VAL_SECONDS = 600.0


def parent_volume(day: MarketDay) -> int:
    """5 % of the day's average traded volume over one horizon, in whole lots of 100 (at least 100)."""
    m = day.messages
    traded = m.size[(m.type == 4) | (m.type == 5)].sum()
    per_horizon = traded / max(day.end - day.start, 1e-9) * STEPS * STEP_SECONDS
    return max(100, int(round(PARTICIPATION * per_horizon / 100)) * 100)


@lru_cache(maxsize=128)
def _day(stock: str | SyntheticStock, seed: int, seconds: float) -> MarketDay:
    return MarketDay.from_synthetic(simulate_day(stock, seed=seed, seconds=seconds))


def synthetic_days(stock: str | SyntheticStock, seeds, seconds: float) -> list[MarketDay]:
    """Simulated days (cached per process) of one synthetic stock (a name in ``STOCKS`` or a stock)."""
    if isinstance(stock, str):  # one cache entry per stock, however it is named
        stock = STOCKS.get(stock, stock)
    return [_day(stock, int(s), float(seconds)) for s in seeds]


def held_out_stocks() -> list[SyntheticStock]:
    """The six held-out stocks: blends of two training archetypes each (``blend_stock(seed)``)."""
    return [blend_stock(s, archetypes=TRAIN_STOCKS) for s in HELD_OUT_BLENDS]


def training_stocks(blends: int = 0) -> list[str | SyntheticStock]:
    """The training universe: the three archetypes, plus ``blends`` blended stocks (seeds 10, 11, ...), skipping
    any whose tick in bps is within 5 % of a held-out stock's, so that the held-out stocks stay new."""
    if not isinstance(blends, int) or blends < 0:
        raise ValueError(f"train_blends: expected a non-negative integer, got {blends!r}")
    held = held_out_stocks()
    out: list[str | SyntheticStock] = list(TRAIN_STOCKS)
    seed = 10
    while len(out) < len(TRAIN_STOCKS) + blends:
        b = blend_stock(seed, archetypes=TRAIN_STOCKS)
        if all(abs(b.tick_bps / h.tick_bps - 1) > 0.05 for h in held):
            out.append(b)
        seed += 1
    return out


def _name(stock: str | SyntheticStock) -> str:
    return stock if isinstance(stock, str) else stock.name


def synthetic_stocks() -> dict[str, SyntheticStock]:
    """Every named synthetic stock: the archetypes of ``STOCKS``, then the held-out blends (``blend_0`` ...)."""
    return {**STOCKS, **{s.name: s for s in held_out_stocks()}}


def stock_named(name: str) -> SyntheticStock:
    """A synthetic stock by name (one of :func:`synthetic_stocks`)."""
    stocks = synthetic_stocks()
    if name not in stocks:
        raise ValueError(f"stock: expected one of {sorted(stocks)}, got {name!r}")
    return stocks[name]


def real_day() -> MarketDay:
    """The real AAPL LOBSTER sample (found through ``workbench.data``)."""
    from workbench.data import find

    folder = find("lobster")
    prefix = "AAPL_2012-06-21_34200000_57600000_"
    return MarketDay.from_lobster(folder / f"{prefix}message_10.csv", folder / f"{prefix}orderbook_10.csv",
                                  name="AAPL 2012-06-21 (real, LOBSTER sample)")


def episode_starts(env: ExecutionEnv, starts_per_day: int) -> list[dict]:
    """``starts_per_day`` evenly spaced episodes per day of ``env``, from the session's start to the last start
    that leaves a whole horizon: ``[{"day": k, "start": seconds}, ...]``, the ``options`` of ``env.reset``."""
    horizon = env.steps * env.step_seconds
    out = []
    for k, d in enumerate(env.days):
        for s in np.linspace(d.session_start, d.end - horizon, starts_per_day):
            out.append({"day": k, "start": float(s)})
    return out


def task_env(days, reward: str = "arrival") -> ExecutionEnv:
    """The execution task on ``days``: sell :func:`parent_volume` in ``STEPS`` steps of ``STEP_SECONDS``."""
    return ExecutionEnv(days, side=-1, volume=parent_volume, steps=STEPS, step_seconds=STEP_SECONDS, reward=reward)


def real_env() -> ExecutionEnv:
    """The task on the real AAPL sample (49 s of data): sell 300 shares in ``STEPS`` steps of 4.5 s."""
    return ExecutionEnv(real_day(), side=-1, volume=300, steps=STEPS, step_seconds=4.5)


class TrainingSetup:
    """What the learners train and are selected on, for a :class:`Setting` and the training stocks.

    ``train_days`` (``cfg.train_days`` days of each stock) in ``train_env`` (reward ``TRAIN_REWARD``), and the
    validation days in ``val_env`` with ``val_episodes``: many short days (seeds 50+, disjoint from training
    and test days), so that no single day's trend decides which checkpoint is kept; their total stays about
    the same however many stocks train.
    """

    def __init__(self, cfg: Setting, train_stocks):
        self.cfg = cfg
        self.train_days = [d for s in train_stocks for d in synthetic_days(s, range(cfg.train_days), cfg.day_seconds)]
        self.train_env = task_env(self.train_days, reward=TRAIN_REWARD)
        n_val = max(2, round(cfg.val_days * len(TRAIN_STOCKS) / len(train_stocks)))
        val_days = [d for s in train_stocks for d in synthetic_days(s, range(50, 50 + n_val), VAL_SECONDS)]
        self.val_env = task_env(val_days)
        self.val_episodes = episode_starts(self.val_env, cfg.val_starts)

    def train(self, policy, seed: int, episodes: int | None = None, **curve):
        """PPO on the training env for ``episodes`` (default ``cfg.episodes``), keeping the checkpoint with the
        lowest ``VAL_METRIC`` on the validation episodes; ``curve``: :func:`~workbench.execution.ppo.train`'s
        ``eval_episodes``, ``eval_env``, ``progress``."""
        config = PPOConfig(episodes=episodes or self.cfg.episodes, eval_every=self.cfg.eval_every)
        return train(policy, self.train_env, config, seed=seed, val_episodes=self.val_episodes, val_env=self.val_env,
                     val_metric=VAL_METRIC, **curve)


def evaluation_sets(cfg: Setting, train_stocks=TRAIN_STOCKS) -> dict[str, list[MarketDay]]:
    """The synthetic test days (seeds 100+, never trained on): ``held_out_days`` of the training stocks,
    ``held_out_stocks`` (each held-out stock's days in turn) and ``out_of_range_stock``."""
    seeds = range(100, 100 + cfg.test_days)
    return {
        "held_out_days": [d for s in train_stocks for d in synthetic_days(s, seeds, cfg.day_seconds)],
        "held_out_stocks": [d for s in held_out_stocks() for d in synthetic_days(s, seeds, cfg.day_seconds)],
        "out_of_range_stock": synthetic_days(OUT_OF_RANGE_STOCK, seeds, cfg.day_seconds),
    }


def _baselines(train_days) -> list:
    return [TWAPAgent(), VWAPAgent().fit(train_days, STEPS, STEP_SECONDS), FixedOffsetAgent(0),
            FixedOffsetAgent(-1), FixedOffsetAgent(1), QuoteImprovingAgent()]


LEARNERS = ("continuous", "discrete", "hybrid")  # trained by default; ``only`` may also name VARIANTS


#: the results of these tasks change when this changes (the runner's cache key); 2: learner_task returns the trained
#: policy's weights and its validation score
TASK_VERSION = 2
TASKS = "workbench.execution.experiments"


def _evaluation(cfg: Setting, train_blends: int):
    """The evaluation envs and their episodes (``real_aapl`` when the LOBSTER sample is found), and why not."""
    eval_envs = {name: task_env(days) for name, days in evaluation_sets(cfg, training_stocks(train_blends)).items()}
    real_error = None
    try:
        eval_envs["real_aapl"] = real_env()
    except DataNotFoundError as e:  # the real sample is optional: say so in the notes
        real_error = str(e)
    eval_eps = {name: episode_starts(env, cfg.starts_per_day if name != "real_aapl" else 5)
                for name, env in eval_envs.items()}
    return eval_envs, eval_eps, real_error


def _curve_episodes(eval_eps) -> list[dict]:
    """The held-out-day episodes the training curves are scored on (about 300)."""
    eps = eval_eps["held_out_days"]
    return eps[:: max(1, len(eps) // 300)]


def baselines_task(setting: dict, train_blends: int) -> dict:
    """Every baseline agent on every evaluation set: ``{"shortfall": {agent: {eval: [bps per episode]}}, "pa": ...,
    "real_error": why the real sample is missing, or null}``."""
    cfg = Setting(**setting)
    setup_days = [d for s in training_stocks(train_blends) for d in synthetic_days(s, range(cfg.train_days),
                                                                                     cfg.day_seconds)]
    eval_envs, eval_eps, real_error = _evaluation(cfg, train_blends)
    shortfall, pa = {}, {}
    for agent in _baselines(setup_days):
        for name, env in eval_envs.items():
            m = evaluate(agent, env, eval_eps[name])
            shortfall.setdefault(agent.name, {})[name] = [x["shortfall_bps"] for x in m]
            pa.setdefault(agent.name, {})[name] = [x["pa_twap_bps"] for x in m]
    return {"shortfall": shortfall, "pa": pa, "real_error": real_error}


def learner_task(agent: str, seed: int, setting: dict, train_blends: int) -> dict:
    """Train one learned agent with PPO (seeded: it repeats exactly) and evaluate it greedily on every evaluation
    set: ``{"curve": the validation and held-out curves over training, "shortfall": {eval: [bps per episode]},
    "pa": {eval: [...]}, "val_cost_bps": the validation cost of the weights kept (the lowest of the curve's),
    "weights": the trained policy's state dict (:func:`~workbench.execution.policies.policy_params`, exact)}``."""
    cfg = Setting(**setting)
    setup = TrainingSetup(cfg, training_stocks(train_blends))
    eval_envs, eval_eps, _ = _evaluation(cfg, train_blends)
    torch.manual_seed(seed)
    policy = make_learner(agent)
    curve = setup.train(policy, seed, eval_episodes=_curve_episodes(eval_eps), eval_env=eval_envs["held_out_days"])
    shortfall, pa = {}, {}
    for name, env in eval_envs.items():
        m = evaluate(policy, env, eval_eps[name])
        shortfall[name] = [x["shortfall_bps"] for x in m]
        pa[name] = [x["pa_twap_bps"] for x in m]
    return {"curve": {"episodes": curve.episodes, "shortfall_bps": curve.shortfall_bps,
                      "val_cost_bps": curve.val_cost_bps, "selected_at": curve.selected_at},
            "shortfall": shortfall, "pa": pa, "val_cost_bps": min(curve.val_cost_bps),
            "weights": policy_params(policy)}


def tasks(cfg: Setting, learners, seeds: list[int], train_blends: int = 0) -> list[Task]:
    """The baselines' evaluation, then one task per learned agent and seed."""
    common = {"setting": asdict(cfg), "train_blends": train_blends}
    return [Task(f"{TASKS}:baselines_task", common)] + [
        Task(f"{TASKS}:learner_task", {"agent": a, "seed": s, **common}) for a in learners for s in seeds]


def reproduce(quick: bool = False, seed: int = 0, progress: Callable | None = None, train_blends: int = 0,
              only: list[str] | None = None, settings: Setting | None = None, runner: Runner | None = None) -> Report:
    """Train and evaluate every agent; see the module docstring.

    Args:
        quick: :data:`QUICK`: one short training day per stock, 192 PPO episodes, 1 seed (well under a minute), in
            this process; the full run (:data:`FULL`) uses 4 days of 30 min per stock, 3,200 episodes and 5 seeds,
            one task per learner and seed on ``runner`` (default: a Dask LocalCluster, cached under
            ``WORKBENCH_CACHE``, so a run resumes).
        train_blends: also train on this many blended stocks (:func:`training_stocks`; a robustness check of
            the comparison: more diverse training). Validation days per stock shrink so that their total
            stays about the same; held-out days cover every training stock.
        only: the learned agents to train (``--only`` on the command line), default ``continuous``, ``discrete``
            and ``hybrid``; the research variants of :mod:`~workbench.execution.research.hybrid_variants` (the first
            hybrid, ``hybrid_ppo``; how the hybrid's training starts: ``hybrid_anchored``, ``hybrid_staged``; its
            fine-grained head: ``hybrid_entropy``, ``hybrid_q``, ``hybrid_book``, ``hybrid_price``; how it learns:
            ``hybrid_counterfactual``) can be named too. Every seed's training is deterministic, so a variant run
            with ``--seed s`` pairs with the continuous agent's seeds of another run with the same ``--seed``.
        settings: overrides :data:`QUICK` / :data:`FULL` (e.g. ``replace(FULL, episodes=6400)``).
        runner: where the tasks run (:class:`~workbench.runner.Runner`); quick runs default to this process.

    Returns:
        ``Report`` with ``data["results"]`` (per agent and evaluation set: ``agent``, ``eval``,
        ``shortfall_bps_mean``, ``shortfall_bps_std`` (across seeds for learned agents, 0 for the
        deterministic baselines), ``shortfall_bps_episode_std``, ``pa_twap_bps_mean``, ``vs_twap_agent_bps_*``
        (paired against TWAP on the same episodes: mean, std, standard error, ``_seeds`` one value per seed),
        ``episodes``), ``data["curves"]`` (evaluation shortfall vs training episodes, per learned agent and
        seed), ``data["per_stock"]`` (the held-out stocks one by one) and ``data["replay_messages_per_s"]``.
    """
    from workbench.execution.bench import replay_throughput

    t0 = time.perf_counter()
    if isinstance(only, str):
        raise TypeError(f"only: expected a list of learned agents' names, got the string {only!r}")
    learners = tuple(dict.fromkeys(only)) if only else LEARNERS
    unknown = [a for a in learners if a not in (*LEARNERS, *VARIANTS)]
    if unknown:
        raise ValueError(f"only: expected learned agents from {[*LEARNERS, *VARIANTS]}, got {unknown}")
    cfg = settings or (QUICK if quick else FULL)
    if not isinstance(cfg, Setting):
        raise TypeError(f"settings: expected an execution Setting, got {type(cfg).__name__}")
    seeds = [seed + i for i in range(cfg.seeds)]
    train_stocks = training_stocks(train_blends)
    held = held_out_stocks()
    held_stock_of_day = [s.name for s in held for _ in range(cfg.test_days)]  # eval_sets["held_out_stocks"]'s order
    _, eval_eps, _ = _evaluation(cfg, train_blends)
    runner = runner or (Runner.in_process() if quick else Runner())
    grid = tasks(cfg, learners, seeds, train_blends)
    results = runner.run("execution", grid, TASK_VERSION, progress, desc="baselines, agents x seeds")
    baselines, learned = results[0], results[1:]
    real_error = baselines["real_error"]
    per: dict[tuple[str, str], list[list[float]]] = {}
    pa: dict[tuple[str, str], list[float]] = {}
    for agent_name, by_eval in baselines["shortfall"].items():
        for name, values in by_eval.items():
            per[(agent_name, name)] = [values]
            pa[(agent_name, name)] = baselines["pa"][agent_name][name]
    # TWAP's level on the curves' episodes (the same slice of the held-out days as the learners' curves)
    twap_curve_level = float(np.mean(_curve_episodes({"held_out_days": per[("twap", "held_out_days")][0]})))
    curves = []
    for task, r in zip(grid[1:], learned):
        agent_name, s = task.params["agent"], task.params["seed"]
        c = r["curve"]
        curves.append({"agent": agent_name, "seed": s, "episodes": c["episodes"], "shortfall_bps": c["shortfall_bps"],
                       "shortfall_vs_twap_bps": [x - twap_curve_level for x in c["shortfall_bps"]],
                       "val_cost_bps": c["val_cost_bps"], "selected_at": c["selected_at"]})
        for name, values in r["shortfall"].items():
            per.setdefault((agent_name, name), []).append(values)
            pa.setdefault((agent_name, name), []).extend(r["pa"][name])
    results, table = [], []
    for (agent_name, name), runs in per.items():
        twap = np.array(per[("twap", name)][0])
        paired = [float(np.mean(np.array(r) - twap)) for r in runs]  # same episodes: market noise cancels
        seed_means = [float(np.mean(r)) for r in runs]
        all_eps = [x for r in runs for x in r]
        learned = agent_name in learners
        row = {"agent": agent_name, "eval": name, "shortfall_bps_mean": float(np.mean(seed_means)),
               "shortfall_bps_std": float(np.std(seed_means)) if learned else 0.0,
               "shortfall_bps_episode_std": float(np.std(all_eps)),
               "pa_twap_bps_mean": float(np.mean(pa[(agent_name, name)])),
               "vs_twap_agent_bps_mean": float(np.mean(paired)),
               "vs_twap_agent_bps_std": float(np.std(paired)) if learned else 0.0,
               "vs_twap_agent_bps_stderr": float(np.std(np.concatenate([np.array(r) - twap for r in runs]))
                                                 / np.sqrt(len(twap) * len(runs))),
               "vs_twap_agent_bps_seeds": paired,  # one per seed: runs can be pooled across invocations
               "episodes": cfg.episodes if learned else 0, "seeds": seeds if learned else [],
               "eval_episodes": len(runs[0])}
        results.append(row)
        table.append({"agent": agent_name, "eval": name, "shortfall bps": round(row["shortfall_bps_mean"], 2),
                      "± seeds": round(row["shortfall_bps_std"], 2),
                      "± episodes": round(row["shortfall_bps_episode_std"], 2),
                      "minus TWAP agent bps": round(row["vs_twap_agent_bps_mean"], 2),
                      "PA vs TWAP bps": round(row["pa_twap_bps_mean"], 2)})
    per_stock = _per_stock(per, [held_stock_of_day[o["day"]] for o in eval_eps["held_out_stocks"]])
    throughput = replay_throughput(repeats=3 if quick else 5)
    data = {"topic": "execution", "quick": quick, "seed": seed, "results": results, "curves": curves,
            "per_stock": per_stock,
            "replay_messages_per_s": throughput, "seconds": time.perf_counter() - t0,
            "setting": {"steps": STEPS, "step_seconds": STEP_SECONDS, "participation": PARTICIPATION,
                        "val_metric": VAL_METRIC, "train_stocks": [_name(s) for s in train_stocks],
                        "held_out_stocks": [vars(s) for s in held],
                        "out_of_range_stock": OUT_OF_RANGE_STOCK,
                        "train_days_per_stock": cfg.train_days, "day_seconds": cfg.day_seconds,
                        "ppo_episodes": cfg.episodes, "seeds": seeds, "learners": list(learners)}}
    blends = ", ".join(f"{s.name} {s.tick_bps:.2f} bps tick" for s in held)
    notes = [
        "Shortfall: implementation shortfall against the arrival mid in bps (lower is better); 'minus TWAP agent': "
        "the same episodes' shortfall minus the TWAP agent's (paired, so the market's drift cancels; negative = "
        "better than TWAP); PA: price advantage over the period's TWAP of the mid (higher is better).",
        f"Synthetic stocks (zero-intelligence flow around a latent price): "
        f"train {', '.join(map(_name, train_stocks))}; "
        f"held_out_stocks: {len(HELD_OUT_BLENDS)} blends of two of them ({blends}); out_of_range_stock: "
        f"{OUT_OF_RANGE_STOCK} (thinner and more volatile than any training stock).",
        *[_hybrid_vs_continuous(per_stock, results, h) for h in learners if h.startswith("hybrid")
          and "continuous" in learners],
        f"Replay throughput: {throughput:,.0f} LOBSTER messages/s on one core.",
        f"{len(grid)} tasks ({runner.describe()}). Took {data['seconds']:.1f} s.",
    ]
    if quick:
        notes.insert(0, f"Quick run: {cfg.episodes} PPO episodes, 1 seed, one {cfg.day_seconds:.0f} s day per "
                        "stock; the full run trains 3,200 episodes x 5 seeds on 4 days of 30 min per stock.")
    if real_error is not None:
        notes.append(f"The real LOBSTER sample was not found, so it was not evaluated: {real_error}")
    return Report("Hybrid continuous/discrete RL for optimal execution (Pan et al., IJCAI 2022)", data, table,
                  notes)


def _per_stock(per: dict, stock_of_episode: list[str]) -> list[dict]:
    """Paired shortfall minus TWAP's per held-out stock: ``agent``, ``stock``, mean and std over seeds (bps)."""
    stock_of = np.array(stock_of_episode)
    twap = np.array(per[("twap", "held_out_stocks")][0])
    rows = []
    for (agent, name), runs in per.items():
        if name != "held_out_stocks":
            continue
        for stock in dict.fromkeys(stock_of):
            on = stock_of == stock
            paired = [float(np.mean((np.array(r) - twap)[on])) for r in runs]
            rows.append({"agent": agent, "stock": str(stock), "vs_twap_agent_bps_mean": float(np.mean(paired)),
                         "vs_twap_agent_bps_std": float(np.std(paired)), "episodes": int(on.sum())})
    return rows


def _hybrid_vs_continuous(per_stock: list[dict], results: list[dict], hybrid: str = "hybrid") -> str:
    """The claim in numbers: ``hybrid`` (or a variant) minus continuous on the pooled held-out stocks (mean and
    standard error over seeds), and on how many of the held-out stocks it is the cheaper of the two."""
    mean = {(r["agent"], r["stock"]): r["vs_twap_agent_bps_mean"] for r in per_stock}
    stocks = [s for a, s in mean if a == hybrid]
    wins = sum(mean[(hybrid, s)] < mean[("continuous", s)] for s in stocks)
    twap_wins = sum(mean[(hybrid, s)] < 0 for s in stocks)
    # one paired value per seed (shortfall minus TWAP's on the same episodes); the seeds of the two agents
    # are independent runs, hence the standard error of a difference of two means
    seeds = {r["agent"]: np.array(r["vs_twap_agent_bps_seeds"]) for r in results if r["eval"] == "held_out_stocks"}
    h, c = seeds[hybrid], seeds["continuous"]
    se = (f"standard error over {len(h)} seeds {np.sqrt(h.var(ddof=1) / len(h) + c.var(ddof=1) / len(c)):.2f}"
          if len(h) > 1 else "one seed: no standard error")
    return (f"Held-out stocks: {hybrid} minus continuous {h.mean() - c.mean():+.2f} bps ({se}); per stock (mean over "
            f"seeds) {hybrid} is cheaper than the continuous agent on {wins} of {len(stocks)} and cheaper than TWAP "
            f"on {twap_wins} of {len(stocks)}.")
