"""``python -m workbench.bench``: the speed figures of the app and the topics (``make bench`` runs it).

* **quick runs**: wall time of ``workbench reproduce <slug> --quick --json`` in a fresh process (imports
  included), and the time the report itself measured;
* **pages**: each page of the served app in Chromium, cold (its first visit since the server started) and
  warm (median of ``--repeats`` further visits), and **slider-to-redraw**: a slider of the page moved one step
  with the keyboard, until the page has drawn the server's answer (median of ``--repeats`` moves);
* **sparse inference** (pruning): the digits MLP's largest layer pruned to 95 % by gradual magnitude, dense
  against CSR (and 2:4 semi-structured on a GPU that has it), and the MNIST CNN with half its channels removed,
  masked against physically smaller, in ms per batch of 256 and bytes;
* **a room**: :func:`workbench.ui.load.run_room`, 20 sessions over every page, trainings, half closed mid-run;
* **probe during work**: while a page trains (or runs live, draws 2,000 Monte-Carlo masks, loads Citeseer), a
  second client fetches a small static file every 0.25 s: the latency of every fetch (median and worst). The work runs
  off the server's event loop (:mod:`workbench.ui.jobs`), so the other visitors should not notice it.

A page is *ready* when a plot canvas exists and the server's websocket messages that change the document have
stopped for ``QUIET_MS``, at the browser's paint after the last of them: timestamps are taken inside the page
(``performance.now()``), so the figure does not include Playwright's own polling. The template's busy spinner is
not content and is left out (Panel turns it off at least 500 ms after it turned on). Speed is a figure, not a
test: nothing here passes or fails, and a loaded machine gives larger numbers.

Prints a table and writes JSON (``--json PATH``, default ``build/bench/app.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["SLIDERS", "WORK", "quick_times", "page_times", "probe_during_work", "room_figures", "inference_figures",
           "main"]

REPO = Path(__file__).resolve().parent.parent
QUIET_MS = 400  # no websocket message for this long: the page is done
#: the slider each page's redraw is timed with (its label in the sidebar)
SLIDERS = {"nm_sparsity": "Samples", "structure_learning": "Threshold", "execution": "Start",
           "mesh_adaptation": "Iteration", "gnn_sampling": "Drawn batch", "spiking_traffic": "Flow number",
           "sobolev_inr": "Derivative weight λ"}
#: per page, its background work: what starts it (a button's name, or ("select", value) for the page's first
#: select, or ("slider end", label) for a slider moved to its end), and the text the page shows when it has ended
WORK = {
    "nm_sparsity": [("Train", "epoch 15/15"), (("slider end", "Samples"), "over 2000 draws")],
    "structure_learning": [("Train", "done"), (("select", "citeseer"), "starting graph of citeseer")],
    "mesh_adaptation": [("Run live (Firedrake)", re.compile(r"Live \w+ run: \d+ iterations"))],
    "pruning": [("Train", "Training finished")],
    "compression": [("Compress", "Compressed.")],
    "gnn_sampling": [("Train", "done.")],
    "aux_weighting": [("Train", "done.")],
    "implicit_processes": [("Train", "done.")],
    "spiking_traffic": [("Train", "done.")],
    "sobolev_inr": [("Train", "done.")],
}

# timestamps inside the page: every websocket message that changes the document, the paint after it, the first
# canvas, each key press. The template's busy spinner is left out: it turns off at least 500 ms after it turned on
# (Panel throttles it on purpose), which says nothing about when the page's content was drawn.
_PROBE = """
(() => {
  const w = window; w.__wb = {msgs: [], paints: [], canvas: null, keys: []};
  const busyOnly = (text) => {
    if (text.length > 4000) return false;
    try {
      const events = JSON.parse(text).events || [];
      return events.length > 0 && events.every((e) => e.attr === "css_classes" && (e.new || []).includes("loader"));
    } catch (err) { return false; }
  };
  const Native = w.WebSocket;
  w.WebSocket = function (...args) {
    const ws = new Native(...args);
    ws.addEventListener("message", (ev) => {
      if (typeof ev.data !== "string" || !/"(events|doc)"/.test(ev.data.slice(0, 200)) || busyOnly(ev.data)) return;
      w.__wb.msgs.push(performance.now());
      requestAnimationFrame(() => requestAnimationFrame(() => w.__wb.paints.push(performance.now())));
    });
    return ws;
  };
  w.WebSocket.prototype = Native.prototype;
  Object.assign(w.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  // Bokeh draws inside shadow roots: look through them, once per frame, until a canvas is there
  const hasCanvas = (root) => !!root.querySelector("canvas") ||
    [...root.querySelectorAll("*")].some((el) => el.shadowRoot && hasCanvas(el.shadowRoot));
  const look = () => {
    if (document.body && hasCanvas(document)) w.__wb.canvas = performance.now(); else requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
  document.addEventListener("keydown", () => w.__wb.keys.push(performance.now()), true);
})();
"""


# from a label, up through elements and shadow hosts to the first ancestor holding a slider handle: mark it
_MARK_HANDLE = """
(label) => {
  const deep = (node) => {
    const roots = [node, node.shadowRoot].filter(Boolean);
    for (const r of roots) {
      const h = r.querySelector(".noUi-handle"); if (h) return h;
      for (const e of r.querySelectorAll("*")) if (e.shadowRoot) { const f = deep(e.shadowRoot); if (f) return f; }
    }
    return null;
  };
  for (let p = label; p; p = p.parentNode || p.host) {
    const h = deep(p);
    if (h) { h.setAttribute("data-wb-probe", "1"); return true; }
  }
  throw new Error("no slider near " + label.textContent);
}
"""


def _settled(page, since: float, timeout: float = 60.0, need_message: bool = False) -> float:
    """Wait until the page is quiet; return the time (ms, page clock) of the last paint after a message since
    ``since`` (or of the first canvas, if later)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        s = page.evaluate("[performance.now(), window.__wb.msgs.slice(-1)[0] || 0, window.__wb.canvas,"
                          " window.__wb.paints.slice(-1)[0] || 0, window.__wb.msgs.filter(t => t > %f).length]"
                          % since)
        now, last_msg, canvas, last_paint, n_after = s
        if canvas is None or (need_message and n_after == 0):
            continue
        if now - max(last_msg, since) >= QUIET_MS and last_paint >= last_msg:
            return max(canvas, last_paint if last_msg > since else since)
    raise TimeoutError(f"the page did not settle within {timeout} s")


def _load(page, url: str) -> float:
    """Seconds from navigation to the page being ready."""
    page.goto(url, wait_until="commit", timeout=60_000)
    page.wait_for_function("window.__wb !== undefined", timeout=60_000)
    return _settled(page, 0.0) / 1000  # the page clock starts at navigation


def _slider_step(page, label: str) -> float:
    """Seconds from pressing → on the slider ``label`` to the page drawing the answer."""
    page.get_by_text(label).first.evaluate(_MARK_HANDLE)
    handle = page.locator("[data-wb-probe]").first
    handle.focus(timeout=10_000)
    before = page.evaluate("performance.now()")
    handle.press("ArrowRight")
    pressed = page.evaluate("window.__wb.keys.filter(t => t > %f)[0]" % before)
    return (_settled(page, pressed, need_message=True) - pressed) / 1000


def page_times(slugs, repeats: int = 3, url: str | None = None) -> list[dict]:
    """Cold and warm load and slider-to-redraw of each page (``url``: an app already served; default: serve one)."""
    from workbench.ui.browser import chromium, served_app

    rows = []
    with (served_app() if url is None else contextlib.nullcontext((url, None))) as (base, _), chromium() as browser:
        for slug in slugs:
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            ctx.add_init_script(_PROBE)
            page = ctx.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            cold = _load(page, f"{base}/{slug}")
            warm = [_load(page, f"{base}/{slug}") for _ in range(repeats)]
            slider = []
            if slug in SLIDERS:
                for _ in range(repeats):
                    slider.append(_slider_step(page, SLIDERS[slug]))
            rows.append({"page": f"/{slug}", "cold_s": cold, "warm_s": statistics.median(warm), "warm_all_s": warm,
                         "slider": SLIDERS.get(slug),
                         "slider_to_redraw_s": statistics.median(slider) if slider else None,
                         "slider_all_s": slider, "page_errors": errors})
            ctx.close()
    return rows


def _start_work(page, action) -> str:
    """Start a page's work (see :data:`WORK`); its name in the table."""
    if isinstance(action, str):
        page.get_by_role("button", name=action).click()
        return action
    kind, arg = action
    if kind == "select":
        page.locator("select").first.select_option(arg, timeout=10_000)
        return f"select {arg}"
    page.get_by_text(arg).first.evaluate(_MARK_HANDLE)
    handle = page.locator("[data-wb-probe]").first
    handle.focus(timeout=10_000)
    handle.press("End")
    return f"{arg} to its end"


def probe_during_work(slugs, url: str | None = None, timeout: float = 600) -> list[dict]:
    """Per piece of page work (:data:`WORK`): start it in Chromium and, until the page says it has ended, fetch
    :data:`workbench.ui.load.PROBE_FILE` every 0.25 s from a second client; the fetches' latency."""
    import threading

    from workbench.ui.browser import chromium, served_app
    from workbench.ui.load import PROBE_FILE, probe_static

    rows = []
    with (served_app() if url is None else contextlib.nullcontext((url, None))) as (base, _), chromium() as browser:
        for slug in [s for s in slugs if s in WORK]:
            for action, finished in WORK[slug]:
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                ctx.add_init_script(_PROBE)
                page = ctx.new_page()
                _load(page, f"{base}/{slug}")
                latencies, failures, stop = [], [], threading.Event()
                prober = threading.Thread(target=probe_static, args=(base + PROBE_FILE, stop, latencies, failures))
                prober.start()
                t0, work = time.perf_counter(), str(action)
                try:
                    work = _start_work(page, action)
                    page.get_by_text(finished).first.wait_for(timeout=timeout * 1000)
                    work_s = time.perf_counter() - t0
                except Exception as exc:  # noqa: BLE001 - a figure, not a test: say what happened
                    work_s, failures = None, failures + [f"page: {exc}"]
                finally:
                    stop.set()
                    prober.join(timeout=60)
                    ctx.close()
                rows.append({"page": f"/{slug}", "work": work, "work_s": work_s, "probes": len(latencies),
                             "probe_median_s": statistics.median(latencies) if latencies else None,
                             "probe_max_s": max(latencies) if latencies else None, "failures": failures})
    return rows


def inference_figures(batch: int = 256) -> list[dict]:
    """:func:`workbench.pruning.experiments.latency_task`'s figures on this machine, at its default threads (the MLP
    layer from a real pruned model; the CNN's channel masks from one epoch on random images: speed, not accuracy)."""
    import torch

    from workbench.classification import Split
    from workbench.pruning import Pruner, make_cnn
    from workbench.pruning.experiments import latency_task
    from workbench.pruning.inference import structured_latency

    rows = latency_task("mlp", 0, 10, batch)
    g = torch.Generator().manual_seed(0)
    images, labels = torch.randn(batch, 1, 28, 28, generator=g), torch.randint(0, 10, (batch,), generator=g)
    cnn = make_cnn(0)
    Pruner("channel", 0.5, epochs=1, lr=1e-3).fit(cnn, Split(images, labels, images[:32], labels[:32]))
    rows += [{"model": "cnn", **r, "threads": torch.get_num_threads()} for r in structured_latency(cnn, images)]
    return rows


def room_figures(sessions: int = 20) -> dict:
    """:func:`workbench.ui.load.run_room` on a fresh server: the figures of a workshop's room."""
    import tempfile

    from workbench.ui.browser import chromium, served_app
    from workbench.ui.load import run_room

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "serve.log"
        with served_app(log, args=("--max-jobs", "4")) as (base, proc), chromium() as browser:
            return run_room(browser, base, proc.pid, log, sessions=sessions)


def quick_times(slugs) -> list[dict]:
    """Wall time of each topic's ``--quick --json`` run in a fresh process."""
    rows = []
    for slug in slugs:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "workbench", "reproduce", slug, "--quick", "--json"],
                              capture_output=True, text=True, cwd=REPO, timeout=1800)
        wall = time.perf_counter() - t0
        row = {"topic": slug, "wall_s": wall, "ok": proc.returncode == 0}
        if proc.returncode == 0:
            data = json.loads(proc.stdout)
            row["report_s"] = data.get("seconds")
            row["precomputed"] = bool(data.get("precomputed", False))
        else:
            row["error"] = proc.stderr.strip().splitlines()[-1:] or ["?"]
        rows.append(row)
    return rows


