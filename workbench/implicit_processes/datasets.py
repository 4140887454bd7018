"""The regression data sets of the topic, their generators and their train/test splits.

* ``bimodal``, ``heteroscedastic``: the SIP paper's synthetic sets (2,000 points each, ``../shared/data/sip``);
* ``oscillator``: a damped oscillation whose assumed physical model (an undamped oscillator) is wrong (synthetic,
  generated here; the model-bias case of the second paper's kind);
* ``diabetes`` (scikit-learn, 442 patients, 10 covariates) and ``engel`` (statsmodels, 235 households, food
  expenditure against income: real and heteroscedastic): real sets that ship with their packages.

The generators :func:`bimodal` and :func:`heteroscedastic` follow the laws fitted to the paper's files (research
notes, misc.md §3.3) so that a workshop can draw fresh sets of any size. Splits are 90/10 over permutations:
``"seeded"`` ones (``default_rng(split)``, every data set; the shipped results) or, for the two synthetic sets of
the paper, the released code's 20 (``"released"``: data set ``sip-splits`` of :mod:`workbench.data`, which is not
in the shared data offline).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from workbench.checks import check_int, check_real

__all__ = ["RegressionData", "DATASETS", "SYNTHETIC", "SPLIT_SOURCES", "RELEASED_SPLITS", "load", "split",
           "released_permutations", "bimodal", "heteroscedastic", "oscillator", "check_x", "check_xy"]

DATASETS = ("bimodal", "heteroscedastic", "oscillator", "diabetes", "engel")
SYNTHETIC = ("bimodal", "heteroscedastic", "oscillator")
SPLIT_SOURCES = ("seeded", "released")
#: the released code's permutation file of each data set that has one (in data set ``sip-splits``)
RELEASED_SPLITS = {"bimodal": "permutations_bim_data.txt", "heteroscedastic": "permutations_heteroc.txt"}


@dataclass(frozen=True)
class RegressionData:
    """``x (N, D)`` and ``y (N,)`` float64, with where they come from."""

    name: str
    x: np.ndarray
    y: np.ndarray
    description: str
    synthetic: bool

    @property
    def in_dim(self) -> int:
        return self.x.shape[1]


def check_x(x, name: str = "X") -> np.ndarray:
    """``x`` as finite float ``(N, D)`` with ``N >= 2`` (a 1-D array is one input per row)."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"{name}: expected shape (N, D) with N >= 2, got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: expected finite values, got {int((~np.isfinite(x)).sum())} NaN or infinite")
    return x


