"""Sparse Implicit Processes (SIP; Santana, Zaldívar, Hernández-Lobato, ICML 2022): the released code's model and
objective, on a shorter schedule.

Model: ``y = f(x) + ε``, ``ε ~ N(0, σ²)``, ``f ~ IP`` (any :mod:`.priors` prior). With ``M`` trainable inducing
inputs ``Z`` and ``u = f(Z)``:

* the prior's ``S`` joint samples at ``[X_batch, Z]`` give Gaussian moments and ``p(f_x | u)`` (:mod:`.sparse`);
* ``q(u)`` is a neural sampler (:mod:`.posterior`), so ``q(f_x) = ∫ p(f_x | u) q(u) du`` is a non-Gaussian mixture;
* the objective, maximised over ``q``, ``Z``, ``σ²`` and the prior's own parameters, is

      Σ_{n ∈ batch} L_n(α)  −  β_t · KL(q(u) ‖ p(u)) · |batch| / N,

  with the α-energy ``L_n`` (:mod:`.energy`) on samples ``f_n^s = mean_n(u_s) + sqrt(var_n) ε`` and the KL read
  from a discriminator trained alongside (:mod:`.discriminator`), ``β_t`` annealed from 0 to 1 over the first
  twentieth of the epochs.
* The released code trains 5,000 epochs of 10 points (900,000 steps for 1,800 points) with Adam at 1e-4 for
  everything but the discriminator (1e-3), one discriminator step before each step on the rest, from a nearly
  deterministic start: prior means ``N(0, 0.05²)`` with tiny weight scales, ``q``'s noise variance ``e⁻⁵`` and
  ``log σ² = −5``. That is about 4 CPU-hours per fit in PyTorch; :data:`RELEASED` holds it. Our default
  (:class:`SIP`'s defaults) reaches the same kind of fit in 5,400 steps (300 epochs of 100 points; on one core about
  40 s with the neural-sampler prior, 2 minutes with the BNN prior):
  Adam at 3e-3 (1e-3 for ``log σ²``, so that the noise does not grow to explain what the functions should),
  ``"scaled"`` initialisations of the BNN prior and of ``q`` (weights ``N(0, 1/fan_in)``, unit noise into ``q``),
  so that samples vary from the first step; the BNN prior trained without dropout, as it predicts, and a jitter
  of 1e-2 on ``K_zz`` in its place (see :class:`SIP`'s ``prior_dropout`` and ``jitter``). ``S = 100`` samples in
  training, 500 for prediction; ``X`` and ``y`` standardised on the training set.

The predictive distribution at ``x*`` is the mixture ``(1/S) Σ_s N(y | mean_*(u_s), var_* + σ²)``, ``u_s ~ q``.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch
from torch import Tensor

from workbench.checks import check_int, check_real
from workbench.implicit_processes.datasets import check_x, check_xy
from workbench.implicit_processes.discriminator import KL_ESTIMATORS, Discriminator, discriminator_loss, kl_estimate
from workbench.implicit_processes.energy import alpha_energy, check_alpha
from workbench.implicit_processes.posterior import InducingSampler
from workbench.implicit_processes.predictive import GaussianMixture
from workbench.implicit_processes.priors import PRIORS, ImplicitPrior, make_prior
from workbench.implicit_processes.sparse import JITTER, conditional, empirical_moments, initial_inducing_index

__all__ = ["SIP", "Standardiser", "RELEASED", "N_INDUCING", "PRIOR_DROPOUT", "PRIOR_JITTER"]

#: the released code's number of inducing points per prior (SIP_bnn.py, SIP_ns.py)
N_INDUCING = {"bnn": 50, "ns": 100}

#: the released code's schedule and initialisation (SIP_bnn.py), for ``SIP(**RELEASED)``
RELEASED = {"epochs": 5000, "batch_size": 10, "lr": 1e-4, "noise_lr": 1e-4, "disc_lr": 1e-3, "prior_init": "released",
            "q_init": "released", "q_noise_log_var": -5.0, "init_noise_log_var": -5.0, "prior_dropout": "released",
            "jitter": "released"}

#: the priors' training-time dropout: the released code's, and our schedule's (see :class:`SIP`'s ``prior_dropout``)
PRIOR_DROPOUT = {"released": {"bnn": 0.1, "ns": 0.05}, "schedule": {"bnn": 0.0, "ns": 0.05}}

#: the jitter on the estimated ``K_zz`` where it is not the released code's :data:`~.sparse.JITTER` (see
#: :class:`SIP`'s ``jitter``)
PRIOR_JITTER = {"released": {}, "schedule": {"bnn": 1e-2}}


def _check_named_or_real(name: str, value, table: dict, expected: str, *bounds, **kw) -> None:
    """``value`` is a key of ``table`` (a named setting) or a real that :func:`check_real` accepts with ``bounds``."""
    if not isinstance(value, str):
        check_real(name, value, *bounds, **kw)
    elif value not in table:
        raise ValueError(f"{name}: expected {expected} or one of {list(table)}, got {value!r}")


def _resolve(value, table: dict, prior, default):
    """A setting of :func:`_check_named_or_real`'s kind for ``prior``: the value itself, or the named setting's entry
    for ``prior`` (``default`` where it has none)."""
    return float(value) if not isinstance(value, str) else table[value].get(prior, default)


@dataclass
class Standardiser:
    """Column means and standard deviations of the training inputs and targets (the released code's scaling)."""

    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: float
    y_std: float

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray) -> "Standardiser":
        x_std = x.std(0)
        y_std = float(y.std())
        return cls(x.mean(0), np.where(x_std > 0, x_std, 1.0), float(y.mean()), y_std if y_std > 0 else 1.0)

    def x(self, x: np.ndarray) -> Tensor:
        return torch.as_tensor((x - self.x_mean) / self.x_std, dtype=torch.float32)

    def y(self, y: np.ndarray) -> Tensor:
        return torch.as_tensor((y - self.y_mean) / self.y_std, dtype=torch.float32)