def _table(rows: list[dict], cols: list[tuple[str, str]]) -> str:
    def fmt(v):
        return "-" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)

    cells = [[fmt(r.get(k)) for k, _ in cols] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (_, h) in enumerate(cols)]
    out = ["  ".join(h.ljust(w) for (_, h), w in zip(cols, widths)), "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(out)


def main(argv=None) -> int:
    from workbench.topics import TOPICS

    p = argparse.ArgumentParser(prog="python -m workbench.bench", description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=["pages", "probe", "room", "inference", "quick"], help="one of the tables")
    p.add_argument("--topics", help="comma-separated slugs (default: every topic)")
    p.add_argument("--repeats", type=int, default=3, help="warm loads and slider moves per page (median)")
    p.add_argument("--url", help="measure an app that is already served here instead of serving one")
    p.add_argument("--json", default=str(REPO / "build" / "bench" / "app.json"), help="where to write the figures")
    args = p.parse_args(argv)
    slugs = [s.strip() for s in args.topics.split(",")] if args.topics else list(TOPICS)
    unknown = [s for s in slugs if s not in TOPICS]
    if unknown:
        p.error(f"--topics: expected slugs from {', '.join(TOPICS)}, got {', '.join(unknown)}")
    if args.repeats < 1:
        p.error(f"--repeats: expected a positive integer, got {args.repeats}")
    out = {"machine": {"python": sys.version.split()[0], "cores": _cores()}}
    if args.only in (None, "pages"):
        out["pages"] = page_times(slugs, args.repeats, args.url)
        print("Pages (seconds; warm and slider: medians)")
        print(_table(out["pages"], [("page", "page"), ("cold_s", "cold"), ("warm_s", "warm"), ("slider", "slider"),
                                    ("slider_to_redraw_s", "slider to redraw")]))
        print()
    if args.only in (None, "probe"):
        out["probe"] = probe_during_work(slugs, args.url)
        print("A second client's static-file fetches while a page works (seconds)")
        print(_table(out["probe"], [("page", "page"), ("work", "work"), ("work_s", "work took"),
                                    ("probes", "fetches"), ("probe_median_s", "median"), ("probe_max_s", "worst")]))
        print()
    if args.only in (None, "inference"):
        out["inference"] = inference_figures()
        print("Sparse inference (ms per batch of 256)")
        print(_table(out["inference"], [("model", "model"), ("format", "format"), ("sparsity", "sparsity"),
                                        ("ms_per_batch", "ms/batch"), ("bytes", "bytes"), ("threads", "threads")]))
        print()
    if args.only in (None, "room"):
        out["room"] = room_figures()
        r = out["room"]
        print(f"A room of {r['sessions']} sessions ({r['trainings_pressed']} trainings, {r['closed_mid_run']} closed "
              f"mid-run): page ready median {r['page_ready_median_s']:.1f} s, worst {r['page_ready_max_s']:.1f} s; "
              f"probe median {r['probe_median_s']:.3f} s, worst {r['probe_max_s']:.2f} s, "
              f"{len(r['probe_failures'])} failed; memory {r['rss_start_mb']:.0f} -> peak {r['rss_peak_mb']:.0f} -> "
              f"after {r['rss_end_mb']:.0f} MB; jobs {r['job_outcomes']}\n")
    if args.only in (None, "quick"):
        out["quick"] = quick_times(slugs)
        print("Quick runs (seconds)")
        print(_table(out["quick"], [("topic", "topic"), ("wall_s", "wall, fresh process"),
                                    ("report_s", "inside reproduce"), ("precomputed", "precomputed")]))
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    print(f"\nwritten to {path}")
    return 0


def _cores() -> int:
    from workbench.runner import default_workers

    return default_workers()


if __name__ == "__main__":
    raise SystemExit(main())
