"""The Panel multi-page app: a home gallery of the registered topics and one page per topic.

``routes()`` maps URL paths to page functions; ``serve()`` starts Panel's server on localhost.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import panel as pn

from workbench.topics import TOPICS, Topic
from workbench.ui import error_message, load_extensions, page_template
from workbench.ui.theme import ACCENT

__all__ = ["home", "topic_page", "routes", "serve"]

ASSETS = Path(__file__).resolve().parent / "assets"


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


def topic_page(slug: str):
    """The page of one topic: the Explorer's controls in the sidebar, its views in the main area."""
    load_extensions()
    t = TOPICS[slug]
    header = pn.pane.Markdown(f"# {t.title}\n{t.claim}\n\n*{t.paper}* — [paper]({t.url})", sizing_mode="stretch_width")
    try:
        explorer = t.explorer()
        return page_template(t.title, [header, explorer.main_view()], [explorer.controls()])
    except Exception as exc:  # noqa: BLE001 - the page shows the message, not a traceback
        return page_template(t.title, [header, error_message(exc)])


def routes() -> dict:
    """``{path: page function}`` for Panel's server: ``/`` and ``/<slug>`` per topic."""
    pages = {"/": home}
    for slug in TOPICS:
        pages[f"/{slug}"] = lambda slug=slug: topic_page(slug)
    return pages


def serve(port: int = 5006, address: str = "localhost", show: bool = False, prefix: str = "",
          websocket_origins: list[str] | None = None, warm: bool = True):
    """Serve the app on ``address:port``; websocket connections only from that origin by default."""
    origins = websocket_origins or [f"localhost:{port}", f"127.0.0.1:{port}"]
    if warm:  # compute the cached real tensors before the first visitor arrives
        for t in TOPICS.values():
            warmup = getattr(t.module, "warmup", None)
            if warmup:
                warmup()
    return pn.serve(routes(), port=port, address=address, show=show, prefix=prefix,
                    websocket_origin=origins, title="Seed Workbench", threaded=False)
