import pytest

from workbench import data


@pytest.fixture(scope="session")
def iscx():
    """The shared ISCX flows (train, val); the tests that need them skip, saying why, when the files are absent."""
    from workbench.spiking_traffic.flows import load_iscx

    try:
        data.find("traffic", download=False)
    except data.DataNotFoundError as e:
        pytest.skip(f"the ISCX flows are not on this machine: {e}")
    return load_iscx("train"), load_iscx("val")
