"""Known-answer tests of the SIP maths: the sparse conditional against the exact GP, the α-energy's limits, the
discriminator's KL against closed forms, the mixture scores against closed forms and Monte Carlo."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.implicit_processes.discriminator import Discriminator, discriminator_loss, kl_estimate
from workbench.implicit_processes.energy import alpha_energy, gaussian_log_density
from workbench.implicit_processes.predictive import GaussianMixture, crps_gaussian_mixture
from workbench.implicit_processes.priors import BNNPrior, GPPrior, NeuralSamplerPrior, OscillatorPrior, rbf_kernel
from workbench.implicit_processes.sparse import conditional, empirical_moments


def _exact_conditional(x, z, u, ls=0.8, var=1.5):
    kxz, kzz, kxx = rbf_kernel(x, z, ls, var), rbf_kernel(z, z, ls, var), rbf_kernel(x, x, ls, var)
    sol = torch.linalg.solve(kzz, kxz.T)
    return (sol.T @ u.T).T, kxx.diagonal() - (kxz * sol.T).sum(1)


def test_sparse_conditional_recovers_the_gp_conditional():
    """Moments of 40,000 GP samples give p(f_x | u) within Monte Carlo error of the exact GP conditional. A
    covariance from S samples has a relative standard error about sqrt(2/S) = 0.7 %; through K_zz⁻¹ (condition
    number ~ 20 for these 4 inducing inputs) the conditional mean's error stays below ~0.05 for |u| ~ 1 and the
    variance's below ~0.03; the tolerances allow twice that."""
    torch.manual_seed(0)
    x = torch.linspace(-2, 2, 9)[:, None].double()
    z = torch.tensor([[-1.5], [-0.4], [0.6], [1.7]]).double()
    prior = GPPrior(1, lengthscale=0.8, variance=1.5, jitter=1e-10).double()
    f = prior.sample(torch.cat([x, z]), 40_000, torch.Generator().manual_seed(1))
    u = torch.tensor([[1.0, -0.5, 0.3, 1.2], [-1.0, 0.0, 0.8, -0.3]]).double()
    mean, var = conditional(empirical_moments(f[:, :9], f[:, 9:]), u, jitter=1e-10)
    exact_mean, exact_var = _exact_conditional(x, z, u)
    assert torch.allclose(mean, exact_mean, atol=0.1)
    assert torch.allclose(var, exact_var, atol=0.06)


def test_sparse_predictive_with_the_exact_q_recovers_the_gp_posterior():
    """With inducing inputs at the training inputs and q(u) the exact GP posterior of f(X), the SIP predictive
    (mixture over u of p(f_* | u) plus noise) has the exact GP posterior predictive's mean and variance; Monte Carlo
    error from 40,000 prior and 20,000 posterior samples bounds the gap at ~0.03 (tolerance 0.08)."""
    g = torch.Generator().manual_seed(3)
    xtr = torch.tensor([[-1.8], [-1.0], [-0.2], [0.5], [1.4]]).double()
    ytr = torch.sin(2 * xtr[:, 0])
    xte = torch.linspace(-2.5, 2.5, 11)[:, None].double()
    noise = 0.1
    ls, var = 0.8, 1.5
    k = rbf_kernel(xtr, xtr, ls, var)
    # exact posterior of u = f(X): N(K (K + σ²I)⁻¹ y, K − K (K + σ²I)⁻¹ K)
    a = torch.linalg.solve(k + noise * torch.eye(5, dtype=k.dtype), k)
    post_mean, post_cov = a.T @ ytr, k - k @ a
    u = post_mean + torch.randn(20_000, 5, generator=g, dtype=k.dtype) @ torch.linalg.cholesky(
        post_cov + 1e-10 * torch.eye(5, dtype=k.dtype)).T
    prior = GPPrior(1, lengthscale=ls, variance=var, jitter=1e-10).double()
    f = prior.sample(torch.cat([xte, xtr]), 40_000, g)
    mean, cvar = conditional(empirical_moments(f[:, :11], f[:, 11:]), u, jitter=1e-10)
    mix = GaussianMixture(mean, (cvar + noise).sqrt().expand_as(mean))
    kx = rbf_kernel(xte, xtr, ls, var)
    sol = torch.linalg.solve(k + noise * torch.eye(5, dtype=k.dtype), kx.T)
    exact_mean = sol.T @ ytr
    exact_var = var - (kx * sol.T).sum(1) + noise
    assert torch.allclose(mix.mean, exact_mean, atol=0.08)
    assert torch.allclose(mix.std.pow(2), exact_var, atol=0.08)


