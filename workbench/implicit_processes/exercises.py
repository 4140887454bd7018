"""The notebook's "try this" exercises, checked against the library (:mod:`workbench.exercises`): the truths come from
:func:`~.sparse.conditional`, :func:`~.energy.alpha_energy` and :class:`~.predictive.GaussianMixture`, so no number
is typed in twice."""

from __future__ import annotations

import math

import torch

from workbench.exercises import exercise, is_close
from workbench.implicit_processes.energy import alpha_energy
from workbench.implicit_processes.predictive import GaussianMixture
from workbench.implicit_processes.sparse import Moments, conditional

__all__ = ["K_XX", "K_XZ", "K_ZZ", "U", "SAMPLES", "Y", "BRANCH", "NOISE"]

# one input x and one inducing input z, zero prior means
K_XX, K_XZ, K_ZZ = 1.0, 0.8, 2.0
U = 3.0  # the value of f(z)
# the α-energy at one point: two function samples, y = 0, unit noise variance, α = 1
SAMPLES = (0.0, 2.0)
Y = 0.0
# the bimodal law at one x: y = ±BRANCH with equal probability, plus N(0, NOISE²)
BRANCH, NOISE = 10.0, 1.0


def _conditional() -> tuple[float, float]:
    d = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    m = Moments(d([0.0]), d([0.0]), d([K_XX]), d([[K_XZ]]), d([[K_ZZ]]))
    mean, var = conditional(m, d([[U]]), jitter=0.0)
    return float(mean[0, 0]), float(var[0])


@exercise("implicit_processes.conditional",
          hint="mean = K_xz K_zz⁻¹ (u − m_z) with m_z = 0; variance = K_xx − K_xz² / K_zz")
def _conditional_exercise(answer):
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return f"expected (mean, variance), got {answer!r}"
    mean, var = _conditional()
    return is_close(answer[0], mean, rel=1e-4) is True and is_close(answer[1], var, rel=1e-4) is True


@exercise("implicit_processes.energy",
          hint="with α = 1 it is log of the average likelihood: log((N(0 | 0, 1) + N(0 | 2, 1)) / 2)")
def _energy(answer):
    f = torch.tensor(SAMPLES, dtype=torch.float64)[:, None]
    truth = alpha_energy(f, torch.tensor([Y], dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64), 1.0)
    return is_close(answer, float(truth[0]), rel=1e-4)


def _best_gaussian_nll() -> float:
    """The expected negative log-likelihood of the best single Gaussian, ``N(0, BRANCH² + NOISE²)``, under the
    bimodal law, by quadrature against the law's own mixture density."""
    law = GaussianMixture(torch.tensor([[-BRANCH], [BRANCH]], dtype=torch.float64),
                          torch.tensor([[NOISE], [NOISE]], dtype=torch.float64))
    one = GaussianMixture(torch.tensor([[0.0]], dtype=torch.float64),
                          torch.tensor([[math.sqrt(BRANCH ** 2 + NOISE ** 2)]], dtype=torch.float64))
    grid = torch.linspace(-BRANCH - 12 * NOISE, BRANCH + 12 * NOISE, 40_001, dtype=torch.float64)[:, None]
    weight = law.log_density(grid)[:, 0].exp()
    return float(torch.trapezoid(-one.log_density(grid)[:, 0] * weight, grid[:, 0]))


@exercise("implicit_processes.gaussian_nll",
          hint="the best Gaussian has mean 0 and variance E[y²] = 10² + 1 = 101; its expected NLL is "
               "½ log(2π · 101) + E[y²] / (2 · 101)")
def _gaussian_nll(answer):
    return is_close(answer, _best_gaussian_nll(), rel=1e-4)
