import pytest


@pytest.fixture(scope="session")
def quick_report():
    """The quick run, once per test session (about 20 s on 2 cores): several tests read its JSON."""
    from workbench.pruning.experiments import reproduce

    return reproduce(quick=True)