def test_alpha_energy_limits():
    """α → 0 gives the VI expected log-likelihood, α = 1 the log of the Monte Carlo predictive likelihood; the
    gap at α = 1e-6 is O(α · Var_s log N) ~ 1e-5 (tolerance 1e-3)."""
    g = torch.Generator().manual_seed(0)
    f = torch.randn(64, 7, generator=g, dtype=torch.float64)
    y = torch.randn(7, generator=g, dtype=torch.float64)
    lv = torch.tensor(-0.7, dtype=torch.float64)
    log_lik = gaussian_log_density(y, f, lv)
    vi = log_lik.mean(0)
    assert torch.allclose(alpha_energy(f, y, lv, 1e-6), vi, atol=1e-3)
    assert torch.allclose(alpha_energy(f, y, lv, 1.0), torch.logsumexp(log_lik, 0) - math.log(64), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.01, 1.0), st.floats(0.01, 1.0))
def test_alpha_energy_grows_with_alpha(seed, a1, a2):
    """(1/α) log mean exp(α ℓ) is a power mean: non-decreasing in α, between the mean and the max of ℓ."""
    g = torch.Generator().manual_seed(seed)
    f = 3 * torch.randn(16, 5, generator=g, dtype=torch.float64)
    y = torch.randn(5, generator=g, dtype=torch.float64)
    lv = torch.tensor(0.0, dtype=torch.float64)
    lo, hi = sorted((a1, a2))
    e_lo, e_hi = alpha_energy(f, y, lv, lo), alpha_energy(f, y, lv, hi)
    ll = gaussian_log_density(y, f, lv)
    assert (e_lo <= e_hi + 1e-9).all()
    assert (e_lo >= ll.mean(0) - 1e-9).all() and (e_hi <= ll.max(0).values + 1e-9).all()


def _train_discriminator(p, q, dim, steps=3000, seed=0):
    torch.manual_seed(seed)
    disc = Discriminator(dim, generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.Adam(disc.parameters(), lr=1e-3)
    for _ in range(steps):
        loss = discriminator_loss(disc(q.sample((256,))), disc(p.sample((256,))))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return disc(q.sample((20_000,))), disc(p.sample((20_000,)))


def test_discriminator_kl_matches_the_gaussian_closed_form():
    """A discriminator trained on two 3-D Gaussians reads KL(q‖p) and ½(KL(q‖p) + KL(p‖q)) within 15 % of the
    closed forms (an MLP's logit approximates the log ratio, a quadratic, with a small bias; 20,000 samples give
    a Monte Carlo error of ~2 %)."""
    D = torch.distributions
    p = D.MultivariateNormal(torch.zeros(3), torch.eye(3))
    q = D.MultivariateNormal(torch.tensor([1.0, -0.5, 0.5]), torch.diag(torch.tensor([0.5, 1.5, 0.8])))
    t_q, t_p = _train_discriminator(p, q, 3)
    forward = float(D.kl_divergence(q, p))
    symmetric = 0.5 * (forward + float(D.kl_divergence(p, q)))
    assert float(kl_estimate(t_q, t_p, "forward")) == pytest.approx(forward, rel=0.15)
    assert float(kl_estimate(t_q, t_p, "symmetric")) == pytest.approx(symmetric, rel=0.15)


def test_crps_of_one_gaussian_is_the_closed_form():
    """CRPS(N(μ, σ²), y) = σ [z (2Φ(z) − 1) + 2φ(z) − 1/√π], z = (y − μ)/σ (Gneiting & Raftery, 2007)."""
    y = torch.tensor([0.3, -2.0, 4.0], dtype=torch.float64)
    mu = torch.tensor([[0.0, 1.0, 3.5]], dtype=torch.float64)
    sd = torch.tensor([[1.0, 0.5, 2.0]], dtype=torch.float64)
    z = (y - mu[0]) / sd[0]
    phi = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    closed = sd[0] * (z * (2 * cdf - 1) + 2 * phi - 1 / math.sqrt(math.pi))
    assert torch.allclose(crps_gaussian_mixture(y, mu, sd), closed, atol=1e-12)


def test_mixture_crps_matches_monte_carlo_and_density_integrates_to_one():
    """The exact mixture CRPS equals E|Y − y| − ½E|Y − Y'| estimated from 400,000 draws (standard error ~0.003,
    tolerance 0.01), and the mixture density integrates to 1 on a fine grid (trapezoid error < 1e-4)."""
    g = torch.Generator().manual_seed(0)
    means = torch.tensor([[-2.0], [1.0], [1.5]], dtype=torch.float64)
    stds = torch.tensor([[0.5], [0.3], [1.0]], dtype=torch.float64)
    mix = GaussianMixture(means, stds)
    y = torch.tensor([0.4], dtype=torch.float64)
    k = torch.randint(3, (400_000, 2), generator=g)
    draws = means[k, 0] + stds[k, 0] * torch.randn(400_000, 2, generator=g, dtype=torch.float64)
    mc = (draws[:, 0] - y).abs().mean() - 0.5 * (draws[:, 0] - draws[:, 1]).abs().mean()
    assert float(crps_gaussian_mixture(y, means, stds)[0]) == pytest.approx(float(mc), abs=0.01)
    grid = torch.linspace(-8, 8, 8001, dtype=torch.float64)[:, None]
    dens = mix.log_density(grid)[:, 0].exp()
    assert float(torch.trapezoid(dens, grid[:, 0])) == pytest.approx(1.0, abs=1e-4)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 30), st.integers(1, 6), st.integers(0, 1000))
