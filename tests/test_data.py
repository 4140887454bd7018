import shutil
from pathlib import Path

import pytest

from workbench import data


def test_digits_loads_from_the_package():
    X, y = data.load("digits")
    assert X.shape == (1797, 64) and y.shape == (1797,) and set(y.tolist()) == set(range(10))


def test_search_path_order(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_DATA", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    path = data.search_path()
    assert path[:2] == [tmp_path / "a", tmp_path / "b"]
    assert path[2:] == [data.REPO_DATA, data.REPO_DATA / "cache"]


def test_finds_and_verifies_shared_planetoid():
    folder = data.find("planetoid", download=False)
    assert (folder / "ind.cora.graph").is_file()


def test_missing_data_error_names_set_places_and_remedy(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path))
    monkeypatch.setattr(data, "REPO_DATA", tmp_path / "repo-data")
    with pytest.raises(data.DataNotFoundError) as info:
        data.find("lobster", download=False)
    msg = str(info.value)
    assert "'lobster'" in msg and str(tmp_path / "lobster") in msg and "WORKBENCH_DATA" in msg


def test_checksum_mismatch_is_reported(monkeypatch, tmp_path):
    src = data.find("sip", download=False)
    dst = tmp_path / "sip"
    shutil.copytree(src, dst)
    (dst / "bim_test.txt").write_text("tampered\n")
    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="checksum mismatch"):
        data.find("sip", download=False)


def test_unknown_name():
    with pytest.raises(ValueError, match="name"):
        data.find("imagenet")


def _offline_planetoid(monkeypatch, tmp_path, fetch):
    """``find("planetoid")`` with nothing on disk, downloading through ``fetch(url, path)`` into tmp_path."""
    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(data, "REPO_DATA", tmp_path / "repo-data")
    monkeypatch.setattr(data, "_fetch", fetch)
    return tmp_path / "repo-data" / "cache" / "planetoid"


def _fail_mid_download(url, path):
    path.write_bytes(b"half a file")
    raise OSError("connection reset")


@pytest.mark.parametrize("fetch,error", [(lambda url, path: path.write_bytes(b"<html>moved</html>"), ValueError),
                                         (_fail_mid_download, data.DataNotFoundError)])
def test_failed_download_leaves_nothing_in_the_cache(monkeypatch, tmp_path, fetch, error):
    cache = _offline_planetoid(monkeypatch, tmp_path, fetch)
    with pytest.raises(error, match="checksum mismatch for https://|connection reset"):
        data.find("planetoid")
    assert list(cache.iterdir()) == []  # neither the bad file nor its .part copy stays behind


def test_verified_download_is_renamed_into_place(monkeypatch, tmp_path):
    shared = data.find("planetoid", download=False)
    cache = _offline_planetoid(monkeypatch, tmp_path,
                               lambda url, path: shutil.copyfile(shared / url.rsplit("/", 1)[1], path))
    assert data.find("planetoid") == cache
    assert sorted(p.name for p in cache.iterdir()) == sorted(data.DATASETS["planetoid"].files)


def test_a_download_fetches_each_file_from_its_remote_path(monkeypatch, tmp_path):
    """The SIP files sit in two folders of their repository (bim/, het/) and land flat in the cache, verified."""
    shared = data.find("sip", download=False)
    asked = []

    def fetch(url, path):
        asked.append(url)
        shutil.copyfile(shared / url.rsplit("/", 1)[1], path)

    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(data, "REPO_DATA", tmp_path / "repo-data")
    monkeypatch.setattr(data, "_fetch", fetch)
    assert data.find("sip") == tmp_path / "repo-data" / "cache" / "sip"
    assert sorted(u.rsplit("/data/", 1)[1] for u in asked) == ["bim/bim_data.txt", "bim/bim_test.txt",
                                                               "het/heteroc.txt", "het/heteroc_test.txt"]


def test_package_shipped_regression_sets():
    x, y = data.load("diabetes")
    assert x.shape == (442, 10) and y.shape == (442,)
    x, y = data.load("engel")
    assert x.shape == (235, 1) and y.shape == (235,) and (y > 0).all()


def test_on_this_machine_never_downloads(monkeypatch, tmp_path):
    """Without the files it says False at once instead of fetching them; with them (the shared folder), True."""
    from workbench import data

    def fetch(url, path):
        raise AssertionError("on_this_machine must not download")

    monkeypatch.setattr(data, "_fetch", fetch)
    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path))
    monkeypatch.setattr(data, "REPO_DATA", tmp_path / "repo-data")
    assert data.on_this_machine("sip") is False
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if (shared / "traffic").is_dir():
        monkeypatch.setenv("WORKBENCH_DATA", str(shared))
        assert data.on_this_machine("traffic") is True