@dataclass
class SIP:
    """``SIP(prior="bnn", alpha=0.5).fit(X, y)``; then ``predict(X_test)`` is a :class:`GaussianMixture` in the
    units of ``y``.

    Args:
        prior: a name in :data:`~.priors.PRIORS` or an :class:`~.priors.ImplicitPrior` (its ``in_dim`` must match X).
        alpha: the α of the energy, in (0, 1] (→ 0: variational inference).
        n_inducing: M inducing points (50 for the BNN prior, 100 for the neural-sampler prior in the released code).
        n_samples: S, prior and posterior samples per training step.
        epochs, batch_size, lr, disc_lr: the schedule; ``anneal``: the fraction of epochs over which the KL's
            weight rises from 0 to 1.
        noise_lr: Adam's rate for ``log σ²``.
        kl: ``"symmetric"`` (the released code's estimate) or ``"forward"`` (see :mod:`.discriminator`).
        prior_init, q_init, q_noise_log_var, init_noise_log_var: the starting point (``"scaled"`` or
            ``"released"``; see the module and :data:`RELEASED`).
        prior_dropout: the training-time dropout rate of a named BNN or neural-sampler prior: a rate, or
            ``"released"`` (0.1 and 0.05) or ``"schedule"`` (ours: 0 for the BNN prior, 0.05 for the neural sampler);
            an :class:`~.priors.ImplicitPrior` passed in keeps its own. The released BNN prior drops out every
            pre-activation, its output too, independently per sample and input, while training and not when
            predicting: that noise, whose variance grows with ``f²``, enters the estimated covariances as a
            nugget the fit relies on, and is gone from the predictive (docs/implicit_processes.md has the runs).
            The neural sampler's dropout acts on its features ``a(x)``, shared by every sample, and on its
            coefficients ``v_s``, shared by every input: neither adds a nugget, and it keeps it.
        jitter: added to the diagonal of the estimated ``K_zz`` before its Cholesky factor: a value, or
            ``"released"`` (1e-5 for every prior) or ``"schedule"`` (ours: 1e-2 for the BNN prior, in the
            standardised units of ``y``, and 1e-5 for the others). ``S`` samples of the smooth BNN prior give a
            ``K_zz`` whose eigenvalues run from round-off to 10³; without dropout's noise on its diagonal,
            ``K_xz K_zz⁻¹ (u − m_z)`` amplifies whatever part of ``u`` lies off the prior's span (by at most
            ``sqrt(K_xx / jitter)`` per unit of ``‖u − m_z‖``). The other priors keep their dropout, or have none
            to lose, and 1e-2 made the neural sampler worse on diabetes.
        seed: every random draw (initialisation, minibatches, samples) comes from it; CPU results repeat exactly.

    Learned attributes: ``prior_``, ``q_``, ``discriminator_``, ``inducing_`` (``(M, D)``, standardised inputs),
    ``log_noise_var_``, ``scaler_``, ``history_``.
    """

    prior: str | ImplicitPrior = "bnn"
    alpha: float = 1.0
    n_inducing: int = 50
    n_samples: int = 100
    epochs: int = 300
    batch_size: int = 100
    lr: float = 3e-3
    noise_lr: float = 1e-3
    disc_lr: float = 1e-3
    anneal: float = 0.05
    kl: str = "symmetric"
    prior_init: str = "scaled"
    q_init: str = "scaled"
    q_noise_log_var: float = 0.0
    init_noise_log_var: float = -5.0
    prior_dropout: float | str = "schedule"
    jitter: float | str = "schedule"
    seed: int = 0
    history_: list = field(default_factory=list, init=False, repr=False)

    def _check(self) -> None:
        if isinstance(self.prior, str) and self.prior not in PRIORS:
            raise ValueError(f"prior: expected one of {list(PRIORS)} or an ImplicitPrior, got {self.prior!r}")
        if not isinstance(self.prior, (str, ImplicitPrior)):
            raise TypeError(f"prior: expected a name or an ImplicitPrior, got {type(self.prior).__name__}")
        check_alpha(self.alpha)
        check_int("n_inducing", self.n_inducing, 1)
        check_int("n_samples", self.n_samples, 2)
        check_int("epochs", self.epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        check_real("lr", self.lr)
        check_real("disc_lr", self.disc_lr)
        check_real("noise_lr", self.noise_lr)
        for name in ("prior_init", "q_init"):
            if getattr(self, name) not in ("released", "scaled"):
                raise ValueError(f"{name}: expected 'released' or 'scaled', got {getattr(self, name)!r}")
        check_real("q_noise_log_var", self.q_noise_log_var, -math.inf)
        check_real("init_noise_log_var", self.init_noise_log_var, -math.inf)
        check_real("anneal", self.anneal, 0.0, 1.0, low_open=False)
        _check_named_or_real("prior_dropout", self.prior_dropout, PRIOR_DROPOUT, "a rate in [0, 1)", 0.0, 1.0,
                             low_open=False, high_open=True)
        _check_named_or_real("jitter", self.jitter, PRIOR_JITTER, "a value >= 0", 0.0, low_open=False)
        if self.kl not in KL_ESTIMATORS:
            raise ValueError(f"kl: expected one of {list(KL_ESTIMATORS)}, got {self.kl!r}")
        check_int("seed", self.seed, 0)

    # ------------------------------------------------------------------ training
    def fit(self, X, y, progress: Callable | None = None, should_stop: Callable[[], bool] | None = None) -> "SIP":
        """Train on ``X (N, D)``, ``y (N,)``; ``progress(record)`` after every epoch; ``should_stop()`` ends early."""
        for record in self.iter_fit(X, y):
            if progress is not None:
                progress(record)
            if should_stop is not None and should_stop():
                break
        return self

    def iter_fit(self, X, y) -> Iterator[dict]:
        """Train, yielding after every epoch ``{"epoch", "energy", "kl", "disc_loss", "noise_std", "inducing"}``
        (energy and KL averaged over the epoch's minibatches, ``inducing`` the inducing inputs in data units)."""
        self._check()
        x, y = check_xy(X, y)
        self.scaler_ = Standardiser.fit(x, y)
        xs, ys = self.scaler_.x(x), self.scaler_.y(y)
        n, d = xs.shape
        gen = torch.Generator().manual_seed(self.seed)  # every draw below takes it: the global generator is untouched
        prior = (self.prior if isinstance(self.prior, ImplicitPrior)
                 else make_prior(self.prior, d, gen, init=self.prior_init, dropout=self._dropout()))
        if prior.in_dim != d:
            raise ValueError(f"prior: expected a prior for {d} input dimensions, got in_dim={prior.in_dim}")
        m = self.n_inducing
        self.inducing_ = torch.nn.Parameter(xs[initial_inducing_index(n, m, gen)].clone())
        self.prior_ = prior
        self.q_ = InducingSampler(m, noise_log_var=self.q_noise_log_var, init=self.q_init, generator=gen)
        self.discriminator_ = Discriminator(m, generator=gen)
        self.log_noise_var_ = torch.nn.Parameter(torch.tensor(float(self.init_noise_log_var)))
        primal = [*self.prior_.parameters(), *self.q_.parameters(), self.inducing_]
        opt = torch.optim.Adam([{"params": primal},
                                {"params": [self.log_noise_var_], "lr": self.noise_lr}], lr=self.lr)
        opt_disc = torch.optim.Adam(self.discriminator_.parameters(), lr=self.disc_lr)
        self.history_ = []
        anneal_epochs = max(1, int(self.epochs * self.anneal))
        self.prior_.train()
        for epoch in range(self.epochs):
            beta = min(epoch / anneal_epochs, 1.0) if self.anneal > 0 else 1.0
            perm = torch.randperm(n, generator=gen)
            sums = {"energy": 0.0, "kl": 0.0, "disc_loss": 0.0}
            batches = 0
            for lo in range(0, n, self.batch_size):
                idx = perm[lo:lo + self.batch_size]
                energy, kl, disc = self._step(xs[idx], ys[idx], n, beta, gen, opt, opt_disc)
                sums["energy"] += energy
                sums["kl"] += kl
                sums["disc_loss"] += disc
                batches += 1
            record = {"epoch": epoch + 1, **{k: v / batches for k, v in sums.items()},
                      "noise_std": float((0.5 * self.log_noise_var_.detach()).exp()) * self.scaler_.y_std,
                      "inducing": self.inducing_inputs()}
            self.history_.append({k: v for k, v in record.items() if k != "inducing"})
            yield record
        self.prior_.eval()

    def _dropout(self) -> float | None:
        """The rate for the named prior (None for the priors without dropout)."""
        if self.prior not in PRIOR_DROPOUT["released"]:
            return None
        return _resolve(self.prior_dropout, PRIOR_DROPOUT, self.prior, None)

    def _jitter(self) -> float:
        """The jitter for this prior (the released one for a prior passed in as an object)."""
        return _resolve(self.jitter, PRIOR_JITTER, self.prior if isinstance(self.prior, str) else None, JITTER)

    def _joint_prior(self, x: Tensor, n_samples: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        f = self.prior_.sample(torch.cat([x, self.inducing_]), n_samples, gen)
        return f[:, :len(x)], f[:, len(x):]

    def _step(self, xb, yb, n, beta, gen, opt, opt_disc) -> tuple[float, float, float]:
        f_x, f_z = self._joint_prior(xb, self.n_samples, gen)
        u = self.q_.sample(self.n_samples, gen)
        # discriminator: q's samples against the prior's at Z
        disc = discriminator_loss(self.discriminator_(u.detach()), self.discriminator_(f_z.detach()))
        opt_disc.zero_grad()
        disc.backward()
        opt_disc.step()
        # everything else, with the updated discriminator's KL
        mean, var = conditional(empirical_moments(f_x, f_z), u, self._jitter())
        f = mean + var.sqrt() * torch.randn(mean.shape, generator=gen)
        energy = alpha_energy(f, yb, self.log_noise_var_, self.alpha).sum()
        kl = kl_estimate(self.discriminator_(u), self.discriminator_(f_z), self.kl)
        loss = -(energy - beta * kl * len(yb) / n)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(energy.detach()) / len(yb), float(kl.detach()), float(disc.detach())

    def inducing_inputs(self) -> np.ndarray:
        """The inducing inputs ``Z`` ``(M, D)`` in the units of ``X``."""
        self._fitted()
        return self.inducing_.detach().numpy() * self.scaler_.x_std + self.scaler_.x_mean

    # ------------------------------------------------------------------ prediction
    def _fitted(self) -> None:
        if not hasattr(self, "q_"):
            raise RuntimeError("SIP: call fit(X, y) before predicting")

    @contextlib.contextmanager
    def _prior_without_dropout(self):
        """The prior in evaluation mode (no dropout) inside, and back in the mode it was in after: a prediction
        between two epochs of :meth:`iter_fit` leaves the training as it was."""
        was_training = self.prior_.training
        self.prior_.eval()
        try:
            yield
        finally:
            self.prior_.train(was_training)

    @torch.no_grad()
    def predict(self, X, n_samples: int = 500, seed: int = 0, chunk: int = 250) -> GaussianMixture:
        """The predictive mixture at ``X (N*, D)`` with ``n_samples`` components, in the units of ``y``."""
        self._fitted()
        n_samples = check_int("n_samples", n_samples, 2)
        xs = self.scaler_.x(check_x(X))
        gen = torch.Generator().manual_seed(check_int("seed", seed, 0))
        u = self.q_.sample(n_samples, gen)
        means, variances = [], []
        with self._prior_without_dropout():
            for lo in range(0, len(xs), chunk):
                f_x, f_z = self._joint_prior(xs[lo:lo + chunk], n_samples, gen)
                mean, var = conditional(empirical_moments(f_x, f_z), u, self._jitter())
                means.append(mean)
                variances.append(var)
        mean, var = torch.cat(means, 1), torch.cat(variances)
        s = self.scaler_.y_std
        std = (var + self.log_noise_var_.exp()).sqrt()
        return GaussianMixture(mean * s + self.scaler_.y_mean, (std * s).expand_as(mean).clone())

    @torch.no_grad()
    def prior_samples(self, X, n_samples: int = 20, seed: int = 0) -> np.ndarray:
        """``(S, N*)`` function samples of the (tuned, if fitted) prior at ``X``, in the units of ``y``."""
        self._fitted()
        x = check_x(X)
        gen = torch.Generator().manual_seed(check_int("seed", seed, 0))
        with self._prior_without_dropout():
            f = self.prior_.sample(self.scaler_.x(x), check_int("n_samples", n_samples, 2), gen)
        return f.numpy() * self.scaler_.y_std + self.scaler_.y_mean