def test_empirical_moments_are_a_covariance(s, n, seed):
    """The joint empirical covariance of [f_x, f_z] is symmetric positive semi-definite; its blocks are what
    empirical_moments returns."""
    g = torch.Generator().manual_seed(seed)
    f_x = torch.randn(s, n, generator=g, dtype=torch.float64)
    f_z = torch.randn(s, 3, generator=g, dtype=torch.float64)
    mo = empirical_moments(f_x, f_z)
    full = torch.cov(torch.cat([f_x, f_z], 1).T).reshape(n + 3, n + 3)
    assert torch.allclose(mo.cov_zz, full[n:, n:], atol=1e-10)
    assert torch.allclose(mo.cov_xz, full[:n, n:], atol=1e-10)
    assert torch.allclose(mo.var_x, full.diagonal()[:n], atol=1e-10)
    assert torch.linalg.eigvalsh(full).min() > -1e-9


@pytest.mark.parametrize("prior", [BNNPrior(2), NeuralSamplerPrior(2), GPPrior(2)])
def test_priors_draw_joint_functions(prior):
    """S samples at N inputs come back as (S, N), finite, and differ between samples (a distribution, not a
    point); the same generator seed gives the same draws."""
    x = torch.randn(7, 2)
    prior.eval()
    a = prior.sample(x, 5, torch.Generator().manual_seed(0))
    b = prior.sample(x, 5, torch.Generator().manual_seed(0))
    assert a.shape == (5, 7) and torch.isfinite(a).all()
    assert torch.equal(a, b)
    assert a.std(0).max() > 0


