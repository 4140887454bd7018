import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kernels import nm_mask, nm_prune
from workbench.nm_sparsity import mask_statistics, prune_gradient, sparsify, unsparsify


def linear_case(gen, batch=12, n_in=16, n_out=8):
    torch.manual_seed(0)
    layer = nn.Linear(n_in, n_out)
    x = torch.randn(batch, n_in, generator=gen)
    r = torch.randn(batch, n_out, generator=gen)  # loss = sum(out * r): dL/dout = r
    return layer, x, r


def test_linear_forward_and_backward_match_the_definition(gen):
    layer, x, r = linear_case(gen)
    w0 = layer.weight.detach().clone()
    sparsify(layer, weights=(2, 4), activations=(1, 2), gradients=(2, 4), gradient_mask="mse")
    xin = x.clone().requires_grad_(True)
    out = layer(xin)
    w = nm_prune(w0, 2, 4, dim=1)
    a_mask = nm_mask(x, 1, 2, dim=-1)
    a = x * a_mask
    assert torch.allclose(out, F.linear(a, w, layer.bias))
    (out * r).sum().backward()
    g = nm_prune(r, 2, 4, dim=0)  # MSE 2:4 along the batch, per output channel
    assert torch.allclose(layer.weight.grad, g.t() @ a)  # straight-through to the dense weights
    assert torch.allclose(xin.grad, (r @ w) * a_mask)  # dense delta_z through the pruned weights
    assert torch.allclose(layer.bias.grad, r.sum(0))


def test_unsparsify_restores_dense(gen):
    layer, x, _ = linear_case(gen)
    dense = layer(x)
    sparsify(layer, weights=(2, 4))
    assert not torch.allclose(layer(x), dense)
    unsparsify(layer)
    assert torch.equal(layer(x), dense)
    assert not hasattr(layer, "nm_config")


def test_mvue_weight_gradient_is_unbiased(gen):
    """Average of K MVUE weight gradients vs the dense one, per-entry z-score with the sample sd."""
    layer, x, r = linear_case(gen, batch=16)
    dense_grad = r.t() @ x
    sparsify(layer, gradients=(1, 2), gradient_mask="mvue", seed=3)
    k = 3000
    grads = torch.empty(k, *dense_grad.shape)
    for i in range(k):
        layer.weight.grad = None
        (layer(x) * r).sum().backward()
        grads[i] = layer.weight.grad
    se = grads.std(0) / k**0.5
    z = (grads.mean(0) - dense_grad).abs() / se
    assert float(z.max()) < 5.5  # 128 entries: false alarm < 1e-5
    # and the MSE mask is biased on the same gradient: its error is many standard errors away
    mse_grad = nm_prune(r, 1, 2, dim=0).t() @ x
    assert float(((mse_grad - dense_grad).abs() / se).max()) > 20


def test_conv2d_matches_the_definition(gen):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 8, 3, padding=1, stride=1)
    x = torch.randn(2, 4, 5, 5, generator=gen)
    r = torch.randn(2, 8, 5, 5, generator=gen)
    w0 = conv.weight.detach().clone()
    sparsify(conv, weights=(2, 4), activations=(2, 4), gradients=(1, 2), gradient_mask="mse")
    out = conv(x)
    w = nm_prune(w0.reshape(8, -1), 2, 4, dim=1).reshape(w0.shape)
    a = nm_prune(x, 2, 4, dim=1)
    assert torch.allclose(out, F.conv2d(a, w, conv.bias, padding=1), atol=1e-6)
    (out * r).sum().backward()
    g = prune_gradient(r.permute(0, 2, 3, 1).reshape(-1, 8), 1, 2, "mse").reshape(2, 5, 5, 8).permute(0, 3, 1, 2)
    expected = torch.nn.grad.conv2d_weight(a, w.shape, g, padding=1)
    assert torch.allclose(conv.weight.grad, expected, atol=1e-5)


def test_prune_gradient_pads_a_ragged_batch(gen):
    g = torch.randn(10, 3, generator=gen)
    out = prune_gradient(g, 2, 4, "mse")
    assert out.shape == g.shape
    assert torch.equal(out[8:], g[8:])  # the last block (2 rows + 2 zero pad rows) keeps both rows


@pytest.mark.parametrize(
    "kwargs,exc,word",
    [
        (dict(weights=(4, 4)), ValueError, "weights"),
        (dict(gradients=(2, "4")), TypeError, "gradients"),
        (dict(gradient_mask="topk"), ValueError, "gradient_mask"),
        (dict(activations=(2, 3)), ValueError, "activations"),  # 16 features, not a multiple of 3
        (dict(gradients=(1, 2), gradient_mask="approx"), ValueError, "gradient_mask"),
    ],
)
def test_bad_settings(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        sparsify(nn.Linear(16, 8), **kwargs)
    with pytest.raises(TypeError, match="model"):
        sparsify("not a model", weights=(2, 4))


def test_mask_statistics_against_formulas(gen):
    x = torch.randn(64, 16, generator=gen)
    mse = mask_statistics(x, 2, 4, "mse", samples=10)
    assert torch.allclose(mse.exact_bias, nm_prune(x, 2, 4).double() - x.double())
    assert mse.total_variance(exact=True) == 0 and mse.relative_bias(exact=True) > 0.1
    mv = mask_statistics(x, 2, 4, "mvue", samples=4000)
    assert mv.relative_bias(exact=True) == 0
    # measured bias ~ sqrt(var/samples)/||x||; 4000 draws: well under 1/4 of the MSE bias
    assert mv.relative_bias() < 0.25 * mse.relative_bias()
    assert abs(mv.total_variance() / mv.total_variance(exact=True) - 1) < 0.05
    assert mv.block_variance().shape == (64, 4)
    with pytest.raises(ValueError, match="samples"):
        mask_statistics(x, 2, 4, "mvue", samples=1)
