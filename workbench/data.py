"""Named data sets: where they are looked for, how they are checked, and how they are fetched.

Search order for a file-based data set ``name`` (a folder of files):

1. each folder in ``WORKBENCH_DATA`` (colon-separated): ``<folder>/<name>/``;
2. ``data/<name>/`` in the repository;
3. ``data/cache/<name>/``, downloaded there from the public source when the machine is online.

Every file with a known SHA-256 is verified once it is found; a download is verified under a temporary
name before it is renamed into place (and deleted if it fails), so the cache holds only verified files. Data sets
that ship with a Python package (scikit-learn's digits) need no files.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

__all__ = ["Dataset", "DATASETS", "DataNotFoundError", "search_path", "find", "on_this_machine", "load", "load_digits",
           "load_diabetes", "load_engel"]

REPO_DATA = Path(__file__).resolve().parent.parent / "data"


class DataNotFoundError(FileNotFoundError):
    """A data set is in none of the searched places and could not be downloaded."""


@dataclass(frozen=True)
class Dataset:
    """A named data set: its files with checksums, its public source and its provenance."""

    name: str
    description: str
    provenance: str
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    base_url: str | None = None  # files are downloaded from base_url + file name
    remote: dict[str, str] = field(default_factory=dict)  # file name -> its path under base_url, where they differ
    loader: Callable | None = None  # for package-shipped data: () -> data


def load_digits():
    """scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes; UCI), shipped with the package.

    Returns ``(X, y)``: ``X`` float64 ``(1797, 64)`` with pixel values 0..16, ``y`` int ``(1797,)``.
    """
    from sklearn.datasets import load_digits as _load

    d = _load()
    return d.data, d.target


def load_diabetes():
    """scikit-learn's diabetes regression set (Efron et al., 2004): 442 patients, 10 standardised covariates, disease
    progression after one year. Returns ``(X, y)``: float64 ``(442, 10)`` and ``(442,)``."""
    from sklearn.datasets import load_diabetes as _load

    d = _load()
    return d.data.astype(float), d.target.astype(float)


def load_engel():
    """Engel's food expenditure data (1857), as shipped by statsmodels: 235 Belgian working-class households.
    Returns ``(X, y)``: household income ``(235, 1)`` and food expenditure ``(235,)``, both in Belgian francs."""
    from statsmodels.datasets import engel

    d = engel.load_pandas().data
    return d[["income"]].to_numpy(float), d["foodexp"].to_numpy(float)


_PLANETOID_SHA = {
    "ind.citeseer.allx": "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668",
    "ind.citeseer.ally": "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95",
    "ind.citeseer.graph": "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7",
    "ind.citeseer.test.index": "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4",
    "ind.citeseer.tx": "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21",
    "ind.citeseer.ty": "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce",
    "ind.citeseer.x": "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6",
    "ind.citeseer.y": "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924",
    "ind.cora.allx": "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
    "ind.cora.ally": "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
    "ind.cora.graph": "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
    "ind.cora.test.index": "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
    "ind.cora.tx": "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
    "ind.cora.ty": "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
    "ind.cora.x": "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
    "ind.cora.y": "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
}

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            "digits",
            "8x8 handwritten digits, 1,797 images, 10 classes",
            "UCI optical recognition of handwritten digits, as shipped by scikit-learn",
            loader=load_digits,
        ),
        Dataset(
            "diabetes",
            "diabetes progression, 442 patients x 10 covariates (regression)",
            "Efron, Hastie, Johnstone, Tibshirani (2004), as shipped by scikit-learn",
            loader=load_diabetes,
        ),
        Dataset(
            "engel",
            "food expenditure against income, 235 households (regression, heteroscedastic)",
            "Engel (1857) via Koenker and Bassett (1982), as shipped by statsmodels",
            loader=load_engel,
        ),
        Dataset(
            "planetoid",
            "Cora and Citeseer citation graphs with the standard Planetoid split",
            "Yang, Cohen, Salakhutdinov (ICML 2016), github.com/kimiyoung/planetoid data/",
            files=_PLANETOID_SHA,
            base_url="https://github.com/kimiyoung/planetoid/raw/master/data/",
        ),
        Dataset(
            "lobster",
            "AAPL 2012-06-21, first 999 LOBSTER events after the open, 10 levels",
            "LOBSTER free sample (lobsterdata.com); no stable direct link: download the AAPL level-10 sample",
            files={
                "AAPL_2012-06-21_34200000_57600000_message_10.csv":
                    "2e2c9733b3bc831e38b66e9324afc3b8167ba67a556e9a133c4c2060963a8976",
                "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv":
                    "277aba2634356baa2f355598ffa7ae124abc60670ea4a56dc66b617bae33a12d",
            },
        ),
        Dataset(
            "traffic",
            "ISCX VPN-nonVPN non-VPN flows, 20 packets, 5 classes",
            "processed by the ODE-Flow authors, github.com/talshapira/ODE-Flow ode_const_20_multiclass_reg/",
            files={
                "iscx_nonvpn_20pkt_x_train.npy": "0c1d01199fc5f044d703c002b043b8c67db452c95b8c77ab1080583f5a0a0a8d",
                "iscx_nonvpn_20pkt_x_val.npy": "6bbdee6ff3b9f470226cd6f76230d0017ace97e0b8b1198f716e4b11e018d86e",
                "iscx_nonvpn_20pkt_y_train.npy": "bb56e0da627039d991192e18d261551a2ef893aeae6481acf883a2fa87a6d330",
                "iscx_nonvpn_20pkt_y_val.npy": "b38dc5c194346c5006ca1727923be99a21bd53528942e5c6b57f3e2e920da150",
            },
        ),
        Dataset(
            "sip",
            "synthetic bimodal and heteroscedastic regression sets of the Sparse Implicit Processes paper",
            "github.com/simonrsantana/sparse-implicit-processes data/bim, data/het",
            files={
                "bim_data.txt": "663372a0f905273f692a18d4604da73d311b2e5224dfccb90a3a8d7502c3ac77",
                "bim_test.txt": "991d27353c0e1f72184caf54c235194869c7b6d68fa7e969032b4ba3a84f822e",
                "heteroc.txt": "c671438636451032507f1dca75683b165d8e5f7e909541814710ef658b15a480",
                "heteroc_test.txt": "13a342555cb963a1eae2c6b1cf04c6295fcf0edba3f7923a7c980c7bce02ba62",
            },
            base_url="https://raw.githubusercontent.com/simonrsantana/sparse-implicit-processes/"
                     "97592c5a33267cabefe6a93e06905efa65ccd6a2/data/",
            remote={"bim_data.txt": "bim/bim_data.txt", "bim_test.txt": "bim/bim_test.txt",
                    "heteroc.txt": "het/heteroc.txt", "heteroc_test.txt": "het/heteroc_test.txt"},
        ),
        Dataset(
            "sip-splits",
            "the released code's 20 train/test permutations of the SIP paper's bimodal and heteroscedastic sets "
            "(one comma-separated permutation of the 2,000 points per line)",
            "github.com/simonrsantana/sparse-implicit-processes data/bim/permutations_bim_data.txt, "
            "data/het/permutations_heteroc.txt",
            files={
                "permutations_bim_data.txt": "2259982ffa7a70b837b2962a1c5596a2aa79fdea6f6168682391b2065a469fe5",
                "permutations_heteroc.txt": "2259982ffa7a70b837b2962a1c5596a2aa79fdea6f6168682391b2065a469fe5",
            },
            base_url="https://raw.githubusercontent.com/simonrsantana/sparse-implicit-processes/"
                     "97592c5a33267cabefe6a93e06905efa65ccd6a2/data/",
            remote={"permutations_bim_data.txt": "bim/permutations_bim_data.txt",
                    "permutations_heteroc.txt": "het/permutations_heteroc.txt"},
        ),
        Dataset(
            "mnist",
            "MNIST test set: 10,000 handwritten digits, 28x28 greyscale, 10 classes",
            "LeCun, Cortes, Burges, the MNIST database (t10k files), as mirrored in "
            "github.com/SubhadityaMukherjee/pytorchTutorialRepo data/MNIST/raw/",
            files={
                "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            },
            base_url="https://github.com/SubhadityaMukherjee/pytorchTutorialRepo/raw/"
                     "0d66c51fbdeb03ef0ca3874e71fad3a7b2367c29/data/MNIST/raw/",
        ),
        Dataset(
            "set5",
            "Set5 colour images",
            "Bevilacqua et al. (BMVC 2012), as in github.com/majedelhelou/denoising_datasets CSet5/",
            files={
                "baby.png": "cb85956d68f708a1030c790d143cbcd108f5ac5988d3349180cdcb54dd80597d",
                "bird.png": "5dcf863f7c3802e68fbb0fca2ec351052a1f97a4db613e510dbd105cee9a6a32",
                "butterfly.png": "487d841c9dbc46c7ab496c319ec1f13268de7ea7e02f94ae18781ca86a5abd0d",
                "head.png": "f524c1ce41641c1cf269a20c4dfbe965e07e471d609abc19dfadfb71037cc873",
                "woman.png": "f276625a222b9ce18d18d86e1ec603fea50427b7c0a2927b3750b1bb86a07b83",
            },
        ),
    ]
}


def _get(name: str) -> Dataset:
    if name not in DATASETS:
        raise ValueError(f"name: expected one of {sorted(DATASETS)}, got {name!r}")
    return DATASETS[name]


def search_path() -> list[Path]:
    """Folders searched, in order: ``WORKBENCH_DATA`` entries, ``data/``, ``data/cache/``."""
    env = [Path(p).expanduser() for p in os.environ.get("WORKBENCH_DATA", "").split(os.pathsep) if p]
    return [*env, REPO_DATA, REPO_DATA / "cache"]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check(ds: Dataset, path: Path, sha: str, shown: str, remedy: str) -> None:
    """Raise ``ValueError`` naming ``shown`` (the file or its URL) unless ``path`` has the SHA-256 ``sha``."""
    got = _sha256(path)
    if sha and got != sha:
        raise ValueError(f"data set {ds.name!r}: checksum mismatch for {shown} (expected sha256 {sha}, got {got}); "
                         + remedy)


def _verify(ds: Dataset, folder: Path) -> None:
    for fname, sha in ds.files.items():
        _check(ds, folder / fname, sha, str(folder / fname), "delete the file to fetch it again")


def _fetch(url: str, path: Path) -> None:
    """Write the bytes at ``url`` to ``path`` (the one network call; tests replace it)."""
    with urllib.request.urlopen(url, timeout=30) as r, open(path, "wb") as f:
        f.write(r.read())


def _download(ds: Dataset, dest: Path) -> None:
    """Fetch each missing file to ``<name>.part``, verify its checksum, and only then rename it into place;
    a failed download or a checksum mismatch deletes the partial file, so ``dest`` holds only verified files."""
    dest.mkdir(parents=True, exist_ok=True)
    for fname, sha in ds.files.items():
        target = dest / fname
        if target.exists():
            continue
        tmp = target.with_name(target.name + ".part")
        url = ds.base_url + ds.remote.get(fname, fname)
        try:
            _fetch(url, tmp)
            _check(ds, tmp, sha, url, "the download was deleted; the source may have changed")
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)


def find(name: str, *, download: bool = True) -> Path:
    """The folder holding every file of data set ``name`` (verified), downloading it if allowed.

    Raises:
        DataNotFoundError: naming the data set, the places searched and how to get it.
    """
    ds = _get(name)
    if not ds.files:
        raise ValueError(f"name: data set {name!r} ships with a package and has no files; use load({name!r})")
    searched = [p / name for p in search_path()]
    for folder in searched:
        if all((folder / f).is_file() for f in ds.files):
            _verify(ds, folder)
            return folder
    cache = REPO_DATA / "cache" / name
    error = "no download source is known"
    if download and ds.base_url:
        try:
            _download(ds, cache)
            _verify(ds, cache)
            return cache
        except OSError as exc:  # offline, HTTP error
            error = f"download from {ds.base_url} failed: {exc}"
    places = "\n  ".join(str(p) for p in searched)
    raise DataNotFoundError(
        f"data set {name!r} ({ds.description}) not found. Searched:\n  {places}\n"
        f"and {error}. Get the files {sorted(ds.files)} from {ds.provenance}, put them in one of those "
        f"folders, or point WORKBENCH_DATA at a folder that holds {name}/."
    )


def on_this_machine(name: str) -> bool:
    """Whether every file of data set ``name`` is already here (verified), without downloading: what a page asks
    before it picks what to show, since a page must not wait on the network."""
    try:
        find(name, download=False)
        return True
    except DataNotFoundError:
        return False


def load(name: str):
    """Load a package-shipped data set (e.g. ``load("digits") -> (X, y)``)."""
    ds = _get(name)
    if ds.loader is None:
        raise ValueError(f"name: data set {name!r} is a folder of files; use find({name!r}) and the topic's loader")
    return ds.loader()