def test_oscillator_prior_spans_undamped_waves_only():
    """Each oscillator sample has constant amplitude: its values never exceed sqrt(a² + b²) anywhere in time."""
    prior = OscillatorPrior(amplitude=1.0, frequency=2.0)
    t = torch.linspace(0, 10, 200)[:, None]
    f = prior.sample(t, 50, torch.Generator().manual_seed(0))
    early, late = f[:, :20].abs().max(1).values, f[:, -20:].abs().max(1).values
    assert (late > 0.5 * early).float().mean() > 0.9  # no decay: amplitude late ~ amplitude early


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="alpha"):
        alpha_energy(torch.zeros(3, 2), torch.zeros(2), torch.tensor(0.0), 0.0)
    with pytest.raises(ValueError, match="alpha"):
        alpha_energy(torch.zeros(3, 2), torch.zeros(2), torch.tensor(0.0), 1.5)
    with pytest.raises(ValueError, match="f, y"):
        alpha_energy(torch.zeros(3, 2), torch.zeros(4), torch.tensor(0.0), 0.5)
    with pytest.raises(ValueError, match="x"):
        BNNPrior(1).sample(torch.tensor([[float("nan")]]), 4)
    with pytest.raises(ValueError, match="u"):
        conditional(empirical_moments(torch.randn(5, 2), torch.randn(5, 3)), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="n_samples"):
        GPPrior(1).sample(torch.zeros(3, 1), 1)
    with pytest.raises(ValueError, match="kind"):
        kl_estimate(torch.zeros(2), torch.zeros(2), "reverse")


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 5), st.integers(0, 10_000))
def test_mixture_scores_are_proper(s, n, seed):
    """For any mixture and targets: CRPS ≥ 0 (E|Y − y| ≥ ½ E|Y − Y'| by the triangle inequality), RMSE ≥ 0, and the
    NLL is finite; the CRPS is 0 only in the limit of a point mass on y, so a unit-width mixture scores > 0."""
    g = torch.Generator().manual_seed(seed)
    means = 3 * torch.randn(s, n, generator=g, dtype=torch.float64)
    stds = 0.5 + torch.rand(s, n, generator=g, dtype=torch.float64)
    y = 3 * torch.randn(n, generator=g, dtype=torch.float64)
    mix = GaussianMixture(means, stds, torch.randn(s, generator=g, dtype=torch.float64))
    scores = mix.scores(y)
    assert scores["crps"] > 0 and scores["rmse"] >= 0 and math.isfinite(scores["nll"])
    assert torch.allclose(mix.weights.sum(), torch.tensor(1.0, dtype=torch.float64))


@settings(max_examples=30, deadline=None)
@given(st.integers(3, 40), st.integers(1, 4), st.integers(0, 10_000))
def test_conditioning_never_adds_variance(s, m, seed):
    """Var(f_x | u) = K_xx − K_xz K_zz⁻¹ K_zx ≤ K_xx for any estimated covariance (a Schur complement of a PSD
    matrix), up to the jitter's effect and round-off."""
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(s, 3 + m, generator=g, dtype=torch.float64) @ torch.randn(3 + m, 3 + m, generator=g,
                                                                             dtype=torch.float64)
    mo = empirical_moments(f[:, :3], f[:, 3:])
    _, var = conditional(mo, torch.zeros(2, m, dtype=torch.float64))
    assert (var <= mo.var_x + 1e-8).all() and (var >= 0).all()


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 60), st.integers(2, 30), st.floats(1e-4, 1.0), st.integers(0, 10_000))
def test_the_jitter_bounds_how_far_u_moves_the_mean(s, m, jitter, seed):
    """With ``K_zz + jI`` in the conditional, ``|mean_x − m_x| = |k_xᵀ (K_zz + jI)⁻¹ (u − m_z)|`` is at most
    ``sqrt(K_xx) ‖u − m_z‖ / sqrt(j)`` (Cauchy–Schwarz in the ``(K_zz + jI)⁻¹`` inner product, and
    ``k_xᵀ (K_zz + jI)⁻¹ k_x ≤ K_xx`` since the joint estimated covariance is PSD): the nugget bounds how much any
    ``u``, off the prior's span or not, can move the function. Low-rank samples (``s`` may be below ``m``) make
    ``K_zz`` singular, where a 1e-5 jitter would allow a 300× amplification; 1e-6 relative slack for round-off."""
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(s, 4, generator=g, dtype=torch.float64) @ torch.randn(4, 2 + m, generator=g, dtype=torch.float64)
    mo = empirical_moments(f[:, :2], f[:, 2:])
    u = mo.mean_z + 5 * torch.randn(3, m, generator=g, dtype=torch.float64)
    mean, _ = conditional(mo, u, jitter)
    bound = mo.var_x.sqrt()[None, :] * (u - mo.mean_z).norm(dim=1, keepdim=True) / math.sqrt(jitter)
    assert ((mean - mo.mean_x).abs() <= bound * (1 + 1e-6) + 1e-12).all()


