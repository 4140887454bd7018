"""The mean-field variational BNN baseline (Bayes by backprop; Blundell et al., 2015) with the architecture of the
SIP prior: ``[D, 50, 50, 1]``, leaky-ReLU (slope 0.2). Every weight and bias has ``q(w) = N(μ, σ²)`` and prior
``N(0, 1)``; the objective is the minibatch ELBO

    (N/|B|) Σ_{n∈B} E_q[log N(y_n | f_w(x_n), σ_ε²)] − KL(q ‖ p),

its expectation estimated with the local reparameterisation trick (Kingma et al., 2015). The predictive is the
mixture over ``S`` weight draws with the learned noise, as for SIP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from workbench.checks import check_int, check_real
from workbench.implicit_processes.datasets import check_x, check_xy
from workbench.implicit_processes.energy import gaussian_log_density
from workbench.implicit_processes.predictive import GaussianMixture
from workbench.implicit_processes.priors import LEAK
from workbench.implicit_processes.sip import Standardiser

__all__ = ["MeanFieldBNN", "VIBNN"]


class MeanFieldBNN(nn.Module):
    """Factorised Gaussian weights; ``forward(x, n_samples, gen) -> (S, N)`` by local reparameterisation."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...] = (50, 50), generator: torch.Generator | None = None):
        super().__init__()
        sizes = (in_dim, *hidden, 1)
        self.w_mu = nn.ParameterList([nn.Parameter(torch.randn((a, b), generator=generator) / math.sqrt(a))
                                      for a, b in zip(sizes, sizes[1:])])
        self.b_mu = nn.ParameterList([nn.Parameter(torch.zeros(b)) for b in sizes[1:]])
        # σ = softplus(ρ), starting small (1e-3) so that training starts near a deterministic network
        self.w_rho = nn.ParameterList([nn.Parameter(torch.full((a, b), -6.9)) for a, b in zip(sizes, sizes[1:])])
        self.b_rho = nn.ParameterList([nn.Parameter(torch.full((b,), -6.9)) for b in sizes[1:]])

    def kl(self) -> Tensor:
        """``KL(q ‖ N(0, 1))`` summed over every weight and bias."""
        total = torch.zeros(())
        for mu, rho in [*zip(self.w_mu, self.w_rho), *zip(self.b_mu, self.b_rho)]:
            var = nn.functional.softplus(rho).pow(2)
            total = total + 0.5 * (var + mu.pow(2) - 1 - var.log()).sum()
        return total

    def forward(self, x: Tensor, n_samples: int, generator: torch.Generator | None = None) -> Tensor:
        h = x.unsqueeze(0).expand(n_samples, *x.shape)
        last = len(self.w_mu) - 1
        for i, (wm, wr, bm, br) in enumerate(zip(self.w_mu, self.w_rho, self.b_mu, self.b_rho)):
            mean = h @ wm + bm
            var = h.pow(2) @ nn.functional.softplus(wr).pow(2) + nn.functional.softplus(br).pow(2)
            a = mean + var.sqrt() * torch.randn(mean.shape, generator=generator)
            h = a if i == last else nn.functional.leaky_relu(a, LEAK)
        return h[..., 0]


@dataclass
class VIBNN:
    """``VIBNN().fit(X, y).predict(X_test)``; learned ``net_``, ``log_noise_var_``, ``scaler_``, ``history_``."""

    epochs: int = 200
    batch_size: int = 100
    lr: float = 1e-2
    n_samples: int = 10
    seed: int = 0
    history_: list = field(default_factory=list, init=False, repr=False)

    def fit(self, X, y) -> "VIBNN":
        epochs = check_int("epochs", self.epochs, 1)
        batch = check_int("batch_size", self.batch_size, 1)
        lr = check_real("lr", self.lr)
        n_samples = check_int("n_samples", self.n_samples, 1)
        x, y = check_xy(X, y)
        self.scaler_ = Standardiser.fit(x, y)
        xs, ys = self.scaler_.x(x), self.scaler_.y(y)
        gen = torch.Generator().manual_seed(check_int("seed", self.seed, 0))
        self.net_ = MeanFieldBNN(xs.shape[1], generator=gen)
        self.log_noise_var_ = nn.Parameter(torch.tensor(-2.0))
        opt = torch.optim.Adam([*self.net_.parameters(), self.log_noise_var_], lr=lr)
        n = len(ys)
        self.history_ = []
        for _ in range(epochs):
            perm = torch.randperm(n, generator=gen)
            total = 0.0
            for lo in range(0, n, batch):
                idx = perm[lo:lo + batch]
                f = self.net_(xs[idx], n_samples, gen)
                expected = gaussian_log_density(ys[idx], f, self.log_noise_var_).mean(0).sum()
                loss = -(expected * n / len(idx) - self.net_.kl()) / n
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            self.history_.append(total / n)
        return self

    @torch.no_grad()
    def predict(self, X, n_samples: int = 500, seed: int = 0) -> GaussianMixture:
        if not hasattr(self, "net_"):
            raise RuntimeError("VIBNN: call fit(X, y) before predicting")
        xs = self.scaler_.x(check_x(X))
        gen = torch.Generator().manual_seed(check_int("seed", seed, 0))
        f = self.net_(xs, check_int("n_samples", n_samples, 1), gen)
        s = self.scaler_.y_std
        std = (0.5 * self.log_noise_var_).exp() * s
        return GaussianMixture(f * s + self.scaler_.y_mean, std.expand_as(f).clone())
