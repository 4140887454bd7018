"""The served app in a real browser: every page loads, no console errors, interactions change the page."""

import time

import pytest

from workbench.execution.explorer import market_label
from workbench.topics import TOPICS

pytestmark = pytest.mark.ui

def open_topic(page, url, slug):
    """Open a topic's page and wait for a plot (how long it takes is a figure of `make bench`, not a bound here)."""
    page.goto(f"{url}/{slug}", wait_until="domcontentloaded")
    page.wait_for_selector(".bk-Canvas, canvas", state="attached", timeout=60_000)


def test_home_gallery_lists_every_topic(page, app_url):
    page.goto(app_url + "/")
    cards = page.locator("a.wb-card")
    cards.first.wait_for(timeout=30_000)
    assert cards.count() == len(TOPICS)
    for t in TOPICS.values():
        assert page.get_by_text(t.title).count() >= 1
    cards.first.click()
    page.wait_for_url(f"**/{next(iter(TOPICS))}", timeout=30_000)
    assert not page.console_errors


@pytest.mark.parametrize("slug", list(TOPICS))
def test_topic_page_loads_without_errors(page, app_url, slug):
    open_topic(page, app_url, slug)  # cold: the first visit builds the caches
    open_topic(page, app_url, slug)  # and warm
    assert page.locator("text=Traceback").count() == 0
    assert not page.console_errors, page.console_errors


def test_nm_sparsity_interactions(page, app_url):
    open_topic(page, app_url, "nm_sparsity")
    info = page.get_by_text("gradient of shape")
    info.first.wait_for(timeout=30_000)
    page.get_by_role("button", name="weight", exact=True).click()
    page.get_by_text("weight of shape").first.wait_for(timeout=30_000)
    # a setting the approx sampler cannot do: the page shows the message, not a traceback
    page.get_by_label("Weights", exact=True).select_option("1:2")
    page.get_by_role("button", name="approx", exact=True).click()
    page.get_by_text("draws 2:4 masks only").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="mvue", exact=True).click()
    # training streams epochs into the page
    page.get_by_role("button", name="Train").click()
    page.get_by_text("epoch 15/15").first.wait_for(timeout=60_000)
    assert page.locator("text=Traceback").count() == 0
    assert not page.console_errors, page.console_errors


def test_structure_learning_interactions(page, app_url):
    open_topic(page, app_url, "structure_learning")
    page.get_by_text("Node 0").first.wait_for(timeout=30_000)
    field = page.get_by_label("Node", exact=True)
    field.fill("7")
    field.press("Enter")
    page.get_by_text("Node 7").first.wait_for(timeout=30_000)
    # training streams theta: the status reports outer iterations, then done
    page.get_by_role("button", name="Train").click()
    page.get_by_text("outer iteration").first.wait_for(timeout=120_000)
    page.get_by_text("done").first.wait_for(timeout=180_000)
    assert page.locator("text=Traceback").count() == 0
    assert not page.console_errors, page.console_errors


def test_execution_playback_and_agents(page, app_url):
    open_topic(page, app_url, "execution")
    page.get_by_text("shortfall").first.wait_for(timeout=30_000)
    status = page.get_by_text("t =").first
    status.wait_for(timeout=30_000)
    before = status.inner_text()
    # step, then play: the cursor moves, so the status line's time changes
    page.locator("button.next").click()
    page.get_by_text("t =").first.wait_for(timeout=10_000)
    deadline = time.monotonic() + 30
    while status.inner_text() == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status.inner_text() != before
    page.locator("button.play").click()
    moved = status.inner_text()
    deadline = time.monotonic() + 30
    while status.inner_text() == moved and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status.inner_text() != moved
    page.locator("button.pause").click()
    # switching the agent recomputes the episode: the summary names the new agent
    page.get_by_label("Agent", exact=True).select_option("twap")
    page.get_by_text("agent twap").first.wait_for(timeout=30_000)
    page.get_by_label("Agent", exact=True).select_option("improve_1t")  # the book-reading baseline is on the menu too
    page.get_by_text("agent improve_1t").first.wait_for(timeout=30_000)
    # a held-out blended stock is a market like the others (its day is simulated on demand)
    page.get_by_label("Market", exact=True).select_option(label=market_label("blend_1"))
    page.get_by_text("blend_1 (synthetic").first.wait_for(timeout=60_000)
    assert page.locator("text=Traceback").count() == 0
    assert not page.console_errors, page.console_errors