def test_prior_dropout_is_the_rate_asked_for():
    """make_prior passes the rate to the BNN and neural-sampler priors (None: their released rates) and refuses one
    for the priors without dropout; a BNN prior at rate 0 draws the same functions in training and evaluation mode,
    and at 0.1 not."""
    from workbench.implicit_processes.priors import make_prior
    assert make_prior("bnn", 1).dropout == 0.1 and make_prior("bnn", 1, dropout=0.0).dropout == 0.0
    assert make_prior("ns", 1).features.dropout == 0.05 and make_prior("ns", 1, dropout=0.2).features.dropout == 0.2
    assert isinstance(make_prior("gp", 1, dropout=0.0), GPPrior)
    with pytest.raises(ValueError, match="dropout"):
        make_prior("gp", 1, dropout=0.1)
    with pytest.raises(ValueError, match="dropout"):
        make_prior("bnn", 1, dropout=1.0)
    x = torch.linspace(-1, 1, 7)[:, None]
    for rate, same in ((0.0, True), (0.1, False)):
        prior = make_prior("bnn", 1, torch.Generator().manual_seed(0), dropout=rate)
        train = prior.train().sample(x, 5, torch.Generator().manual_seed(1))
        evaluate = prior.eval().sample(x, 5, torch.Generator().manual_seed(1))
        assert torch.equal(train, evaluate) == same


def test_gp_prior_samples_a_fine_grid_in_float32_with_the_gp_covariance():
    """80 inputs over 3.4 lengthscales (the page's grid): K is singular to float32 round-off, so the prior's jitter
    (1e-6) alone fails to factorize; the raised jitter still gives samples whose covariance is the GP's. 20,000
    samples: each entry of the empirical covariance has a standard error of at most sqrt(2 / S) · var = 0.01; the
    tolerance 0.05 also holds the jitter actually added (at most 1e-3 here)."""
    prior = GPPrior(1, lengthscale=1.0, variance=1.0)
    x = torch.linspace(-1.7, 1.7, 80)[:, None]
    k = rbf_kernel(x, x, 1.0, 1.0)
    assert int(torch.linalg.cholesky_ex(k + 1e-6 * torch.eye(80))[1]) != 0  # the case the escalation is for
    f = prior.sample(x, 20_000, torch.Generator().manual_seed(0)).detach()
    assert f.dtype == torch.float32 and bool(torch.isfinite(f).all())
    cov = torch.cov(f.T)
    assert float((cov - k).abs().max()) < 0.05


@settings(deadline=None, max_examples=40)
@given(st.integers(2, 30), st.integers(0, 3), st.sampled_from([torch.float32, torch.float64]), st.integers(0, 10**6))
def test_jittered_cholesky_factorizes_singular_psd_matrices_within_the_jitter_it_adds(n, rank, dtype, seed):
    """A rank-deficient PSD matrix (rank < n, so singular: its Cholesky needs a jitter) is factorized with
    ``L Lᵀ − a`` the jitter times I: at these sizes at most 1e-3 × the mean diagonal (the tries go up to 0.1 ×),
    off the diagonal only round-off (1e-4 in float32); a matrix that factorizes with the given jitter gets exactly
    that Cholesky."""
    from workbench.implicit_processes.sparse import jittered_cholesky
    g = torch.Generator().manual_seed(seed)
    b = torch.randn(n, rank, generator=g, dtype=dtype)
    a = b @ b.T
    chol = jittered_cholesky(a, 1e-6, "a")
    gap = chol @ chol.T - a
    scale = max(1.0, float(a.diagonal().mean()))
    assert float(gap.diagonal().max()) <= 1e-3 * scale * 1.01
    assert float((gap - torch.diag(gap.diagonal())).abs().max()) <= 1e-4 * scale
    spd = a + torch.eye(n, dtype=dtype)  # positive definite: the first try
    assert torch.equal(jittered_cholesky(spd, 1e-6), torch.linalg.cholesky(spd + 1e-6 * torch.eye(n, dtype=dtype)))


def test_jittered_cholesky_names_a_matrix_that_cannot_be_factorized():
    from workbench.implicit_processes.sparse import jittered_cholesky
    with pytest.raises(ValueError, match="cov_zz"):
        jittered_cholesky(torch.full((3, 3), math.nan), 1e-5, "cov_zz")
    with pytest.raises(ValueError, match="kernel"):
        jittered_cholesky(-torch.eye(3) * 10, 1e-5, "the kernel")  # negative definite: no jitter tried fixes it
