"""Statistical tests of MVUE N:M pruning.

Each test draws K independent prunings of the same tensor in one call (the tensor is repeated K
times along a new leading dim). Tolerances are z-scores against the exact variance: with a few
hundred entries, |z| < 5.5 everywhere has a false-alarm probability below 1e-5 under the null.
"""

import math

import pytest
import torch

from kernels import mvue_probabilities, mvue_prune, mvue_variance

K = 20000
Z_MAX = 5.5

pytestmark = pytest.mark.usefixtures("backend")


def draws(x, n, m, method="exact", k=K, seed=0, dim=-1):
    gen = torch.Generator().manual_seed(seed)
    rep = x.unsqueeze(0).expand(k, *x.shape).contiguous()
    return mvue_prune(rep, n, m, dim=dim if dim < 0 else dim + 1, method=method, generator=gen)


def lognormal_gradient(shape, gen):
    """Neural-gradient-like entries: random sign, log-normal magnitude (heavy tailed)."""
    sign = torch.randint(0, 2, shape, generator=gen).double() * 2 - 1
    return sign * torch.exp(2.0 * torch.randn(shape, generator=gen, dtype=torch.float64))


CASES = [(1, 2, "exact"), (2, 4, "exact"), (2, 4, "approx"), (1, 4, "exact"), (3, 8, "exact")]


@pytest.mark.parametrize("n,m,method", CASES)
def test_unbiased_and_exact_variance(n, m, method, gen, requires):
    requires(n, m, method)
    x = lognormal_gradient((8, 4 * m), gen)
    x[0, :m] = torch.tensor([10.0, 1.0, 0.5, -0.2] + [0.0] * (m - 4))[:m] if m >= 4 else x[0, :m]
    d = draws(x, n, m, method)
    var = mvue_variance(x, n, m, method=method)
    mean = d.mean(0)
    se = (var / K).sqrt()
    z = (mean - x).abs() / se.clamp_min(1e-300)
    assert float(z[var > 0].max()) < Z_MAX
    # zero variance (p = 1): every draw returns x_i, up to float rounding of the mean
    assert torch.allclose(mean[var == 0], x[var == 0], rtol=1e-12, atol=0)
    # total variance: the sample variance of a sum of K draws has relative sd about sqrt(2/K)*kurtosis
    # factor; heavy tails inflate it, 5 % is > 10 sd here
    emp = d.var(0).sum()
    assert abs(float(emp / var.sum()) - 1) < 0.05


@pytest.mark.parametrize("n,m,method", CASES)
def test_at_most_n_per_block(n, m, method, gen, requires):
    requires(n, m, method)
    x = torch.randn(64, 8 * m, generator=gen)
    x[0, :m] = 0  # an all-zero block
    x[1, : m - 1] = 0  # a block with one non-zero
    y = draws(x, n, m, method, k=50)
    nnz = (y.reshape(-1, m) != 0).sum(-1)
    assert (nnz <= n).all()
    full = (x.reshape(-1, m) != 0).sum(-1) >= n
    if method == "exact":  # systematic sampling keeps exactly n when the block has >= n non-zeros
        assert (nnz.reshape(50, -1)[:, full] == n).all()
    assert torch.equal(y[:, 0, :m], torch.zeros(50, m))
    assert torch.allclose(y[:, 1, :m], x[1, :m].expand(50, m))  # a lone non-zero is kept as is


def test_mvue_1_2_is_the_papers_estimator(gen):
    """Keep a_i with probability |a_i|/(|a1|+|a2|); output sign(a_i)(|a1|+|a2|)."""
    x = torch.tensor([[3.0, -1.0], [-0.25, 0.75]], dtype=torch.float64)
    d = draws(x, 1, 2)
    s = x.abs().sum(-1, keepdim=True)
    kept = d != 0
    assert torch.allclose(d[kept].abs(), s.expand_as(x).unsqueeze(0).expand_as(d)[kept])
    assert torch.equal(d[kept].sign(), x.sign().unsqueeze(0).expand_as(d)[kept])
    p = x.abs() / s
    freq = kept.double().mean(0)
    # binomial standard error of a frequency over K draws
    assert ((freq - p).abs() <= Z_MAX * (p * (1 - p) / K).sqrt()).all()
    assert torch.allclose(mvue_variance(x, 1, 2).sum(-1), 2 * x[:, 0].abs() * x[:, 1].abs())


def test_exact_2_4_probabilities_water_filling():
    a = torch.tensor([[1.0, 2.0, 3.0, 4.0], [10.0, 1.0, 0.5, -0.2]], dtype=torch.float64)
    p = mvue_probabilities(a, 2, 4)
    assert torch.allclose(p[0], 2 * a[0] / a[0].sum())  # |a4| <= |a1|+|a2|+|a3|: p = 2|a|/S
    rest = 1.0 + 0.5 + 0.2
    assert torch.allclose(p[1], torch.tensor([1.0, 1 / rest, 0.5 / rest, 0.2 / rest], dtype=torch.float64))
    assert torch.allclose(p.sum(-1), torch.full((2,), 2.0, dtype=torch.float64))


def test_exact_has_minimum_variance(gen):
    """Water-filling minimises sum a^2/p: below the approx sampler and the uniform unbiased pruner."""
    x = lognormal_gradient((256, 16), gen)
    exact = mvue_variance(x, 2, 4).reshape(-1, 4).sum(-1)
    approx = mvue_variance(x, 2, 4, method="approx").reshape(-1, 4).sum(-1)
    uniform = (x.reshape(-1, 4) ** 2).sum(-1)  # keep 2 of 4 uniformly, scale x2: sum a^2 (1/0.5 - 1)
    assert (exact <= approx * (1 + 1e-9)).all() and (exact <= uniform * (1 + 1e-9)).all()
    assert float(exact.sum()) < float(approx.sum())


def test_same_seed_same_result(gen):
    x = torch.randn(32, 32, generator=gen)
    a = mvue_prune(x, 2, 4, generator=torch.Generator().manual_seed(7))
    b = mvue_prune(x, 2, 4, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_dtypes_and_dims(dtype, gen):
    x = torch.randn(8, 12, 4, generator=gen).to(dtype)
    for dim in (0, 2):
        y = mvue_prune(x, 2, 4, dim=dim, generator=gen)
        assert y.shape == x.shape and y.dtype == dtype
        assert ((y.movedim(dim, -1).reshape(-1, 4) != 0).sum(-1) <= 2).all()
        z = mvue_prune(x.to(torch.float64), 2, 4, dim=dim, generator=torch.Generator().manual_seed(9))
        w = mvue_prune(x, 2, 4, dim=dim, generator=torch.Generator().manual_seed(9))
        # same key, same masks; low precision only rounds the kept values
        assert torch.allclose(w.double(), z, rtol=1e-2 if dtype in (torch.float16, torch.bfloat16) else 1e-5)


def test_bad_arguments():
    x = torch.randn(4, 8)
    with pytest.raises(ValueError, match="method"):
        mvue_prune(x, 1, 2, method="approx")
    with pytest.raises(ValueError, match="method"):
        mvue_prune(x, 2, 4, method="bogus")
    with pytest.raises(ValueError, match="multiple of m=3"):
        mvue_prune(x, 1, 3)
    with pytest.raises(ValueError, match="NaN"):
        mvue_prune(torch.full((1, 4), math.nan), 2, 4)
