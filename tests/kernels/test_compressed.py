import pytest
import torch

from kernels import mvue_prune, nm_compress, nm_decompress, nm_linear, nm_prune, to_semi_structured
from kernels.compressed import index_bits

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
PATTERNS = [(1, 2), (2, 4), (1, 4), (2, 8), (4, 8), (3, 16)]


@pytest.mark.parametrize("n,m", PATTERNS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_is_exact(n, m, dtype, gen):
    x = nm_prune(torch.randn(3, 5, 2 * m, generator=gen), n, m).to(dtype)
    x[0, 0, :m] = 0  # an empty block
    x[1, 1, :m] = 0
    x[1, 1, 1] = 7.0  # a block with a single non-zero
    values, indices = nm_compress(x, n, m)
    assert values.shape == (3, 5, 2 * n) and values.dtype == dtype
    assert indices.dtype == torch.uint8
    per_byte, k = 8 // index_bits(m), values.shape[-1]
    assert indices.shape == (values.numel() // k, -(-k // per_byte))  # bit-packed, row by row
    assert torch.equal(nm_decompress(values, indices, n, m, x.shape), x)


@pytest.mark.parametrize("dim", [0, 2])
def test_odd_shapes_non_contiguous_and_dims(dim, gen):
    x = torch.randn(6, 7, 12, generator=gen).transpose(0, 2)  # (12, 7, 6), non-contiguous
    y = mvue_prune(x, 1, 2, dim=dim, generator=gen)
    v, i = nm_compress(y, 1, 2, dim=dim)
    assert torch.equal(nm_decompress(v, i, 1, 2, y.shape, dim=dim), y)


def test_rejects_dense_input_and_wrong_shapes(gen):
    x = torch.randn(4, 8, generator=gen)
    with pytest.raises(ValueError, match="not 2:4 sparse"):
        nm_compress(x, 2, 4)
    v, i = nm_compress(nm_prune(x, 2, 4), 2, 4)
    with pytest.raises(ValueError, match="values"):
        nm_decompress(v, i, 2, 4, (4, 12))
    with pytest.raises(TypeError, match="uint8"):
        nm_decompress(v, i.to(torch.int64), 2, 4, x.shape)


def test_nm_linear_falls_back_to_dense(gen):
    w = torch.randn(16, 32, generator=gen)
    x = torch.randn(5, 32, generator=gen)
    ws = to_semi_structured(w)
    assert torch.allclose(nm_linear(x, ws), x @ nm_prune(w, 2, 4).T)
