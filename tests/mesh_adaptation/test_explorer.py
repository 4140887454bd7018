"""The E2N page's live run goes through the server's job pool: the click returns at once, the result lands."""

import time

import pytest

from tests.mesh_adaptation.conftest import needs_firedrake


@pytest.mark.firedrake
@needs_firedrake
def test_live_run_runs_in_the_job_pool_and_lands_on_the_page():
    from workbench.mesh_adaptation.explorer import Explorer
    from workbench.ui.jobs import jobs

    e = Explorer(case="aligned", method="e2n")
    e._live_target.value = 200  # the smallest live run
    e._on_live(None)
    running = [j for j in jobs().active if j.name == "live e2n run on aligned"]
    if running:  # (it may have finished already: then the status below says so)
        running[0].wait(timeout=600)
    deadline = time.monotonic() + 60  # a hang guard: the result is handed back after the work returns
    while e._live_button.disabled and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not e._live_button.disabled
    assert e._live_status.object.startswith("Live e2n run:"), e._live_status.object
    assert ("aligned", "e2n") in e._live_runs
