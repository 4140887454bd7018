"""Implicit-process priors: distributions over functions that we can only *sample* from.

An implicit process (IP) is a collection of random variables ``f(·)`` such that any finite set ``f(x_1..x_N)`` has a
joint distribution defined by a sampler: ``f(x) = g_θ(x, z)``, ``z ~ p(z)``. Every prior here draws ``S`` function
samples at given inputs, *jointly* (one function per sample, evaluated at every input), which is what the sparse
approximation needs to estimate the moments of ``[f(X), f(Z)]``.

Shapes:
    x: ``(N, D)`` inputs; ``sample(x, S) -> (S, N)``: row ``s`` is function ``f_s`` at every input.

Parameters are trainable: SIP tunes the prior to the data (the objective is maximised over them too).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from workbench.checks import check_int, check_real
from workbench.implicit_processes.sparse import jittered_cholesky

__all__ = ["ImplicitPrior", "BNNPrior", "NeuralSamplerPrior", "GPPrior", "OscillatorPrior", "PRIORS", "make_prior",
           "rbf_kernel", "check_inputs"]

#: tf.nn.leaky_relu's default slope, which the released code uses everywhere
LEAK = 0.2


def check_inputs(x, in_dim: int | None = None, name: str = "x") -> Tensor:
    """``x`` as a finite 2-D float tensor ``(N, D)`` (with ``D == in_dim`` when given)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor (N, D), got {type(x).__name__}")
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"{name}: expected shape (N, D) with N >= 1, got {tuple(x.shape)}")
    if in_dim is not None and x.shape[1] != in_dim:
        raise ValueError(f"{name}: expected {in_dim} input dimensions, got shape {tuple(x.shape)}")
    if not x.is_floating_point() or not torch.isfinite(x).all():
        raise ValueError(f"{name}: expected finite floating-point values, got dtype {x.dtype} "
                         f"with {int((~torch.isfinite(x)).sum()) if x.is_floating_point() else 'n/a'} non-finite")
    return x


class ImplicitPrior(nn.Module):
    """Base class: ``sample(x, n_samples, generator) -> (S, N)`` function values drawn jointly at ``x``."""

    in_dim: int

    def sample(self, x: Tensor, n_samples: int, generator: torch.Generator | None = None) -> Tensor:
        check_inputs(x, self.in_dim)
        check_int("n_samples", n_samples, 2)
        return self._sample(x, n_samples, generator)

    def _sample(self, x: Tensor, n_samples: int, generator: torch.Generator | None) -> Tensor:  # pragma: no cover
        raise NotImplementedError


def _normal(shape, std: float, generator: torch.Generator | None, mean: float = 0.0) -> Tensor:
    return torch.randn(shape, generator=generator) * std + mean


