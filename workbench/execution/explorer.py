"""Dashboard "replay order-book execution": pick a day and an agent, then play, pause, step or scrub.

The episode is computed once (a greedy rollout, milliseconds); playback only moves a cursor. Each frame
sends a few small updates to the browser: the cursor positions, the 20-row depth table, the fills up to
the cursor (streamed when playing forward) and one line of text. The figures themselves are sent once
per episode.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, Span
from bokeh.plotting import figure

from workbench.execution.agents import FixedOffsetAgent, QuoteImprovingAgent, TWAPAgent, VWAPAgent
from workbench.execution.env import ExecutionEnv
from workbench.execution.experiments import (
    FULL, OUT_OF_RANGE_STOCK, STEP_SECONDS, STEPS, TRAIN_STOCKS, real_env, stock_named, synthetic_days,
    synthetic_stocks, task_env,
)
from workbench.execution.ppo import rollout
from workbench.execution.policies import load_policy
from workbench.ui import ExplorerBase, error_message, load_extensions

__all__ = ["Explorer", "AGENTS", "MARKETS", "market_label", "default_episode"]

REAL = "AAPL 2012-06-21 (real LOBSTER sample)"
MARKETS = [*synthetic_stocks(), REAL]  # archetypes, held-out blends, real


def market_label(name: str) -> str:
    """What the market menu shows: the name and the market's role in the experiment."""
    if name == REAL:
        return name
    stock = stock_named(name)
    role = ("training" if name in TRAIN_STOCKS else "out of range" if name == OUT_OF_RANGE_STOCK
            else "held out")  # short: the sidebar shows about 38 characters
    return f"{name} ({role}, tick {stock.tick_bps:.2f} bps)"


MARKET_LABELS = {market_label(m): m for m in MARKETS}
AGENTS = ["hybrid", "continuous", "discrete", "twap", "vwap", "limit_+0t", "limit_-1t", "improve_1t"]
MAX_FRAMES = 400
MAX_POINTS = 3000  # quote points sent per episode at most


def _env(market: str, seed: int) -> ExecutionEnv:
    if market == REAL:
        return real_env()
    if market not in MARKETS:
        raise ValueError(f"market: expected one of {MARKETS}, got {market!r}")
    return task_env(synthetic_days(stock_named(market), [seed], FULL.day_seconds))


def _agent(name: str):
    if name in ("continuous", "discrete", "hybrid"):
        return load_policy(name)
    if name == "twap":
        return TWAPAgent()
    if name == "vwap":
        return VWAPAgent().fit(synthetic_days(TRAIN_STOCKS[0], range(1), FULL.day_seconds), STEPS, STEP_SECONDS)
    if name.startswith("limit_"):
        return FixedOffsetAgent(int(name[len("limit_"):-1]))
    if name == QuoteImprovingAgent.name:
        return QuoteImprovingAgent()
    raise ValueError(f"agent: expected one of {AGENTS}, got {name!r}")


@pn.cache(max_items=32)
def _episode(market: str, seed: int, agent: str, start: float):
    """Roll the agent (and TWAP, for comparison) through one episode: ``(env, log, info, twap_log, twap_info)``."""
    env = _env(market, seed)
    d = env.days[0]
    latest = d.end - env.steps * env.step_seconds
    t0 = d.session_start + start * max(0.0, latest - d.session_start)
    _, _, _, info = rollout(_agent(agent), env, greedy=True, options={"day": 0, "start": t0})
    log = env.log
    twap_env = _env(market, seed)
    _, _, _, twap_info = rollout(TWAPAgent(), twap_env, greedy=True, options={"day": 0, "start": t0})
    return env, log, info, twap_env.log, twap_info


def default_episode():
    """The page's first episode (computed at server start by ``warmup``)."""
    return _episode("mid_tick", 100, "hybrid", 0.3)


def _cumulative_cost(log, times, t0):
    """Shortfall contributed by the fills up to each time, in bps of the parent order: ``(len(times),)``."""
    eps = -log.side
    ft = np.array([f.time for f in log.fills]) - t0
    c = np.cumsum([f.size * eps * (log.arrival_mid - f.price) / log.arrival_mid * 1e4 / log.volume for f in log.fills])
    idx = np.searchsorted(ft, times, side="right") - 1
    return np.where(idx >= 0, c[np.clip(idx, 0, None)] if len(c) else 0.0, 0.0)