def check_xy(x, y, name_x: str = "X", name_y: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """``x`` as float ``(N, D)`` (:func:`check_x`) and ``y`` as float ``(N,)``, same ``N``, all finite."""
    x = check_x(x, name_x)
    y = np.asarray(y, dtype=float)
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"{name_y}: expected shape ({x.shape[0]},) to match {name_x} {x.shape}, got {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError(f"{name_y}: expected finite values, got {int((~np.isfinite(y)).sum())} NaN or infinite")
    return x, y


def bimodal(n: int = 2000, seed: int = 0) -> RegressionData:
    """``x ~ U[−4, 4]``; with probability ½ ``y = 10 sin(x − 0.5) + ε``, else ``y = 10 cos(x − 0.5) + ε``,
    ``ε ~ N(0, 1)``: two branches no unimodal predictive can follow."""
    rng = np.random.default_rng(check_int("seed", seed, 0))
    n = check_int("n", n, 2)
    x = rng.uniform(-4, 4, n)
    branch = rng.random(n) < 0.5
    y = np.where(branch, 10 * np.sin(x - 0.5), 10 * np.cos(x - 0.5)) + rng.standard_normal(n)
    return RegressionData("bimodal", x[:, None], y, "synthetic bimodal set (generator)", True)


def heteroscedastic(n: int = 2000, seed: int = 0) -> RegressionData:
    """``x ~ U[−4, 4]``, ``y = 10 + 7 sin(x) + 2 |sin(x)| ε``: the noise changes with ``x``."""
    rng = np.random.default_rng(check_int("seed", seed, 0))
    n = check_int("n", n, 2)
    x = rng.uniform(-4, 4, n)
    y = 10 + 7 * np.sin(x) + 2 * np.abs(np.sin(x)) * rng.standard_normal(n)
    return RegressionData("heteroscedastic", x[:, None], y, "synthetic heteroscedastic set (generator)", True)


def oscillator(n: int = 500, seed: int = 0, damping: float = 0.3, frequency: float = 2.0, noise: float = 0.2
               ) -> RegressionData:
    """A damped oscillator observed with noise: ``t ~ U[0, 10]``, ``y = 3 e^{−γ t} cos(ω t) + N(0, noise²)``.
    The assumed physical model (:class:`~.priors.OscillatorPrior`) has no damping."""
    rng = np.random.default_rng(check_int("seed", seed, 0))
    n = check_int("n", n, 2)
    damping = check_real("damping", damping, 0.0, low_open=False)
    frequency = check_real("frequency", frequency)
    noise = check_real("noise", noise)
    t = rng.uniform(0, 10, n)
    y = 3 * np.exp(-damping * t) * np.cos(frequency * t) + noise * rng.standard_normal(n)
    return RegressionData("oscillator", t[:, None], y, "synthetic damped oscillator (generator)", True)


def _sip_file(name: str, file: str) -> RegressionData:
    from workbench import data

    table = np.loadtxt(data.find("sip") / file)
    return RegressionData(name, table[:, :1], table[:, 1], f"SIP paper's {file} (Santana et al., 2022)", False)


@functools.lru_cache(maxsize=8)
def load(name: str) -> RegressionData:
    """The data set ``name`` (one of :data:`DATASETS`); the paper's files are looked up by :mod:`workbench.data`."""
    if name == "bimodal":
        return _sip_file(name, "bim_data.txt")
    if name == "heteroscedastic":
        return _sip_file(name, "heteroc.txt")
    if name == "oscillator":
        return oscillator()
    if name in ("diabetes", "engel"):
        from workbench import data

        x, y = data.load(name)
        return RegressionData(name, x, y, data.DATASETS[name].description, False)
    raise ValueError(f"name: expected one of {list(DATASETS)}, got {name!r}")


def released_permutations(name: str) -> np.ndarray:
    """The released code's permutations of data set ``name`` (a key of :data:`RELEASED_SPLITS`), ``(20, N)`` int:
    row ``k`` is split ``k``'s order, its first ``round(0.9 N)`` points training (``SIP_bnn.py``). Each row is checked
    to be a permutation of the data set's ``N`` points."""
    from workbench import data

    if name not in RELEASED_SPLITS:
        raise ValueError(f"name: the released code has permutations for {list(RELEASED_SPLITS)}, got {name!r}")
    perms = np.atleast_2d(np.loadtxt(data.find("sip-splits") / RELEASED_SPLITS[name], delimiter=",", dtype=np.int64))
    n = len(load(name).y)
    if perms.shape[1] != n or not (np.sort(perms, axis=1) == np.arange(n)).all():
        raise ValueError(f"{RELEASED_SPLITS[name]}: expected rows that permute the {n} points of {name}, got shape "
                         f"{perms.shape}")
    return perms


def split(data: RegressionData, index: int, train_fraction: float = 0.9, source: str = "seeded"
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``index``: ``(x_train, y_train, x_test, y_test)``, the first ``round(0.9 N)`` points of a permutation
    for training: drawn with seed ``index`` (``source="seeded"``), or the released code's ``index``-th
    (``"released"``, :func:`released_permutations`, ``index < 20``)."""
    index = check_int("index", index, 0)
    train_fraction = check_real("train_fraction", train_fraction, 0.0, 1.0, high_open=True)
    if source not in SPLIT_SOURCES:
        raise ValueError(f"source: expected one of {list(SPLIT_SOURCES)}, got {source!r}")
    if source == "released":
        perms = released_permutations(data.name)
        if index >= len(perms):
            raise ValueError(f"index: the released code has {len(perms)} splits of {data.name}, got {index}")
        perm = perms[index]
        if len(perm) != len(data.y):
            raise ValueError(f"data: expected the {len(perm)} points of the released {data.name} set, got "
                             f"{len(data.y)}")
    else:
        perm = np.random.default_rng(index).permutation(len(data.y))
    n_train = int(round(len(data.y) * train_fraction))
    tr, te = perm[:n_train], perm[n_train:]
    return data.x[tr], data.y[tr], data.x[te], data.y[te]