class BNNPrior(ImplicitPrior):
    """A Bayesian neural network prior: ``f(x) = W3ᵀ φ(W2ᵀ φ(W1ᵀ x + b1) + b2) + b3`` with every weight
    ``W = μ + exp(log σ²) ⊙ ε``, ``ε ~ N(0, 1)`` (as the released code: the scale is ``exp(log σ²)``, the
    *variance* parameter, not its square root), biases deterministic, leaky-ReLU ``φ`` (slope 0.2) and dropout
    on every layer's pre-activation while training (rate 0.1). The means and log-variances are learned.

    ``init="released"``: as the released code, means ``N(0, 0.05²)``, log-variances ``N(−5, 2²)``, biases
    ``N(0, 0.3²)`` (nearly deterministic, nearly constant functions at the start: the released schedule's 5,000
    epochs then shape them). ``init="scaled"``: means ``N(0, 1/fan_in)``, scales ``exp(log σ²) = 1/√fan_in`` and
    biases ``N(0, 1)``, so that the first samples already vary on the scale of the standardised inputs.
    """

    def __init__(self, in_dim: int, hidden: tuple[int, ...] = (50, 50), dropout: float = 0.1,
                 init: str = "released", generator: torch.Generator | None = None):
        super().__init__()
        self.in_dim = check_int("in_dim", in_dim, 1)
        if not hidden:
            raise ValueError(f"hidden: expected at least one hidden layer, got {hidden!r}")
        self.hidden = tuple(check_int("hidden", h, 1) for h in hidden)
        self.dropout = check_real("dropout", dropout, 0.0, 1.0, low_open=False, high_open=True)
        sizes = (self.in_dim, *self.hidden, 1)
        pairs = list(zip(sizes, sizes[1:]))
        if init == "released":
            means = [_normal((a, b), 0.05, generator) for a, b in pairs]
            log_vars = [_normal((a, b), 2.0, generator, -5.0) for a, b in pairs]
            biases = [_normal((b,), 0.3, generator) for b in sizes[1:]]
        elif init == "scaled":
            means = [_normal((a, b), a ** -0.5, generator) for a, b in pairs]
            log_vars = [torch.full((a, b), -0.5 * math.log(a)) for a, b in pairs]
            biases = [_normal((b,), 1.0, generator) for b in sizes[1:]]
        else:
            raise ValueError(f"init: expected 'released' or 'scaled', got {init!r}")
        self.init = init
        self.means = nn.ParameterList([nn.Parameter(t) for t in means])
        self.log_vars = nn.ParameterList([nn.Parameter(t) for t in log_vars])
        self.biases = nn.ParameterList([nn.Parameter(t) for t in biases])

    def _sample(self, x, n_samples, generator):
        h = x.unsqueeze(0).expand(n_samples, *x.shape)  # (S, N, D)
        last = len(self.means) - 1
        for i, (mu, log_var, b) in enumerate(zip(self.means, self.log_vars, self.biases)):
            eps = torch.randn((n_samples, *mu.shape), generator=generator, dtype=mu.dtype)
            w = mu + log_var.exp() * eps  # (S, in, out)
            a = torch.bmm(h, w) + b
            if self.training and self.dropout > 0:
                keep = torch.rand(a.shape, generator=generator) >= self.dropout
                a = a * keep / (1 - self.dropout)
            h = a if i == last else nn.functional.leaky_relu(a, LEAK)
        return h[..., 0]


class _MLP(nn.Module):
    """Leaky-ReLU perceptron with dropout on the hidden pre-activations while training."""

    def __init__(self, sizes: tuple[int, ...], dropout: float, generator: torch.Generator | None,
                 bias_std: float = 0.1):
        super().__init__()
        self.weights = nn.ParameterList([nn.Parameter(_normal((a, b), 0.05, generator))
                                         for a, b in zip(sizes, sizes[1:])])
        self.biases = nn.ParameterList([nn.Parameter(_normal((b,), bias_std, generator)) for b in sizes[1:]])
        self.dropout = dropout

    def forward(self, h: Tensor, generator: torch.Generator | None = None) -> Tensor:
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w + b
            if i < last:
                if self.training and self.dropout > 0:
                    keep = torch.rand(h.shape, generator=generator) >= self.dropout
                    h = h * keep / (1 - self.dropout)
                h = nn.functional.leaky_relu(h, LEAK)
        return h


