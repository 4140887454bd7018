"""The Gaussian-process baselines, with GPyTorch: the exact GP (the "wrongly assumed model" of the bias experiments:
stationary RBF kernel, Gaussian noise) and the sparse variational GP (SVGP; Hensman et al., 2013) with as many
inducing points as SIP. Both predict a single Gaussian per input (a :class:`~.predictive.GaussianMixture` with
``S = 1``): they cannot put two modes or input-dependent noise in it.

Hyper-parameters (ARD lengthscales, signal and noise variance) are fitted by the marginal likelihood (exact GP) or the
ELBO (SVGP) with Adam; inputs and targets are standardised on the training set, as for SIP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from workbench.checks import check_int, check_real
from workbench.implicit_processes.datasets import check_x, check_xy
from workbench.implicit_processes.predictive import GaussianMixture
from workbench.implicit_processes.sip import Standardiser
from workbench.implicit_processes.sparse import initial_inducing_index

__all__ = ["ExactGP", "SparseVariationalGP"]


def _gpytorch():
    try:
        import gpytorch
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError("the GP baselines need GPyTorch: pip install 'gpytorch>=1.13'") from exc
    return gpytorch


def _kernel(gpytorch, d: int):
    return gpytorch.kernels.ScaleKernel(gpytorch.kernels.RBFKernel(ard_num_dims=d))


@torch.no_grad()
def _gaussian_predictive(fitted, X, dtype: torch.dtype) -> GaussianMixture:
    """The Gaussian predictive ``N(μ(x), σ_f²(x) + σ²)`` of a fitted GP baseline (``model_``, ``likelihood_``,
    ``scaler_``) at ``X``, in the units of ``y``; exact (Cholesky, full predictive variances)."""
    gpytorch = _gpytorch()
    if not hasattr(fitted, "model_"):
        raise RuntimeError(f"{type(fitted).__name__}: call fit(X, y) before predicting")
    xs = fitted.scaler_.x(check_x(X)).to(dtype)
    fitted.model_.eval()
    fitted.likelihood_.eval()
    with gpytorch.settings.max_cholesky_size(100_000), gpytorch.settings.fast_pred_var(False):
        pred = fitted.likelihood_(fitted.model_(xs))
    s = fitted.scaler_.y_std
    return GaussianMixture((pred.mean * s + fitted.scaler_.y_mean).float()[None],
                           (pred.variance.sqrt() * s).float()[None])


@dataclass
class ExactGP:
    """Exact GP regression (Cholesky, float64), hyper-parameters by ``iterations`` Adam steps on the marginal
    likelihood. Learned: ``model_``, ``likelihood_``, ``scaler_``, ``history_`` (negative marginal log-likelihood
    per point, each step)."""

    iterations: int = 150
    lr: float = 0.1
    seed: int = 0
    history_: list = field(default_factory=list, init=False, repr=False)

    def fit(self, X, y) -> "ExactGP":
        gpytorch = _gpytorch()
        iterations = check_int("iterations", self.iterations, 1)
        lr = check_real("lr", self.lr)
        x, y = check_xy(X, y)
        self.scaler_ = Standardiser.fit(x, y)
        xs, ys = self.scaler_.x(x).double(), self.scaler_.y(y).double()
        torch.manual_seed(check_int("seed", self.seed, 0))

        class _Model(gpytorch.models.ExactGP):
            def __init__(self, likelihood):
                super().__init__(xs, ys, likelihood)
                self.mean_module = gpytorch.means.ConstantMean()
                self.covar_module = _kernel(gpytorch, xs.shape[1])

            def forward(self, inputs):
                return gpytorch.distributions.MultivariateNormal(self.mean_module(inputs), self.covar_module(inputs))

        self.likelihood_ = gpytorch.likelihoods.GaussianLikelihood().double()
        self.model_ = _Model(self.likelihood_).double()
        self.model_.train()
        self.likelihood_.train()
        opt = torch.optim.Adam(self.model_.parameters(), lr=lr)
        mll = gpytorch.mlls.ExactMarginalLogLikelihood(self.likelihood_, self.model_)
        self.history_ = []
        with gpytorch.settings.max_cholesky_size(100_000):
            for _ in range(iterations):
                opt.zero_grad()
                loss = -mll(self.model_(xs), ys)
                loss.backward()
                opt.step()
                self.history_.append(float(loss.detach()))
        return self

    def predict(self, X) -> GaussianMixture:
        """The Gaussian predictive ``N(μ(x), σ_f²(x) + σ²)`` in the units of ``y``."""
        return _gaussian_predictive(self, X, torch.float64)


@dataclass
class SparseVariationalGP:
    """SVGP with ``n_inducing`` learned inducing inputs (initialised at random training inputs), a full-covariance
    Gaussian ``q(u)``, minibatch ELBO with Adam."""

    n_inducing: int = 50
    epochs: int = 100
    batch_size: int = 100
    lr: float = 0.01
    seed: int = 0
    history_: list = field(default_factory=list, init=False, repr=False)

    def fit(self, X, y) -> "SparseVariationalGP":
        gpytorch = _gpytorch()
        m = check_int("n_inducing", self.n_inducing, 1)
        epochs = check_int("epochs", self.epochs, 1)
        batch = check_int("batch_size", self.batch_size, 1)
        lr = check_real("lr", self.lr)
        x, y = check_xy(X, y)
        self.scaler_ = Standardiser.fit(x, y)
        xs, ys = self.scaler_.x(x), self.scaler_.y(y)
        gen = torch.Generator().manual_seed(check_int("seed", self.seed, 0))
        torch.manual_seed(self.seed)
        index = initial_inducing_index(len(xs), m, gen)

        class _Model(gpytorch.models.ApproximateGP):
            def __init__(self, z):
                dist = gpytorch.variational.CholeskyVariationalDistribution(len(z))
                strategy = gpytorch.variational.VariationalStrategy(self, z, dist, learn_inducing_locations=True)
                super().__init__(strategy)
                self.mean_module = gpytorch.means.ConstantMean()
                self.covar_module = _kernel(gpytorch, z.shape[1])

            def forward(self, inputs):
                return gpytorch.distributions.MultivariateNormal(self.mean_module(inputs), self.covar_module(inputs))

        self.model_ = _Model(xs[index].clone())
        self.likelihood_ = gpytorch.likelihoods.GaussianLikelihood()
        self.model_.train()
        self.likelihood_.train()
        opt = torch.optim.Adam([*self.model_.parameters(), *self.likelihood_.parameters()], lr=lr)
        elbo = gpytorch.mlls.VariationalELBO(self.likelihood_, self.model_, num_data=len(ys))
        self.history_ = []
        for _ in range(epochs):
            perm = torch.randperm(len(xs), generator=gen)
            total = 0.0
            for lo in range(0, len(xs), batch):
                idx = perm[lo:lo + batch]
                opt.zero_grad()
                loss = -elbo(self.model_(xs[idx]), ys[idx])
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            self.history_.append(total / len(xs))
        return self

    def predict(self, X) -> GaussianMixture:
        """The Gaussian predictive in the units of ``y``."""
        return _gaussian_predictive(self, X, torch.float32)
