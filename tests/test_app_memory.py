"""The server's heap after its warm-up: what is alive then is frozen out of the collector's generations, so the
collection run when a session ends (and the automatic full ones) no longer traverse every topic's modules and data,
while the garbage sessions leave is still collected."""

import gc
import types
import weakref

import pytest

from workbench import app


@pytest.fixture
def unfrozen():
    """Each test starts and ends with nothing frozen (the rest of the test session keeps its normal collector)."""
    gc.unfreeze()
    yield
    gc.unfreeze()


class _Node:
    pass


def test_freezing_empties_the_old_generation_and_keeps_collecting_new_cycles(unfrozen):
    kept = [[_Node() for _ in range(1000)]]  # alive at freezing time, so frozen
    gc.collect()
    old_before = len(gc.get_objects(generation=2))
    frozen = app.freeze_startup_heap()
    # everything alive moved to the permanent generation: what the oldest generation held (less the few objects
    # the collection inside freeze_startup_heap frees), and so our 1,000 nodes too
    assert frozen == gc.get_freeze_count() >= 0.99 * old_before and old_before > 10 * len(kept[0])
    # what was left in the oldest generation is a small remainder (objects tracked while freezing), not the heap
    remainder = gc.get_objects(generation=2)
    assert len(remainder) < old_before / 100 and not any(obj is kept[0] for obj in remainder)
    # a session's garbage made after the freeze: a reference cycle, freed only by the cycle collector
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    assert gone() is not None  # only a collection frees a cycle
    app._release_memory(None)  # what the server runs when a session ends
    assert gone() is None
    assert len(kept[0]) == 1000


def test_the_warm_up_freezes_the_heap_once_every_topic_is_warm(monkeypatch, unfrozen):
    order = []
    topics = {slug: types.SimpleNamespace(slug=slug, module=types.SimpleNamespace(
        warmup=lambda slug=slug: order.append(slug))) for slug in ("one", "two")}
    monkeypatch.setattr(app, "TOPICS", topics)
    monkeypatch.setattr(app, "_warm", {})
    monkeypatch.setattr(app, "freeze_startup_heap", lambda: order.append("freeze") or 0)
    app.start_warmup().join(timeout=60)
    assert order == ["one", "two", "freeze"]
    assert all(event.is_set() for event in app._warm.values())
