"""The Panel multi-page app: a home gallery of the registered topics and one page per topic.

``routes()`` maps URL paths to page functions; ``serve()`` starts Panel's server (localhost by default), opens its
port at once and warms the topics in the background: a page whose topic is still warming shows a loading state and
swaps its Explorer in when the warm-up is done.
"""

from __future__ import annotations

import base64
import gc
import html
import logging
import sys
import threading
from pathlib import Path

import panel as pn

from workbench.topics import TOPICS, Topic
from workbench.ui import error_message, load_extensions, page_template
from workbench.ui.theme import ACCENT

__all__ = ["home", "topic_page", "routes", "serve", "check_serve_args", "start_warmup", "freeze_startup_heap",
           "LOCAL_ADDRESSES"]

ASSETS = Path(__file__).resolve().parent / "assets"
LOCAL_ADDRESSES = ("localhost", "127.0.0.1", "::1")
log = logging.getLogger("workbench.app")

# slug -> set once the topic's warm-up has finished (a topic absent here needs none, or none was started)
_warm: dict[str, threading.Event] = {}


def _thumbnail(slug: str) -> str:
    path = ASSETS / f"{slug}.png"
    if not path.exists():
        return ""
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{slug}" style="width:100%;border-radius:4px">'


def _card(t: Topic) -> str:
    return (
        f'<a class="wb-card" href="{t.slug}" style="display:block;text-decoration:none;color:inherit;'
        f'border:1px solid #ddd;border-radius:8px;padding:12px;width:320px;background:white">'
        f"{_thumbnail(t.slug)}<h3 style='color:{ACCENT};margin:8px 0 4px'>{html.escape(t.title)}</h3>"
        f"<p style='margin:4px 0'>{html.escape(t.claim)}</p>"
        f"<p style='font-size:0.85em;color:#555;margin:4px 0'>{html.escape(t.paper)}</p></a>"
    )


def home():
    """The gallery: one card per registered topic (title, claim, paper, thumbnail)."""
    load_extensions()
    intro = pn.pane.Markdown(
        "Every method re-implemented faithfully, its paper's claim reproduced with one command "
        "(`workbench reproduce <slug>`), its behaviour visible with sliders. Pick a topic.",
        sizing_mode="stretch_width",
    )
    cards = pn.pane.HTML(
        '<div style="display:flex;flex-wrap:wrap;gap:16px">' + "".join(_card(t) for t in TOPICS.values()) + "</div>",
        sizing_mode="stretch_width",
    )
    tpl = page_template("Gallery", [intro, cards])
    tpl.sidebar.clear()
    return tpl


def _release_memory(session_context) -> None:
    """When a session ends: collect its objects now and hand freed heap pages back to the OS (glibc's
    ``malloc_trim``), so that a server's memory returns towards its start once a room has left. After
    :func:`freeze_startup_heap` the collection traverses only what was made since (0.06-0.15 s after three
    pages were built and dropped, against 0.35 s before)."""
    import ctypes

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the collection above is all there is
        pass


def _explorer_parts(t: Topic) -> tuple[list, list]:
    """``(main, sidebar)`` of a topic's page: the Explorer's views and controls, or the error that stopped them."""
    try:
        explorer = t.explorer()
        return [explorer.main_view()], [explorer.controls()]
    except Exception as exc:  # noqa: BLE001 - the page shows the message, not a traceback
        return [error_message(exc)], []


def topic_page(slug: str):
    """The page of one topic: the Explorer's controls in the sidebar, its views in the main area. While the server
    is still warming the topic, a loading state that polls (on this session's loop, every 0.5 s) and swaps the
    Explorer in once the warm-up is done."""
    load_extensions()
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        pn.state.on_session_destroyed(_release_memory)
    t = TOPICS[slug]
    header = pn.pane.Markdown(f"# {t.title}\n{t.claim}\n\n*{t.paper}* — [paper]({t.url})", sizing_mode="stretch_width")
    ready = _warm.get(slug)
    if ready is None or ready.is_set():
        main, sidebar = _explorer_parts(t)
        return page_template(t.title, [header, *main], sidebar)
    loading = pn.Row(pn.indicators.LoadingSpinner(value=True, size=28, name=""),
                     pn.pane.Markdown("Preparing this page: the server has just started and is computing its first "
                                      "figures (a few seconds)."), sizing_mode="stretch_width")
    # the template renders its lists once: the swap replaces the contents of these two columns
    main_column = pn.Column(header, loading, sizing_mode="stretch_width")
    sidebar_column = pn.Column(sizing_mode="stretch_width")
    tpl = page_template(t.title, [main_column], [sidebar_column])

    def swap_in():
        if not ready.is_set():
            return
        callback.stop()
        main, sidebar = _explorer_parts(t)
        main_column[:] = [header, *main]
        sidebar_column[:] = sidebar

    callback = pn.state.add_periodic_callback(swap_in, period=500)
    return tpl


def routes() -> dict:
    """``{path: page function}`` for Panel's server: ``/`` and ``/<slug>`` per topic."""
    pages = {"/": home}
    for slug in TOPICS:
        pages[f"/{slug}"] = lambda slug=slug: topic_page(slug)
    return pages