def test_mesh_adaptation_meshes_switch(page, app_url):
    open_topic(page, app_url, "mesh_adaptation")
    page.get_by_text("Precomputed results").first.wait_for(timeout=30_000)
    summary = page.get_by_text("coloured by").first
    summary.wait_for(timeout=30_000)
    assert "coloured by element size" in summary.inner_text()
    page.get_by_text("last", exact=True).first.wait_for(timeout=10_000)  # the iteration slider starts at the last
    page.get_by_label("Colour by", exact=True).select_option("flow speed")
    page.get_by_text("coloured by flow speed").first.wait_for(timeout=30_000)
    page.get_by_label("Case", exact=True).select_option("offset")
    page.get_by_text("offset farm").first.wait_for(timeout=30_000)
    page.get_by_label("Method", exact=True).select_option("uniform")
    page.get_by_text("uniform, level").first.wait_for(timeout=30_000)
    assert page.locator("text=Traceback").count() == 0
    assert not page.console_errors, page.console_errors


def test_compression_compresses_a_layer_in_the_page(page, app_url):
    open_topic(page, app_url, "compression")
    page.get_by_text("relative error").first.wait_for(timeout=300_000)  # after the warm-up's default fit
    page.get_by_label("Method", exact=True).select_option(label="vector quantization")
    page.get_by_text("press Compress").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Compress").click()
    page.get_by_text("Compressed.").first.wait_for(timeout=300_000)
    assert page.get_by_text("VectorQuantization(").count() >= 1
    # the shipped run's second view is drawn when its tab is opened (one tab at a time keeps the load fast)
    titles = "() => [...Bokeh.documents[0].all_models].filter(m => m.type === 'Title').map(m => m.text).join('|')"
    assert "accuracy against" not in page.evaluate(titles) and "frontier" in page.evaluate(titles)
    page.get_by_text("Accuracy against model size, across the sparsity topics", exact=True).click()
    page.wait_for_function(f"({titles})().includes('accuracy against')", timeout=60_000)
    # and so is the layer's second view, its factors
    assert "per row" not in page.evaluate(titles)
    page.get_by_text("The factors: Z's sparsity pattern and the dictionary C", exact=True).click()
    page.wait_for_function(f"({titles})().includes('per row')", timeout=60_000)
    assert page.locator("text=Traceback").count() == 0
    assert not page.console_errors, page.console_errors


def test_gnn_sampling_draws_switches_and_trains_in_the_page(page, app_url):
    open_topic(page, app_url, "gnn_sampling")
    page.get_by_text("probabilities at a GCN after").first.wait_for(timeout=300_000)  # after the warm-up
    titles = "() => [...Bokeh.documents[0].all_models].filter(m => m.type === 'Title').map(m => m.text).join('|')"
    assert "one drawn batch" in page.evaluate(titles) and "P(drawn) against" in page.evaluate(titles)
    # a sampler the warm-up did not prepare: loaded off the loop, then described
    page.get_by_label("Sampler", exact=True).select_option(label="GraphSAGE (5, 5)")
    page.locator("strong", has_text="GraphSAGE (5, 5)").first.wait_for(timeout=120_000)  # the status, not the option
    # training streams its evaluations into the page, then says done
    page.get_by_role("button", name="Train").click()
    page.get_by_text("step 200 of 200").first.wait_for(timeout=300_000)
    page.get_by_text("done.").first.wait_for(timeout=300_000)
    # the convergence curves are drawn when their tab is opened
    assert "validation F1 against mini-batches" not in page.evaluate(titles)
    page.get_by_text("Validation F1 against mini-batches", exact=True).click()
    page.wait_for_function(f"({titles})().includes('validation F1 against mini-batches')", timeout=60_000)
    page.get_by_text("Training loss against mini-batches", exact=True).click()
    page.wait_for_function(f"({titles})().includes('training loss against mini-batches')", timeout=60_000)
    assert page.locator("text=Traceback").count() == 0
    assert not page.console_errors, page.console_errors


