"""The Numba forward of kernels.lif (CPU) is bit-for-bit the PyTorch path's, on any shape, dtype and parameters
(the reference's float operations in its order), and is the path CPU calls take."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import _lif_cpu, _numba, lif

pytestmark = pytest.mark.skipif(not _numba.numba_ok(), reason="numba is not installed")


@settings(max_examples=40, deadline=None)
@given(b=st.integers(0, 40), t=st.integers(0, 30), h=st.integers(0, 20), per_neuron=st.booleans(),
       dtype=st.sampled_from([torch.float32, torch.float64]), seed=st.integers(0, 2**16), scale=st.floats(0.1, 5))
def test_numba_forward_is_the_pytorch_path_bit_for_bit(b, t, h, per_neuron, dtype, seed, scale):
    g = torch.Generator().manual_seed(seed)
    current = (torch.randn(b, t, h, generator=g) * scale).to(dtype)
    shape = (h,) if per_neuron else ()
    beta = torch.rand(shape, generator=g).to(dtype)
    threshold = (torch.rand(shape, generator=g) + 0.2).to(dtype)
    assert _lif_cpu.available(current)
    spikes, membrane = lif(current, beta, threshold)
    run = pytest.MonkeyPatch()
    try:
        run.setenv("WORKBENCH_FUSED", "0")
        ref_spikes, ref_membrane = lif(current, beta, threshold)
    finally:
        run.undo()
    assert torch.equal(spikes, ref_spikes) and torch.equal(membrane, ref_membrane)


def test_many_sequences_split_across_threads_agree(generic):
    """Enough sequences for several threads' ranges: the ranges' seams change nothing."""
    g = torch.Generator().manual_seed(0)
    current = torch.randn(300, 50, 64, generator=g) * 2
    beta, threshold = torch.full((64,), 0.8), torch.full((64,), 1.0)
    with torch.no_grad():
        out = lif(current, beta, threshold)
    ref = generic(lif, current, beta, threshold)
    assert all(torch.equal(a, r) for a, r in zip(out, ref))
    assert 0.01 < float(out[0].mean()) < 0.99  # neurons do fire and do not always fire: the test is not vacuous


def test_gradients_are_unchanged_by_the_numba_forward(generic):
    """The backward reads the forward's saved membrane: with bit-equal forwards, the gradients are equal too."""
    g = torch.Generator().manual_seed(1)
    current = (torch.randn(8, 20, 16, generator=g) * 2).requires_grad_()
    beta = torch.full((16,), 0.7, requires_grad=True)
    threshold = torch.full((16,), 1.0, requires_grad=True)
    grads = []
    for fn in (lif, lambda *a: generic(lif, *a)):
        s, v = fn(current, beta, threshold)
        grads.append(torch.autograd.grad((s * 1.5 + v).sum(), (current, beta, threshold)))
    assert all(torch.equal(a, b) for a, b in zip(*grads))
