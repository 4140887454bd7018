import itertools

import pytest
import torch

from kernels import nm_mask, nm_prune

PATTERNS = [(1, 2), (2, 4), (1, 4), (3, 4), (3, 8), (4, 8)]

pytestmark = pytest.mark.usefixtures("backend")


def brute_force_mask(x: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """Enumerate every n-of-m pattern per block; keep the one with the most retained magnitude."""
    blocks = x.reshape(-1, m).abs()
    patterns = torch.zeros(0, m, dtype=torch.bool)
    for kept in itertools.combinations(range(m), n):
        row = torch.zeros(1, m, dtype=torch.bool)
        row[0, list(kept)] = True
        patterns = torch.cat([patterns, row])
    scores = blocks @ patterns.T.double()  # (blocks, patterns)
    return patterns[scores.argmax(-1)].reshape(x.shape)


@pytest.mark.parametrize("n,m", PATTERNS)
def test_mask_equals_brute_force(n, m, gen):
    # continuous random values: ties have probability 0, so the optimal mask is unique
    for _ in range(5):
        x = torch.randn(17, 3 * m, generator=gen, dtype=torch.float64)
        assert torch.equal(nm_mask(x, n, m), brute_force_mask(x, n, m))


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_mask_along_any_dim(dim, gen):
    x = torch.randn(8, 4, 12, generator=gen)
    expected = nm_mask(x.movedim(dim, -1).contiguous(), 2, 4).movedim(-1, dim)
    assert torch.equal(nm_mask(x, 2, 4, dim=dim), expected)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_prune_keeps_shape_dtype_and_n_per_block(dtype, gen):
    x = torch.randn(6, 10, 8, generator=gen).to(dtype)
    y = nm_prune(x, 2, 4)
    assert y.shape == x.shape and y.dtype == dtype
    assert ((y.reshape(-1, 4) != 0).sum(-1) <= 2).all()
    kept = y != 0
    assert torch.equal(y[kept], x[kept])  # kept entries are unchanged


def test_noncontiguous_input(gen):
    x = torch.randn(16, 12, generator=gen).t()  # (12, 16), non-contiguous
    assert not x.is_contiguous()
    assert torch.equal(nm_prune(x, 2, 4), nm_prune(x.contiguous(), 2, 4))


def test_ties_keep_exactly_n_lowest_index_first():
    x = torch.ones(2, 4)
    assert nm_mask(x, 2, 4).tolist() == [[True, True, False, False]] * 2


def test_empty_tensor():
    assert nm_prune(torch.zeros(0, 4), 2, 4).shape == (0, 4)


@pytest.mark.parametrize(
    "kwargs,exc,words",
    [
        (dict(x=torch.zeros(3, 6), n=2, m=4), ValueError, ["x", "multiple of m=4"]),
        (dict(x=torch.zeros(3, 4), n=4, m=4), ValueError, ["n", "n < m"]),
        (dict(x=torch.zeros(3, 4), n=0, m=4), ValueError, ["n", "n >= 1"]),
        (dict(x=torch.tensor([[1.0, float("nan"), 0, 0]]), n=2, m=4), ValueError, ["x", "NaN"]),
        (dict(x=torch.tensor([[1.0, float("inf"), 0, 0]]), n=2, m=4), ValueError, ["x", "Inf"]),
        (dict(x=torch.zeros(3, 4, dtype=torch.int64), n=2, m=4), TypeError, ["x", "floating"]),
        (dict(x=[1.0, 2.0], n=1, m=2), TypeError, ["x", "Tensor"]),
        (dict(x=torch.zeros(3, 4), n=2, m=4, dim=2), ValueError, ["dim"]),
    ],
)
def test_bad_input_names_the_argument(kwargs, exc, words):
    for fn in (nm_mask, nm_prune):
        with pytest.raises(exc) as info:
            fn(**kwargs)
        for w in words:
            assert w in str(info.value)


def test_odd_m_and_m_up_to_8(gen):
    x = torch.randn(9, 35, generator=gen, dtype=torch.float64)
    for n, m in [(2, 5), (3, 7)]:
        assert torch.equal(nm_mask(x, n, m), brute_force_mask(x, n, m))