def test_aux_weighting_drops_a_task_and_trains_in_the_page(page, app_url):
    open_topic(page, app_url, "aux_weighting")
    page.locator("strong", has_text="meta (AUX-TS)").first.wait_for(timeout=60_000)
    titles = "() => [...Bokeh.documents[0].all_models].filter(m => m.type === 'Title').map(m => m.text).join('|')"
    assert "each task's weight" in page.evaluate(titles) and "gradient cosine" in page.evaluate(titles)
    # the few-label setting has a shipped run of its own
    labels = page.get_by_label("Labelled training nodes", exact=True)
    labels.select_option(label="5 per class")
    page.get_by_text("(5 labels per class)").first.wait_for(timeout=60_000)
    assert page.get_by_text("shipped run, mean over 5 seeds").count() > 0
    labels.select_option(label="20 per class (Planetoid's split)")
    page.get_by_text("(Planetoid's split) with").first.wait_for(timeout=60_000)
    # untick a task: the page says which run it shows
    page.get_by_label("random_labels", exact=True).uncheck()
    page.get_by_text("left out: random_labels").first.wait_for(timeout=60_000)
    # a fast method trains off the loop, streams its epochs, then says done
    page.get_by_label("Method", exact=True).select_option(label="target only")
    page.locator("strong", has_text="target only").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Train").click()
    page.get_by_text("epoch 200").first.wait_for(timeout=300_000)
    page.get_by_text("done.").first.wait_for(timeout=300_000)
    # every method's accuracy is drawn when its tab is opened
    assert "validation accuracy over training" not in page.evaluate(titles)
    page.get_by_text("Validation accuracy, every method", exact=True).click()
    page.wait_for_function(f"({titles})().includes('validation accuracy over training')", timeout=60_000)
    assert page.locator("text=Traceback").count() == 0
    assert not page.console_errors, page.console_errors


def test_implicit_processes_trains_and_draws_the_predictive_density(page, app_url):
    open_topic(page, app_url, "implicit_processes")
    page.locator("strong", has_text="SIP with a neural sampler prior").first.wait_for(timeout=60_000)
    titles = "() => [...Bokeh.documents[0].all_models].filter(m => m.type === 'Title').map(m => m.text).join('|')"
    assert "predictive density p(y | x)" in page.evaluate(titles)
    # a setting the shipped run does not have: Train streams the density and the inducing inputs, then says done
    page.get_by_label("Data set", exact=True).select_option("heteroscedastic")
    page.locator("strong", has_text="heteroscedastic").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Train").click()
    page.get_by_text("epoch 150/150").first.wait_for(timeout=300_000)
    page.get_by_text("done.").first.wait_for(timeout=300_000)
    page.wait_for_function(f"({titles})().includes('your run, epoch 150')", timeout=60_000)
    # the training curve is drawn when its tab is opened
    page.get_by_text("Training", exact=True).click()
    page.wait_for_function(f"({titles})().includes('the data term over epochs')", timeout=60_000)
    assert page.locator("text=Traceback").count() == 0
    assert not page.console_errors, page.console_errors


