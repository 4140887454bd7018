import pytest

from workbench import data


@pytest.fixture(scope="session")
def set5():
    """The Set5 folder; the tests that need it skip, saying why, when the files are absent."""
    if not data.on_this_machine("set5"):
        pytest.skip("the Set5 images are not on this machine (set WORKBENCH_DATA to a folder with set5/)")
    return data.find("set5", download=False)
