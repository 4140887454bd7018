"""Replay throughput: ``python -m workbench.execution.bench [--json] [--messages N] [--repeat R]``.

Replays (1) a synthetic LOBSTER-format stream of ``N`` messages onto an empty book and (2) the real
AAPL sample (when ``workbench.data`` finds it) over and over, each ``R`` times, and prints the best
messages per second of each on one core. ``replay_messages_per_s`` is the smaller of the two.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time

import numpy as np

from workbench.execution.book import OrderBook
from workbench.execution.lobster import Messages, load_sample
from workbench.execution.replay import initial_book, replay

__all__ = ["synthetic_messages", "measure", "run_benchmark", "replay_throughput", "main"]


def synthetic_messages(n: int = 200_000, seed: int = 0, *, mid: int = 5_850_000, tick: int = 100,
                       start: float = 34200.0, resting: int = 400) -> Messages:
    """A valid synthetic LOBSTER message stream (synthetic data: not a market model).

    Random adds (45% while fewer than ``resting`` orders rest, else 35%; one tick or more behind the
    opposite best, never crossing), deletions and partial cancellations (4:1) of random resting
    orders (the rest of the first 80%), executions of the order at the front of a best level (15%)
    and hidden executions (type 5, 5%), with exponential inter-arrival times. The book starts empty
    and every message is consistent with it, so ``replay(messages).run()`` applies them all.

    Shapes: every column ``(n,)``; prices in dollars x 10000 on the ``tick`` grid around ``mid``.
    """
    rng = random.Random(seed)
    book = OrderBook(tick_size=tick)
    live: list[int] = []  # resting ids, for uniform random cancellation (swap-remove)
    where: dict[int, int] = {}
    rows: list[tuple] = []
    t = start
    next_id = 1

    def forget(oid):
        k = where.pop(oid)
        last = live.pop()
        if last != oid:
            live[k] = last
            where[last] = k

    while len(rows) < n:
        t += rng.expovariate(2000.0)
        u = rng.random()
        if not live or u < (0.45 if len(live) < resting else 0.35):
            side = 1 if rng.random() < 0.5 else -1
            opp = book.best_ask() if side == 1 else book.best_bid()
            ref = opp if opp is not None else mid + side * tick
            price = ref - side * tick * (1 + min(int(rng.expovariate(0.4)), 40))
            size = rng.choice((1, 5, 18, 50, 100, 100, 200, 300))
            book.add(next_id, side, price, size, t)
            where[next_id] = len(live)
            live.append(next_id)
            rows.append((t, 1, next_id, size, price, side))
            next_id += 1
        elif u < 0.80:
            oid = live[rng.randrange(len(live))]
            price, left, side = book.order(oid)
            if left > 1 and rng.random() < 0.2:
                size = rng.randint(1, left - 1)
                book.cancel(oid, size)
                rows.append((t, 2, oid, size, price, side))
            else:
                book.delete(oid)
                forget(oid)
                rows.append((t, 3, oid, left, price, side))
        else:
            side = 1 if rng.random() < 0.5 else -1
            best = book.best_bid() if side == 1 else book.best_ask()
            if best is None:
                continue
            if u < 0.95:
                oid, left = book.queue(side, best)[0]
                size = left if rng.random() < 0.6 else rng.randint(1, left)
                book.execute(oid, size, t)
                if size == left:
                    forget(oid)
                rows.append((t, 4, oid, size, best, side))
            else:
                rows.append((t, 5, 0, rng.choice((1, 10, 100)), best, side))
    cols = list(zip(*rows))
    return Messages(*(np.array(c) for c in cols), source=f"<synthetic seed={seed}>")


def measure(messages: Messages, *, initial=None, total: int = 200_000, repeat: int = 5) -> float:
    """Best-of-``repeat`` messages per second replaying ``messages`` until ``total`` are applied."""
    loops = max(1, -(-total // len(messages)))
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(loops):
            replay(messages, initial_snapshot=initial).run()
        best = max(best, loops * len(messages) / (time.perf_counter() - t0))
    return best


def run_benchmark(messages: int = 200_000, repeat: int = 5, seed: int = 0) -> dict:
    """The measurements :func:`main` prints: messages/s of the synthetic stream and of the real sample.

    Keys: ``synthetic_messages_per_s``, ``lobster_sample_messages_per_s`` (or ``lobster_sample``, why
    it is missing), ``replay_messages_per_s`` (the smaller), ``messages``, ``repeat``, ``python``.
    """
    synthetic = synthetic_messages(messages, seed)
    result = {"python": platform.python_version(), "messages": messages, "repeat": repeat,
              "synthetic_messages_per_s": measure(synthetic, total=messages, repeat=repeat)}
    try:
        sample, orderbook = load_sample()
    except FileNotFoundError as exc:  # DataNotFoundError: the real sample is optional here
        result["lobster_sample"] = f"not found ({str(exc).splitlines()[0]})"
    else:
        init = initial_book(sample, orderbook)
        result["lobster_sample_messages_per_s"] = measure(sample, initial=init, total=messages, repeat=repeat)
    result["replay_messages_per_s"] = min(v for k, v in result.items() if k.endswith("_messages_per_s"))
    return result


def replay_throughput(repeats: int = 5, messages: int = 200_000, seed: int = 0) -> float:
    """``replay_messages_per_s`` of :func:`run_benchmark`: best-of-``repeats`` replay speed, one core."""
    return run_benchmark(messages, repeats, seed)["replay_messages_per_s"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m workbench.execution.bench", description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--messages", type=int, default=200_000, help="messages per timed repeat")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.messages < 1 or args.repeat < 1:
        p.error(f"--messages and --repeat: expected positive integers, got {args.messages} and {args.repeat}")
    result = run_benchmark(args.messages, args.repeat, args.seed)

    if args.json:
        print(json.dumps(result))
        return 0
    print(f"LOB replay throughput, one core, best of {args.repeat}, {args.messages:,} messages per repeat "
          f"(python {result['python']})")
    print(f"  synthetic stream (seed {args.seed}):  {result['synthetic_messages_per_s']:>12,.0f} messages/s")
    if "lobster_sample_messages_per_s" in result:
        print(f"  LOBSTER AAPL sample, replayed:   {result['lobster_sample_messages_per_s']:>12,.0f} messages/s")
    else:
        print(f"  LOBSTER AAPL sample: {result['lobster_sample']}")
    print(f"  replay_messages_per_s:           {result['replay_messages_per_s']:>12,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