def test_spiking_traffic_trains_and_draws_spikes(page, app_url):
    import re

    from workbench.bench import _MARK_HANDLE

    open_topic(page, app_url, "spiking_traffic")
    page.locator("strong", has_text="(VoIP)").first.wait_for(timeout=60_000)
    titles = "() => [...Bokeh.documents[0].all_models].filter(m => m.type === 'Title').map(m => m.text).join('|')"
    page.wait_for_function(f"({titles})().includes('spike raster of the hidden layer')", timeout=60_000)
    page.wait_for_function(f"({titles})().includes('confusion matrix')", timeout=60_000)
    assert "your run" not in page.evaluate(titles)
    # another flow: a class, then the next flow of it (the slider, from the keyboard)
    page.get_by_label("Class", exact=True).select_option("video")
    page.locator("strong", has_text="(video)").first.wait_for(timeout=60_000)
    page.get_by_text("Flow number").first.evaluate(_MARK_HANDLE)
    page.locator("[data-wb-probe]").first.press("ArrowRight")
    page.locator("strong", has_text="Flow 2 of").first.wait_for(timeout=60_000)
    assert "readout over time" not in page.evaluate(titles)  # its tab is drawn when opened
    page.get_by_text("Readout over time", exact=True).click()
    page.wait_for_function(f"({titles})().includes('readout over time: predicts')", timeout=60_000)
    # one epoch: Train streams it off the loop, then the confusion matrix is the run's
    page.locator("[data-wb-probe]").first.evaluate("h => h.removeAttribute('data-wb-probe')")
    page.get_by_text(re.compile(r"^Epochs")).first.evaluate(_MARK_HANDLE)  # the slider's title, not "8 epochs"
    page.locator("[data-wb-probe]").first.press("Home")
    page.get_by_role("button", name="Train").click()
    page.get_by_text("epoch 1/1").first.wait_for(timeout=300_000)
    page.get_by_text("done.").first.wait_for(timeout=300_000)
    page.wait_for_function(f"({titles})().includes('confusion matrix — your run (hidden 100, sigmoid, 1 epoch)')",
                           timeout=60_000)
    # the inputs: size and gap bins redraw the encoding (diamonds: the gaps), the shown network and its confusion
    # matrix (the run above was on the size bins); back to the size bins, the run is there again
    page.get_by_label("Inputs", exact=True).select_option("size + gap bins")
    page.wait_for_function(f"({titles})().includes('diamonds: gap')", timeout=60_000)
    page.wait_for_function(f"({titles})().includes('confusion matrix — shipped pre-trained network on size + gap "
                           "bins')", timeout=60_000)
    page.get_by_text("shipped pre-trained network (size + gap bins").first.wait_for(timeout=60_000)
    page.locator("strong", has_text="Flow 2 of").first.wait_for(timeout=60_000)
    page.get_by_label("Inputs", exact=True).select_option("size bins (paper)")
    page.wait_for_function(f"({titles})().includes('confusion matrix — your run (hidden 100, sigmoid, 1 epoch)')",
                           timeout=60_000)
    assert "diamonds: gap" not in page.evaluate(titles)
    assert page.locator("text=Traceback").count() == 0
    assert not page.console_errors, page.console_errors


def test_sobolev_inr_trains_and_draws_maps(page, app_url):
    import re

    from workbench.bench import _MARK_HANDLE

    open_topic(page, app_url, "sobolev_inr")
    page.get_by_text("centred 96×96 crop").first.wait_for(timeout=60_000)
    titles = "() => [...Bokeh.documents[0].all_models].filter(m => m.type === 'Title').map(m => m.text).join('|')"
    # before any Train: the image, what a fit sees and the filter's derivatives
    page.wait_for_function(f"({titles})().includes('what a fit sees')", timeout=60_000)
    page.wait_for_function(f"({titles})().includes('sobel filter: ∂/∂y')", timeout=60_000)
    assert "Sobolev, step" not in page.evaluate(titles)
    # a small crop and 10 steps: Train fits both networks off the loop and streams their maps and curves
    page.get_by_label("Crop (pixels a side)", exact=True).select_option("64")
    page.get_by_text("centred 64×64 crop").first.wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"^Steps")).first.evaluate(_MARK_HANDLE)  # the slider's title, not "same steps"
    page.locator("[data-wb-probe]").first.press("Home")
    page.get_by_role("button", name="Train").click()
    page.get_by_text("done.").first.wait_for(timeout=300_000)
    for title in ("reconstruction — Sobolev, step 10", "network ∂/∂x — Sobolev, step 10",
                  "|error| (0…0.2) — Sobolev, step 10", "value-only: test", "Sobolev (λ = 1): test"):
        page.wait_for_function(f"({titles})().includes({title!r})", timeout=60_000)
    assert page.get_by_text("Sobolev − value-only").count() >= 1
    assert page.locator("text=Traceback").count() == 0
    assert not page.console_errors, page.console_errors
