"""The ops are registered with torch.library: they compile without graph breaks and nm_prune has a gradient."""

import torch

import kernels  # noqa: F401 - registers torch.ops.workbench.*
from kernels import nm_mask, nm_prune


def test_ops_are_registered():
    assert hasattr(torch.ops.workbench, "nm_prune") and hasattr(torch.ops.workbench, "mvue_prune")


def test_nm_prune_compiles_in_a_full_graph(gen):
    x = torch.randn(8, 16, generator=gen)
    f = torch.compile(lambda t: nm_prune(t * 2, 2, 4) + 1, fullgraph=True, backend="eager")
    assert torch.equal(f(x), nm_prune(x * 2, 2, 4) + 1)


def test_nm_prune_gradient_is_the_mask(gen):
    x = torch.randn(6, 8, generator=gen, requires_grad=True)
    g = torch.randn(6, 8, generator=gen)
    (nm_prune(x, 2, 4) * g).sum().backward()
    assert torch.equal(x.grad, g * nm_mask(x.detach(), 2, 4))


def test_mvue_op_with_a_fixed_key(gen):
    x = torch.randn(8, 16, generator=gen)
    a = torch.ops.workbench.mvue_prune(x, 2, 4, -1, "exact", 42)
    assert torch.equal(a, torch.ops.workbench.mvue_prune(x, 2, 4, -1, "exact", 42))
