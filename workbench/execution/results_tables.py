"""The results page's tables (``docs/execution.md``) from a full run's JSON (``docs/results/execution.json``).

``python -m workbench.results_pages`` writes each table of :func:`markdown_tables` between the page's markers
``<!-- results:NAME -->`` and ``<!-- /results:NAME -->``, so that no figure is retyped by hand. Every figure is a
shortfall in bps minus the TWAP agent's on the same episodes (negative = cheaper than TWAP), mean ± std over the
run's seeds for the learned agents (the baselines are deterministic).
"""

from __future__ import annotations

import numpy as np

__all__ = ["markdown_tables", "AGENT_NAMES", "EVAL_NAMES"]

AGENT_NAMES = {
    "twap": "TWAP (market orders)",
    "vwap": "VWAP (market orders)",
    "limit_+0t": "limit at the touch",
    "limit_+1t": "limit one tick behind the touch",
    "limit_-1t": "limit one tick below the touch (crosses a one-tick spread)",
    "improve_1t": "one tick inside the spread when it has room, else join (`improve_1t`)",
    "continuous": "continuous (Gaussian, bps)",
    "discrete": "discrete (ticks)",
    "hybrid": "**hybrid** (bps scope + a price chosen in its window)",
}
EVAL_NAMES = {"held_out_days": "held-out days", "held_out_stocks": "held-out stocks (6)",
              "out_of_range_stock": "out-of-range stock", "real_aapl": "real AAPL sample"}
LEARNED = ("continuous", "discrete", "hybrid")
CURVE_POINTS = (0, 640, 1600, 3200)


def _num(x: float, digits: int = 2) -> str:
    """``+0.12`` / ``−0.12`` (a typographic minus), ``0`` for zero."""
    s = f"{x:+.{digits}f}"
    return "0" if float(s) == 0 else s.replace("-", "−")


def _cell(mean: float, std: float | None = None) -> str:
    return _num(mean) + ("" if std is None else f" ± {abs(std):.2f}")


def _agent(name: str) -> str:
    return AGENT_NAMES.get(name, f"`{name}`")


def _check(data) -> None:
    if not isinstance(data, dict) or not {"results", "curves", "per_stock", "setting"} <= data.keys():
        raise ValueError("data: expected the execution reproduce JSON (keys results, curves, per_stock, setting), "
                         f"got {sorted(data) if isinstance(data, dict) else type(data).__name__}")


def _agents(data) -> list[str]:
    """The agents of the run: the known ones in :data:`AGENT_NAMES` order, then the variants."""
    present = list(dict.fromkeys(r["agent"] for r in data["results"]))
    return [a for a in AGENT_NAMES if a in present] + [a for a in present if a not in AGENT_NAMES]


def _main(data) -> str:
    rows = {(r["agent"], r["eval"]): r for r in data["results"]}
    evals = [e for e in EVAL_NAMES if any(k[1] == e for k in rows)]
    n = len(data["setting"]["seeds"])
    out = ["| agent | " + " | ".join(EVAL_NAMES[e] for e in evals) + " |", "|---" * (len(evals) + 1) + "|"]
    for agent in _agents(data):
        cells = []
        for e in evals:
            r = rows.get((agent, e))
            if r is None:
                cells.append("–")
            elif agent == "twap":
                cells.append(f"0 ({r['shortfall_bps_mean']:.2f} bps shortfall)".replace("-", "−"))
            else:
                learned = bool(r["seeds"])
                cells.append(_cell(r["vs_twap_agent_bps_mean"], r["vs_twap_agent_bps_std"] if learned and n > 1
                                   else None))
        out.append(f"| {_agent(agent)} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _per_stock(data) -> str:
    stocks = {s["name"]: s["tick"] / s["price"] * 1e4 for s in data["setting"]["held_out_stocks"]}
    cells = {(r["agent"], r["stock"]): r for r in data["per_stock"]}
    out = ["| agent | " + " | ".join(f"`{s}` ({t:.2f} bps tick)" for s, t in stocks.items()) + " |",
           "|---" * (len(stocks) + 1) + "|"]
    for agent in _agents(data):
        if agent == "twap":
            continue
        row = [cells.get((agent, s)) for s in stocks]
        learned = agent in data["setting"]["learners"] and len(data["setting"]["seeds"]) > 1
        out.append(f"| {_agent(agent)} | " + " | ".join(
            "–" if r is None else _cell(r["vs_twap_agent_bps_mean"], r["vs_twap_agent_bps_std"] if learned else None)
            for r in row) + " |")
    return "\n".join(out)


def _curves(data) -> str:
    """Greedy held-out-day shortfall minus TWAP's during training, mean over seeds, at a few episode counts."""
    agents = list(dict.fromkeys(c["agent"] for c in data["curves"]))
    points = [p for p in CURVE_POINTS if all(p in c["episodes"] for c in data["curves"])]
    out = ["| agent | " + " | ".join(f"{p:,} episodes" for p in points) + " |", "|---" * (len(points) + 1) + "|"]
    for agent in agents:
        runs = [c for c in data["curves"] if c["agent"] == agent]
        means = [float(np.mean([c["shortfall_vs_twap_bps"][c["episodes"].index(p)] for c in runs])) for p in points]
        out.append(f"| {_agent(agent)} | " + " | ".join(_num(m) for m in means) + " |")
    return "\n".join(out)


def _seeds(data) -> str:
    """Each learner's validation cost per seed (the markout cost of the checkpoint kept); the lowest, the seed
    shipped, in bold, then that seed's own figures on the synthetic test sets."""
    seeds = data["setting"]["seeds"]
    tests = [e for e in EVAL_NAMES if e != "real_aapl"]
    per_seed = {(r["agent"], r["eval"]): r["vs_twap_agent_bps_seeds"] for r in data["results"]}
    out = ["| agent | " + " | ".join(f"seed {s}" for s in seeds) + " | shipped | " +
           " | ".join(f"its {EVAL_NAMES[e]}" for e in tests) + " |", "|---" * (len(seeds) + len(tests) + 2) + "|"]
    for agent in dict.fromkeys(c["agent"] for c in data["curves"]):
        val = {c["seed"]: min(c["val_cost_bps"]) for c in data["curves"] if c["agent"] == agent}
        best = min(seeds, key=lambda s: (val[s], seeds.index(s)))
        cells = [(f"**{val[s]:.3f}**" if s == best else f"{val[s]:.3f}") for s in seeds]
        figures = [_num(per_seed[(agent, e)][seeds.index(best)]) if (agent, e) in per_seed else "–" for e in tests]
        out.append(f"| {_agent(agent)} | " + " | ".join(cells) + f" | seed {best} | " + " | ".join(figures) + " |")
    return "\n".join(out)


def markdown_tables(data: dict) -> dict[str, str]:
    """The tables of ``docs/execution.md`` from a full run's JSON: ``main`` (every agent on every evaluation set),
    ``per_stock`` (the held-out stocks one by one), ``curves`` (sample efficiency) and ``seeds`` (validation cost
    per seed: which one is shipped)."""
    _check(data)
    return {"main": _main(data), "per_stock": _per_stock(data), "curves": _curves(data), "seeds": _seeds(data)}