def freeze_startup_heap() -> int:
    """Collect, then move every object alive (modules, data sets, shipped models, warm caches: about 780,000 with
    every topic loaded) into the collector's permanent generation; return how many were moved.

    Full collections then traverse only what sessions made since. Before, each one took 0.35 s with every topic
    loaded, on the event loop: the automatic ones, and the one :func:`_release_memory` runs for every session that
    ends. So a page load that met one took seconds longer (warm loads of 4-7 s in a page benchmark of every topic,
    whose reloads end a session each). Frozen objects are still freed when their count drops to zero; only
    reference cycles among them are no longer looked for."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def start_warmup() -> threading.Thread:
    """Warm every topic that has a ``warmup`` (its cached real tensors, default fits) in a background thread, one
    topic after another; :func:`topic_page` shows a loading state for a topic until its turn is done. A warm-up
    that fails is logged; its page then computes what it needs itself. At the end, :func:`freeze_startup_heap`."""
    pending = [(t.slug, t.module.warmup) for t in TOPICS.values() if getattr(t.module, "warmup", None)]
    for slug, _ in pending:
        _warm[slug] = threading.Event()

    def work():
        for slug, warmup in pending:
            try:
                warmup()
            except Exception:  # noqa: BLE001 - logged; the page still works, only slower at first
                log.exception("warm-up of %s failed", slug)
            finally:
                _warm[slug].set()
        freeze_startup_heap()
        print("Seed Workbench: every page is warm", flush=True)

    thread = threading.Thread(target=work, name="workbench-warmup", daemon=True)
    thread.start()
    return thread


def check_serve_args(port: int = 5006, address: str = "localhost", websocket_origins: list[str] | None = None,
                     num_procs: int = 1, unix_socket: str | None = None) -> None:
    """``ValueError`` naming the argument for a setting :func:`serve` cannot honour, before any work is done."""
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ValueError(f"port: expected an integer in 0..65535 (0: any free port), got {port!r}")
    if not isinstance(num_procs, int) or isinstance(num_procs, bool) or num_procs < 1:
        raise ValueError(f"num_procs: expected an integer >= 1, got {num_procs!r}")
    if not isinstance(address, str) or not address:
        raise ValueError(f"address: expected a host name or IP address, got {address!r}")
    origins = list(websocket_origins or [])
    if unix_socket is None and "*" in origins:
        raise ValueError("allow_websocket_origin: '*' would let any web site's pages drive this server; name the "
                         "host[:port] browsers use, or serve on --unix-socket behind an authenticating proxy")
    if unix_socket is None and address not in LOCAL_ADDRESSES and not origins:
        raise ValueError(f"address: serving on {address!r} exposes the server beyond this machine; name the "
                         "host:port browsers will use with --allow-websocket-origin (e.g. 192.168.1.10:5006)")
    if unix_socket is not None and not Path(unix_socket).parent.is_dir():
        raise ValueError(f"unix_socket: the folder of {unix_socket!r} does not exist")


def serve(port: int = 5006, address: str = "localhost", show: bool = False, prefix: str = "",
          websocket_origins: list[str] | None = None, warm: bool = True, num_procs: int = 1,
          unix_socket: str | None = None, max_jobs: int | None = None):
    """Serve the app on ``address:port`` (or on the Unix socket ``unix_socket``, for a proxy in front) in
    ``num_procs`` processes. Websocket connections come only from ``localhost:port`` and ``127.0.0.1:port``
    unless ``websocket_origins`` names others (``check_serve_args`` says which settings need them); ``port=0``
    picks a free port and allows that. The port opens at once; the topics warm in the background. ``max_jobs``:
    trainings and live runs at once per process (default one per core, :mod:`workbench.ui.jobs`)."""
    from workbench.ui.jobs import configure_jobs

    check_serve_args(port, address, websocket_origins, num_procs, unix_socket)
    configure_jobs(max_jobs)
    handler = logging.StreamHandler(sys.stdout)  # job starts and ends, warm-up failures: the server's log
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    workbench_log = logging.getLogger("workbench")
    workbench_log.addHandler(handler)
    workbench_log.setLevel(logging.INFO)
    workbench_log.propagate = False  # once, whatever a library did to the root logger
    if unix_socket is None and port == 0:
        from workbench.ui.browser import free_port

        port = free_port(address)  # the origins must name the port actually served
    origins = websocket_origins or [f"localhost:{port}", f"127.0.0.1:{port}"]
    kwargs = {"unix_socket": unix_socket} if unix_socket else {"port": port, "address": address}
    server = pn.serve(routes(), show=show, prefix=prefix, websocket_origin=origins, title="Seed Workbench",
                      threaded=False, num_procs=num_procs, start=False, verbose=False, **kwargs)
    if warm:  # in each process, after Bokeh's fork: the port is open, the first pages show a loading state
        start_warmup()
    where = f"the Unix socket {unix_socket}" if unix_socket else f"http://{address}:{port}{prefix}/"
    print(f"Seed Workbench: serving on {where}", flush=True)
    server.start()
    server.io_loop.start()
    return server
