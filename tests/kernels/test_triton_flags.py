"""The finiteness / overflow flags the Triton N:M kernels write (interpreted on CPU, ``TRITON_INTERPRET=1``).

The kernels check their input as they read it (bit 0, ``NONFINITE_INPUT``) and the MVUE kernels their output as
they store it (bit 1, ``NONFINITE_OUTPUT``, after the cast to the output dtype), so the ops raise the PyTorch
path's errors with no second pass over ``x``: no ``torch.isfinite`` call on the way.
"""

import os

import pytest
import torch

from kernels import _triton, mvue_prune, nm_mask, nm_prune
from kernels._blocks import NONFINITE_INPUT, NONFINITE_OUTPUT

OPS = {
    "nm_prune": lambda x: nm_prune(x, 2, 4),
    "nm_mask": lambda x: nm_mask(x, 2, 4),
    "mvue 1:2": lambda x: mvue_prune(x, 1, 2),
    "mvue 2:4": lambda x: mvue_prune(x, 2, 4),
    "approx 2:4": lambda x: mvue_prune(x, 2, 4, method="approx"),
}
# the interpreter computes with numpy, which warns where a value overflows or is NaN: the cases under test
pytestmark = [pytest.mark.filterwarnings(f"ignore:{w} encountered:RuntimeWarning") for w in ("overflow", "invalid")]
MVUE = [(1, 2, "exact"), (2, 4, "exact"), (2, 4, "approx")]
ROWS = 600  # 600 * 8 / 4 = 1200 blocks of 4: five programs of 256, the last ragged


@pytest.fixture(autouse=True)
def interpreted_triton(monkeypatch):
    if not _triton.available():
        pytest.skip("triton is not installed")
    if os.environ.get("TRITON_INTERPRET") != "1":
        pytest.skip("Triton is compiled for the GPU in this run; test_cuda.py checks the flags there")
    monkeypatch.setenv("WORKBENCH_KERNELS", "triton")


def randn(*shape, dtype=torch.float32, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).to(dtype)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("bad,word", [(float("nan"), "NaN"), (float("inf"), "Inf"), (float("-inf"), "Inf")])
@pytest.mark.parametrize("where", [(0, 0), (ROWS - 1, 7)])  # the first program, the last (ragged) one
def test_nonfinite_input_raises(op, bad, word, where):
    x = randn(ROWS, 8)
    x[where] = bad
    with pytest.raises(ValueError, match=word):
        OPS[op](x)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_flags_are_zero_for_ordinary_input(dtype):
    x = randn(ROWS, 8, dtype=dtype)
    x[:3] = 0.0  # all-zero blocks
    x[3] = torch.finfo(dtype).max  # finite extremes are not flagged
    for n, m in [(2, 4), (1, 2), (3, 8), (2, 3)]:
        blocks = (x if 8 % m == 0 else x[:, :6]).reshape(-1, m)
        out, flags = _triton.nm_prune_blocks(blocks, n, m)
        assert flags.dtype == torch.int32 and flags.tolist() == [0]
        _, _, flags = _triton.nm_prune_blocks(blocks, n, m, with_mask=True)
        assert flags.tolist() == [0]
    x[3] = 1.0  # MVUE's kept values x_i / p_i of a max-valued block overflow
    for n, m, method in MVUE:
        _, flags = _triton.mvue_blocks(x.reshape(-1, m), n, m, method, 12345)
        assert flags.tolist() == [0]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("bad", [float("nan"), float("-inf")])
def test_input_bit_in_every_dtype(dtype, bad):
    blocks = torch.ones(600, 4, dtype=dtype)
    blocks[599, 2] = bad
    assert _triton.nm_prune_blocks(blocks, 2, 4)[1].item() == NONFINITE_INPUT
    assert _triton.nm_prune_blocks(blocks[:, :3].contiguous(), 1, 3)[1].item() == NONFINITE_INPUT  # 2-D load
    for n, m, method in MVUE:
        assert _triton.mvue_blocks(blocks.reshape(-1, m), n, m, method, 1)[1].item() & NONFINITE_INPUT


@pytest.mark.parametrize("n,m,method", MVUE)
def test_output_bit(n, m, method):
    blocks = torch.ones(600, m)
    blocks[599] = 3e38  # every kept value is about 2 * 3e38 / n: not representable
    _, flags = _triton.mvue_blocks(blocks, n, m, method, 1)
    assert flags.item() == NONFINITE_OUTPUT


def test_overflowing_unbiased_value_raises():
    """Float32 1:2 ``[1e38, 3e38]``: ``p = (1/4, 3/4)``, the kept value is ``+-4e38``, over float32's max."""
    x = torch.zeros(ROWS, 8)
    x[ROWS - 1, 6:] = torch.tensor([1e38, 3e38])
    with pytest.raises(ValueError, match="^x: an unbiased kept value"):
        mvue_prune(x, 1, 2)


FP16_PAIR = [30000.0, 60000.0]
CAST_CASES = [
    (torch.float16, 1, 2, "exact", FP16_PAIR),  # p = (1/3, 2/3): kept 90000
    (torch.float16, 2, 4, "exact", FP16_PAIR * 2),  # p = (1/3, 2/3, 1/3, 2/3): kept 90000
    (torch.float16, 2, 4, "approx", FP16_PAIR * 2),  # kept about 82000 or 95000
]  # bfloat16: test_cuda.py (the interpreter truncates float32 -> bfloat16, so that cast cannot overflow here)


@pytest.mark.parametrize("dtype,n,m,method,block", CAST_CASES)
def test_overflow_in_the_cast_to_the_output_dtype_raises(dtype, n, m, method, block):
    """The kept value, computed in float32, is finite but over the output dtype's max: the kernel checks the
    value as stored."""
    x = torch.zeros(ROWS, 8, dtype=dtype)
    x[5, :m] = torch.tensor(block, dtype=dtype)
    with pytest.raises(ValueError, match="^x: an unbiased kept value"):
        mvue_prune(x, n, m, method=method)
    assert torch.isfinite(mvue_prune(x.float(), n, m, method=method)).all()  # finite in float32


@pytest.mark.parametrize("op", OPS)
def test_no_second_pass_over_x(op, monkeypatch):
    """The Triton path calls no ``torch.isfinite`` (the kernel's flags replace the pass over ``x``)."""
    calls = []
    isfinite = torch.isfinite

    def counting(t, *args, **kwargs):
        calls.append(tuple(t.shape))
        return isfinite(t, *args, **kwargs)

    monkeypatch.setattr(torch, "isfinite", counting)
    x = randn(ROWS, 8)
    OPS[op](x)
    assert calls == []


@pytest.mark.parametrize("n,m", [(2, 4), (1, 2), (3, 8), (2, 3), (5, 8)])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_native_dtype_ranking_matches_the_torch_path(n, m, dtype, monkeypatch):
    """Ranks compared in ``x``'s own dtype: float64 values equal in float32 still rank as the torch path's."""
    x = randn(ROWS, 2 * m, dtype=dtype, seed=m)
    if dtype == torch.float64:
        x[:, 1] = x[:, 0] * (1 + 2.0 ** -40)  # distinct in float64, equal after rounding to float32
    x[:4] = 1.0  # ties: the lower index wins
    got, got_mask = nm_prune(x, n, m), nm_mask(x, n, m)
    monkeypatch.setenv("WORKBENCH_KERNELS", "torch")
    assert torch.equal(got, nm_prune(x, n, m)) and torch.equal(got_mask, nm_mask(x, n, m))