class NeuralSamplerPrior(ImplicitPrior):
    """The neural-sampler prior of SIP-NS: ``f_s(x) = a(x)ᵀ v_s`` with features ``a(·) = MLP[50, 50, m](x)`` and
    random coefficients ``v_s = MLP[50, 50, m](ξ_s)``, ``ξ_s ~ N(0, I_m)`` (``m = 10``): a learned covariance of rank
    at most ``m``. Dropout 0.05 on the hidden layers while training, as the released code."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...] = (50, 50), m: int = 10, dropout: float = 0.05,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.in_dim = check_int("in_dim", in_dim, 1)
        self.m = check_int("m", m, 1)
        hidden = tuple(check_int("hidden", h, 1) for h in hidden)
        dropout = check_real("dropout", dropout, 0.0, 1.0, low_open=False, high_open=True)
        self.features = _MLP((self.in_dim, *hidden, self.m), dropout, generator)
        self.coefficients = _MLP((self.m, *hidden, self.m), dropout, generator)

    def _sample(self, x, n_samples, generator):
        xi = torch.randn((n_samples, self.m), generator=generator, dtype=x.dtype)
        v = self.coefficients(xi, generator)  # (S, m)
        a = self.features(x, generator)  # (N, m)
        return v @ a.T


def rbf_kernel(x1: Tensor, x2: Tensor, lengthscale: Tensor | float, variance: Tensor | float) -> Tensor:
    """``k(x, x') = v · exp(−‖x − x'‖² / (2 ℓ²))``; ``(N1, D), (N2, D) -> (N1, N2)``."""
    d2 = torch.cdist(x1 / lengthscale, x2 / lengthscale).pow(2)
    return variance * torch.exp(-0.5 * d2)


class GPPrior(ImplicitPrior):
    """A zero-mean GP with an RBF kernel, sampled as an implicit process: ``f = L ε`` with ``L Lᵀ = K + jitter·I``
    (the jitter raised tenfold while the factorization fails: a smooth kernel on many close inputs is singular to
    float32 round-off; :func:`~workbench.implicit_processes.sparse.jittered_cholesky`).
    Lets the sparse approximation be checked against the exact GP posterior (see ``tests``)."""

    def __init__(self, in_dim: int, lengthscale: float = 1.0, variance: float = 1.0, jitter: float = 1e-6):
        super().__init__()
        self.in_dim = check_int("in_dim", in_dim, 1)
        self.log_lengthscale = nn.Parameter(torch.tensor(math.log(check_real("lengthscale", lengthscale))))
        self.log_variance = nn.Parameter(torch.tensor(math.log(check_real("variance", variance))))
        self.jitter = check_real("jitter", jitter)

    def kernel(self, x1: Tensor, x2: Tensor) -> Tensor:
        return rbf_kernel(x1, x2, self.log_lengthscale.exp(), self.log_variance.exp())

    def _sample(self, x, n_samples, generator):
        chol = jittered_cholesky(self.kernel(x, x), self.jitter, "the GP prior's kernel matrix")
        eps = torch.randn((n_samples, len(x)), generator=generator, dtype=x.dtype)
        return eps @ chol.T


class OscillatorPrior(ImplicitPrior):
    """A physical model as a prior: undamped oscillations ``f(t) = a cos(ω t) + b sin(ω t)`` with
    ``a, b ~ N(0, s²)`` and ``log ω ~ N(μ_ω, σ_ω²)`` (``s, μ_ω, σ_ω`` learned). Its samples span only
    constant-amplitude waves, so on damped data it is the wrongly assumed model that SIP must correct."""

    def __init__(self, amplitude: float = 1.0, frequency: float = 1.0, frequency_spread: float = 0.3):
        super().__init__()
        self.in_dim = 1
        self.log_amplitude = nn.Parameter(torch.tensor(math.log(check_real("amplitude", amplitude))))
        self.log_frequency = nn.Parameter(torch.tensor(math.log(check_real("frequency", frequency))))
        self.log_frequency_spread = nn.Parameter(torch.tensor(math.log(check_real("frequency_spread",
                                                                                  frequency_spread))))

    def _sample(self, x, n_samples, generator):
        e = torch.randn((n_samples, 3), generator=generator, dtype=x.dtype)
        a, b = (e[:, :2] * self.log_amplitude.exp()).unbind(1)
        omega = torch.exp(self.log_frequency + self.log_frequency_spread.exp() * e[:, 2])
        phase = omega[:, None] * x[:, 0][None, :]
        return a[:, None] * torch.cos(phase) + b[:, None] * torch.sin(phase)


PRIORS = ("bnn", "ns", "gp", "oscillator")


def make_prior(name: str, in_dim: int, generator: torch.Generator | None = None, init: str = "scaled",
               dropout: float | None = None) -> ImplicitPrior:
    """The prior ``name`` (one of :data:`PRIORS`) for ``in_dim`` inputs, with the released code's architectures
    (``init`` the BNN prior's starting point; ``dropout`` the training-time rate of the BNN and neural-sampler
    priors, None for the released code's 0.1 and 0.05; the GP and oscillator priors have none, so only None or 0)."""
    if dropout is not None:
        dropout = check_real("dropout", dropout, 0.0, 1.0, low_open=False, high_open=True)
    rate = {} if dropout is None else {"dropout": dropout}
    if name in ("gp", "oscillator") and dropout:
        raise ValueError(f"dropout: the {name} prior has no dropout, expected None or 0, got {dropout!r}")
    if name == "bnn":
        return BNNPrior(in_dim, init=init, generator=generator, **rate)
    if name == "ns":
        return NeuralSamplerPrior(in_dim, generator=generator, **rate)
    if name == "gp":
        return GPPrior(in_dim)
    if name == "oscillator":
        if in_dim != 1:
            raise ValueError(f"in_dim: the oscillator prior takes time as its one input, got in_dim={in_dim}")
        return OscillatorPrior()
    raise ValueError(f"name: expected one of {list(PRIORS)}, got {name!r}")
