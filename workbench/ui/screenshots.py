"""``python -m workbench.ui.screenshots``: every picture of the README, the docs and the gallery, from the served app
in Chromium.

For every registered topic: its page (``docs/screenshots/<slug>.png``) and the gallery's thumbnail
(``workbench/assets/<slug>.png``: the page's first figure, fitted into 480 × 190); then the gallery itself
(``docs/screenshots/gallery.png``). A new topic gets these with no code here. Pictures that need an action on the
page (press Train, play the replay, open a tab) are listed in :data:`EXTRA`, each a file name, a topic and the
steps to take.

``--only SLUG[,SLUG]`` limits the topics; ``--list`` prints the files it would write.
"""

from __future__ import annotations

import argparse
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

__all__ = ["Shot", "EXTRA", "THUMBNAIL", "main"]

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"
ASSETS = REPO / "workbench" / "assets"
THUMBNAIL = (480, 190)
VIEWPORT = {"width": 1400, "height": 1000}
FIGURE = ".bk-Canvas, canvas, .js-plotly-plot"  # what counts as a figure on a page


@dataclass(frozen=True)
class Shot:
    """A picture of a topic's page after ``steps(page)``: the whole viewport, or the element ``element`` (a CSS
    selector; its first match)."""

    file: str
    slug: str
    steps: Callable = field(default=lambda page: None)
    element: str | None = None
    viewport: dict = field(default_factory=lambda: dict(VIEWPORT))


def _nm_train(page):
    page.get_by_role("button", name="Train").click()
    page.get_by_text("epoch 15/15").first.wait_for(timeout=180_000)
    page.get_by_text("Training on digits").first.scroll_into_view_if_needed()


def _nm_variance(page):
    page.get_by_text("Variance per block").first.scroll_into_view_if_needed()


def _execution_playing(page):
    page.locator("button.play").click()
    page.wait_for_timeout(6_000)  # a passive fill shows by then on the default day
    page.locator("button.pause").click()


def _mesh_3d(page):
    page.get_by_text("Flow speed in 3-D").first.click()
    page.locator(".js-plotly-plot").first.wait_for(state="attached", timeout=60_000)
    page.wait_for_timeout(2_000)


def _sobolev_train(page):
    page.get_by_role("button", name="Train").click()
    page.get_by_text("done.").first.wait_for(timeout=900_000)
    page.wait_for_timeout(2_000)


EXTRA = [
    Shot("nm_sparsity_variance.png", "nm_sparsity", _nm_variance),
    Shot("nm_sparsity_training.png", "nm_sparsity", _nm_train),
    Shot("execution_replay.png", "execution", _execution_playing, viewport={"width": 1500, "height": 1150}),
    Shot("mesh_adaptation_3d.png", "mesh_adaptation", _mesh_3d),
    Shot("sobolev_inr_training.png", "sobolev_inr", _sobolev_train),
]


def _ready(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded", timeout=60_000)
    page.wait_for_selector(FIGURE, state="attached", timeout=120_000)
    page.wait_for_timeout(2_500)  # the last patches and the first paint


def _fit(png: bytes, size: tuple[int, int]) -> bytes:
    """``png`` scaled to fit ``size`` on white, centred."""
    from PIL import Image

    im = Image.open(io.BytesIO(png)).convert("RGB")
    im.thumbnail(size, Image.LANCZOS)
    canvas = Image.new("RGB", size, "white")
    canvas.paste(im, ((size[0] - im.width) // 2, (size[1] - im.height) // 2))
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _shoot(browser, base: str, shot: Shot, out: Path) -> Path:
    ctx = browser.new_context(viewport=shot.viewport)
    try:
        page = ctx.new_page()
        _ready(page, f"{base}/{shot.slug}")
        shot.steps(page)
        target = page.locator(shot.element).first if shot.element else page
        target.screenshot(path=str(out))
    finally:
        ctx.close()
    return out


def _thumbnail(browser, base: str, slug: str) -> Path:
    ctx = browser.new_context(viewport=VIEWPORT)
    try:
        page = ctx.new_page()
        _ready(page, f"{base}/{slug}")
        figure = page.locator(".bk-panel-models-layout-Column .bk-Canvas, .js-plotly-plot").first
        png = figure.screenshot() if figure.count() else page.screenshot()
    finally:
        ctx.close()
    path = ASSETS / f"{slug}.png"
    path.write_bytes(_fit(png, THUMBNAIL))
    return path


def main(argv=None) -> int:
    from workbench.topics import TOPICS
    from workbench.ui.browser import chromium, served_app

    p = argparse.ArgumentParser(prog="python -m workbench.ui.screenshots", description=__doc__.splitlines()[0])
    p.add_argument("--only", help="comma-separated slugs (default: every topic, and the gallery)")
    p.add_argument("--list", action="store_true", help="print the files it would write, and stop")
    args = p.parse_args(argv)
    slugs = [s.strip() for s in args.only.split(",")] if args.only else list(TOPICS)
    unknown = [s for s in slugs if s not in TOPICS]
    if unknown:
        p.error(f"--only: expected slugs from {', '.join(TOPICS)}, got {', '.join(unknown)}")
    plan = [(Shot(f"{s}.png", s), SCREENSHOTS / f"{s}.png") for s in slugs]
    plan += [(shot, SCREENSHOTS / shot.file) for shot in EXTRA if shot.slug in slugs]
    if args.list:
        for _, path in plan:
            print(path.relative_to(REPO))
        print(*(str((ASSETS / f"{s}.png").relative_to(REPO)) for s in slugs), sep="\n")
        if not args.only:
            print((SCREENSHOTS / "gallery.png").relative_to(REPO))
        return 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with served_app() as (base, _), chromium() as browser:
        for slug in slugs:
            print(_thumbnail(browser, base, slug).relative_to(REPO))
        for shot, path in plan:
            print(_shoot(browser, base, shot, path).relative_to(REPO))
        if not args.only:  # the gallery reads the thumbnails on every visit
            ctx = browser.new_context(viewport={"width": 1400, "height": 900})
            page = ctx.new_page()
            page.goto(f"{base}/", wait_until="domcontentloaded", timeout=60_000)
            page.locator("a.wb-card").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1_000)
            page.screenshot(path=str(SCREENSHOTS / "gallery.png"))
            ctx.close()
            print((SCREENSHOTS / "gallery.png").relative_to(REPO))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
