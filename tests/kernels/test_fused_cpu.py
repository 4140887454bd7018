"""The fused (torch.compile) CPU path for 1:2 / 2:4 agrees with the generic path and stays unbiased."""

import pytest
import torch

from kernels import _fused_cpu, mvue_prune, mvue_variance, nm_prune

NUMEL = _fused_cpu.MIN_NUMEL  # the smallest size that takes the fused path


@pytest.fixture
def generic(monkeypatch):
    def run(fn, *args, **kwargs):
        monkeypatch.setenv("WORKBENCH_FUSED", "0")
        try:
            return fn(*args, **kwargs)
        finally:
            monkeypatch.setenv("WORKBENCH_FUSED", "1")

    return run


def test_fused_path_is_taken():
    assert _fused_cpu.fused_available(torch.empty(NUMEL))
    assert not _fused_cpu.fused_available(torch.empty(NUMEL - 4))


def test_prune24_equals_generic(gen, generic):
    x = torch.randn(NUMEL // 8, 8, generator=gen)
    x[0, :4] = 1.0  # ties go to the lower index on both paths
    for dim in (1, 0):
        assert torch.equal(nm_prune(x, 2, 4, dim=dim), generic(nm_prune, x, 2, 4, dim=dim))


@pytest.mark.parametrize("n,m", [(1, 2), (2, 4)])
def test_mvue_equals_generic(n, m, gen, generic):
    x = torch.randn(NUMEL, generator=gen)
    a = mvue_prune(x, n, m, generator=torch.Generator().manual_seed(5))
    b = generic(mvue_prune, x, n, m, generator=torch.Generator().manual_seed(5))
    # same counter-based uniforms; probabilities are computed in a different order (closed form vs
    # sort), so a uniform that falls within float rounding of a boundary may flip: allow 1e-4 of blocks
    differ = ((a != 0) != (b != 0)).reshape(-1, m).any(-1)
    assert differ.float().mean() < 1e-4
    same = ~differ.repeat_interleave(m)
    assert torch.allclose(a[same], b[same], rtol=1e-5, atol=0)


@pytest.mark.parametrize("n,m", [(1, 2), (2, 4)])
def test_fused_mvue_is_unbiased(n, m, gen):
    base = torch.randn(64, 16, generator=gen, dtype=torch.float64)
    base[0, :4] = torch.tensor([10.0, 1.0, 0.5, -0.2], dtype=torch.float64)  # a dominant entry
    reps = NUMEL // base.numel()
    d = mvue_prune(base.repeat(reps, 1), n, m, generator=gen).reshape(reps, *base.shape)
    var = mvue_variance(base, n, m)
    z = (d.mean(0) - base).abs() / (var / reps).sqrt()
    assert float(z[var > 0].max()) < 5.5  # 1024 entries: false alarm < 1e-4
    assert abs(float(d.var(0).sum() / var.sum()) - 1) < 0.1  # 1024 copies: sd of the ratio ~ 0.02


def test_fused_detects_nan_and_inf():
    x = torch.zeros(NUMEL)
    x[7] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        nm_prune(x, 2, 4)
    x[7] = float("inf")
    with pytest.raises(ValueError, match="Inf"):
        mvue_prune(x, 2, 4)


@pytest.mark.parametrize("n,m", [(1, 2), (2, 4)])
def test_fused_rescales_huge_blocks(n, m):
    """Issue 18: a block sum that overflows float32 gave zeros. 2:4 [2e38]*3: p = 2/3, kept 3e38; 1:2
    [1e38, 3e38]: S = 4e38 overflows, p = (1/4, 3/4), kept +-4e38 overflows: an error, not zeros."""
    x = torch.zeros(NUMEL)
    x[:4] = torch.tensor([2e38, 2e38, 2e38, 0.0])
    if m == 4:
        out = mvue_prune(x, n, m, generator=torch.Generator().manual_seed(0))
        assert int((out[:4] != 0).sum()) == 2 and torch.allclose(out[:4][out[:4] != 0], torch.tensor(3e38))
    else:
        x[:2] = torch.tensor([1e38, 3e38])
        with pytest.raises(ValueError, match="^x: an unbiased kept value"):
            mvue_prune(x, n, m)