class Explorer(ExplorerBase):
    """Replay an execution episode on a real or synthetic order book (Pan et al., IJCAI 2022)."""

    market = param.Selector(default="mid_tick", objects=MARKET_LABELS, doc="Synthetic stock or the real AAPL sample")
    day_seed = param.Integer(default=100, bounds=(0, 10_000), doc="Seed of the synthetic day (100+ are held out)")
    agent = param.Selector(default="hybrid", objects=AGENTS,
                           doc="Who places the child orders: the learned hybrid, continuous (bps) or discrete (ticks) "
                               "policy; TWAP or VWAP market orders; a limit order at the near touch (limit_+0t) or "
                               "one tick better (limit_-1t); one tick inside the spread when it has room, else at "
                               "the touch (improve_1t)")
    start = param.Number(default=0.3, bounds=(0.0, 1.0), step=0.05, doc="Episode start, as a fraction of the day")

    def __init__(self, **params):
        load_extensions()
        super().__init__(**params)
        self._error = pn.Column()
        self._info = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._summary = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._player = pn.widgets.Player(label="time", start=0, end=1, value=0, interval=120, loop_policy="once",
                                         width=520, show_loop_controls=False)
        self._player.param.watch(lambda e: self._show_frame(e.new), "value")
        self._build_figures()
        self._load()

    # ---------- figures (built once; episodes and frames only update their sources) ----------
    # Raw Bokeh rather than HoloViews, the house's default: playback streams a few fills and moves cursors at
    # ~8 frames/s, which ``ColumnDataSource.stream``/``patch`` and ``Span.location`` send as small deltas;
    # a HoloViews element per frame would re-send whole glyph sources.
    def _build_figures(self):
        self._quotes = ColumnDataSource(dict(t=[], bid=[], ask=[]))
        self._orders = ColumnDataSource(dict(x0=[], x1=[], y=[], label=[]))
        self._windows = ColumnDataSource(dict(left=[], right=[], bottom=[], top=[]))
        self._fills = ColumnDataSource(dict(t=[], price=[], size=[], kind=[], color=[]))
        self._depth = ColumnDataSource(dict(price=[], size=[], color=[], h=[]))
        self._inv = ColumnDataSource(dict(t=[], ours=[], twap=[], cost=[], twap_cost=[]))
        p = figure(height=380, sizing_mode="stretch_width", title="Quotes, our orders and fills",
                   x_axis_label="seconds into the episode", y_axis_label="price ($)", tools="xpan,xwheel_zoom,reset")
        p.step("t", "bid", source=self._quotes, color="#2ca02c", legend_label="best bid", mode="after")
        p.step("t", "ask", source=self._quotes, color="#d62728", legend_label="best ask", mode="after")
        p.quad(left="left", right="right", bottom="bottom", top="top", source=self._windows, fill_color="#9467bd",
               fill_alpha=0.15, line_alpha=0, legend_label="hybrid's scoped window")
        p.segment(x0="x0", x1="x1", y0="y", y1="y", source=self._orders, color="#1f77b4", line_width=3,
                  legend_label="our limit order")
        p.scatter("t", "price", source=self._fills, size=9, color="color", marker="triangle",
                  legend_label="our fills")
        p.legend.click_policy = "hide"
        p.add_layout(p.legend[0], "below")
        p.legend.orientation = "horizontal"
        self._cursor_price = Span(location=0, dimension="height", line_color="black", line_dash="dashed")
        p.add_layout(self._cursor_price)
        d = figure(height=330, width=300, title="Book at the cursor", x_axis_label="shares", y_axis_label="price ($)",
                   tools="")
        d.hbar(y="price", right="size", height="h", source=self._depth, color="color")
        self._our_level = Span(location=0, dimension="width", line_color="#1f77b4", line_width=2)
        d.add_layout(self._our_level)
        g, self._cursor_inv = self._ours_vs_twap("Inventory", "shares left", "ours", "twap", "top_right")
        c, self._cursor_cost = self._ours_vs_twap("Shortfall so far (bps of the parent order)", "bps", "cost",
                                                  "twap_cost", "top_left")
        self._price_fig, self._depth_fig, self._inv_fig, self._cost_fig = p, d, g, c

    def _ours_vs_twap(self, title, ylabel, ours, twap, legend):
        """A step chart of one quantity for our agent and for TWAP, with a cursor: ``(figure, cursor)``."""
        f = figure(height=230, sizing_mode="stretch_width", title=title, x_axis_label="seconds into the episode",
                   y_axis_label=ylabel, tools="xpan,reset")
        f.step("t", ours, source=self._inv, color="#1f77b4", legend_label="ours", mode="after")
        f.step("t", twap, source=self._inv, color="#7f7f7f", legend_label="TWAP", mode="after", line_dash="dashed")
        f.legend.location = legend
        cursor = Span(location=0, dimension="height", line_color="black", line_dash="dashed")
        f.add_layout(cursor)
        return f, cursor

    # ---------- episode ----------
    @param.depends("market", "day_seed", "agent", "start", watch=True)
    def _load(self):
        # the new episode's figures and text reach the page in one message, then its first frame in a second (a
        # held patch that also streams to a source fails in the browser: "Offset is outside the bounds of the
        # DataView", Panel 1.10 / Bokeh 3.9)
        with pn.io.hold():
            loaded = self._load_episode()
        if loaded:
            self._player.end = len(self._frames) - 1
            if self._player.value != 0:
                self._player.value = 0  # triggers _show_frame
            else:
                self._show_frame(0)

    def _load_episode(self):
        self._error.clear()
        try:
            env, log, info, twap_log, twap_info = _episode(self.market, self.day_seed, self.agent, float(self.start))
        except Exception as exc:  # noqa: BLE001 - shown, not raised
            self._error.append(error_message(exc))
            return False
        self._env, self._log = env, log
        d = env.days[0]
        i0 = log.start_index
        i1 = max(i0, d.index_at(float(d.messages.time[i0]) + env.steps * env.step_seconds))
        self._t0 = float(d.messages.time[i0])
        idx = np.unique(np.linspace(i0, i1, min(MAX_POINTS, i1 - i0 + 1)).astype(int))
        ob = d.orderbook[idx]
        self._quotes.data = dict(t=d.messages.time[idx] - self._t0, bid=ob[:, 2] / 1e4, ask=ob[:, 0] / 1e4)
        starts = [float(d.messages.time[i]) - self._t0 for i in log.step_index]
        ends = starts[1:] + [env.steps * env.step_seconds]
        placed = [(s, e, p) for s, e, (p, q) in zip(starts, ends, log.orders) if p > 0 and q > 0]
        self._orders.data = dict(x0=[a for a, _, _ in placed], x1=[b for _, b, _ in placed],
                                 y=[p / 1e4 for _, _, p in placed], label=["order"] * len(placed))
        # the hybrid's window, in ticks from the near touch (a sell: + is above the best ask)
        wins = [(s, e, x, d.near_touch(i, log.side)) for s, e, x, i in zip(starts, ends, log.extras, log.step_index)
                if "window" in x]
        self._windows.data = dict(
            left=[w[0] for w in wins], right=[w[1] for w in wins],
            bottom=[(w[3] - log.side * (w[2]["window"][0] - 0.5) * d.tick) / 1e4 for w in wins],
            top=[(w[3] - log.side * (w[2]["window"][1] + 0.5) * d.tick) / 1e4 for w in wins])
        times = np.unique(np.concatenate([[0.0], [f.time - self._t0 for f in log.fills + twap_log.fills],
                                          [env.steps * env.step_seconds]]))
        ours = log.volume - np.array([sum(f.size for f in log.fills if f.time - self._t0 <= t) for t in times])
        twap = twap_log.volume - np.array([sum(f.size for f in twap_log.fills if f.time - self._t0 <= t)
                                           for t in times])
        self._inv.data = dict(t=times, ours=ours, twap=twap, cost=_cumulative_cost(log, times, self._t0),
                              twap_cost=_cumulative_cost(twap_log, times, self._t0))
        self._frames = np.unique(np.linspace(i0, i1, min(MAX_FRAMES, i1 - i0 + 1)).astype(int))
        self._shown = -1
        self._fills.data = dict(t=[], price=[], size=[], kind=[], color=[])
        self._summary.object = (
            f"**{d.name}** · agent **{self.agent}** · sell {log.volume:,} shares in {env.steps} × "
            f"{env.step_seconds:g} s · shortfall **{info['shortfall_bps']:.2f} bps** (TWAP "
            f"{twap_info['shortfall_bps']:.2f} bps) · passive fills {100 * info['passive_share']:.0f} %")
        return True

    # ---------- frame (small updates only) ----------
    def _show_frame(self, frame: int):
        if not hasattr(self, "_frames"):
            return
        d, log = self._env.days[0], self._log
        i = int(self._frames[min(max(frame, 0), len(self._frames) - 1)])
        t = float(d.messages.time[i]) - self._t0
        for span in (self._cursor_price, self._cursor_inv, self._cursor_cost):
            span.location = t
        ask_p, ask_s = d.side_levels(i, -1)
        bid_p, bid_s = d.side_levels(i, 1)
        self._depth.data = dict(price=np.concatenate([ask_p, bid_p]) / 1e4, size=np.concatenate([ask_s, bid_s]),
                                color=["#d62728"] * len(ask_p) + ["#2ca02c"] * len(bid_p),
                                h=[0.8 * d.tick / 1e4] * (len(ask_p) + len(bid_p)))
        step = int(np.searchsorted(log.step_index, i, side="right")) - 1
        price = log.orders[step][0] if 0 <= step < len(log.orders) else -1
        self._our_level.location = price / 1e4 if price > 0 else None
        visible = [f for f in log.fills if f.index <= i]
        color = {"cross": "#ff7f0e", "passive": "#1f77b4", "final": "#7f7f7f"}
        if i >= self._shown and len(visible) >= len(self._fills.data["t"]):
            new = visible[len(self._fills.data["t"]):]
            if new:
                self._fills.stream(dict(t=[f.time - self._t0 for f in new], price=[f.price / 1e4 for f in new],
                                        size=[f.size for f in new], kind=[f.kind for f in new],
                                        color=[color[f.kind] for f in new]))
        else:
            self._fills.data = dict(t=[f.time - self._t0 for f in visible], price=[f.price / 1e4 for f in visible],
                                    size=[f.size for f in visible], kind=[f.kind for f in visible],
                                    color=[color[f.kind] for f in visible])
        self._shown = i
        left = log.volume - sum(f.size for f in visible)
        extra = log.extras[step] if 0 <= step < len(log.extras) else {}
        text = f"t = {t:6.1f} s · step {max(step, 0) + 1}/{self._env.steps} · shares left {left:,}"
        if price > 0:
            text += f" · our limit ${price / 1e4:,.4f}"
        elif step >= 0:
            text += " · market order"
        if "window" in extra:
            text += (f" · hybrid: scoped centre {extra['centre']:+d} ticks ({extra['offset_bps']:+.1f} bps), window "
                     f"[{extra['window'][0]:+d}, {extra['window'][1]:+d}], chose {extra['ticks']:+d} ticks")
        elif "ticks" in extra:
            text += f" · offset {extra['ticks']:+.1f} ticks"
        self._info.object = text

    # ---------- layout ----------
    def controls(self):
        w = pn.Param(self.param, parameters=["market", "day_seed", "agent", "start"],
                     widgets={"start": {"type": pn.widgets.FloatSlider, "throttled": True}},
                     show_name=False, sizing_mode="stretch_width")
        return pn.Column("### Episode", w, sizing_mode="stretch_width")

    def main_view(self):
        return pn.Column(
            self._error, self._summary, self._player, self._info,
            pn.Row(pn.pane.Bokeh(self._price_fig, sizing_mode="stretch_width"), pn.pane.Bokeh(self._depth_fig),
                   sizing_mode="stretch_width"),
            pn.Row(pn.pane.Bokeh(self._inv_fig, sizing_mode="stretch_width"),
                   pn.pane.Bokeh(self._cost_fig, sizing_mode="stretch_width"), sizing_mode="stretch_width"),
            pn.pane.Markdown(
                "Synthetic days are simulated (zero-intelligence flow around a latent price, LOBSTER format); the "
                "AAPL day is the real LOBSTER sample (49 s). Learned agents: of five seeds trained on other synthetic "
                "days, the best on the validation days (`python -m workbench.execution.ship`). Fills: orange = "
                "crossed the spread, blue = passive (queue reached), grey = the final market order."),
            sizing_mode="stretch_width")
