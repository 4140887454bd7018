"""Tests of ``workbench.pruning.inference``: shrinking a structurally pruned model, sparse storage and the latency
rows. Speeds are figures, never asserted; only their presence and sign are. Hang guard: ``pytest.mark.timeout``."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils import parametrize

from tests.strategies import floats, named_error
from workbench.classification import make_mlp
from workbench.pruning.inference import (
    csr_weight,
    linear_latency,
    model_latency,
    shrink,
    storage_bytes,
    structured_latency,
    time_call,
)
from workbench.pruning.masks import apply_masks, model_sparsity, prunable_layers
from workbench.pruning.models import make_cnn, make_resnet

HANG = pytest.mark.timeout(120)
FAST = settings(max_examples=25, deadline=None)
QUICK = 0.01  # seconds of timing per measurement: enough for a positive figure, short for the suite


def parameters(model):
    return sum(p.numel() for p in model.parameters())


def channel_masks(model, keep_prob, seed, dead_layer=None):
    """Random structured masks: each output channel of every prunable layer but the last is kept with probability
    ``keep_prob`` (all channels of ``dead_layer`` are removed); a removed channel's weight slice and bias are zero."""
    g = torch.Generator().manual_seed(seed)
    names = list(prunable_layers(model))
    weights, biases = {}, {}
    for name in names[:-1]:
        w = prunable_layers(model)[name].weight
        keep = torch.rand(w.shape[0], generator=g) < keep_prob
        if name == dead_layer:
            keep[:] = False
        weights[name] = keep.view(-1, *[1] * (w.dim() - 1)).expand_as(w).clone()
        biases[name] = keep.clone()
    return weights, biases


def masked(build, keep_prob=0.5, seed=0, dead_layer=None):
    model = build(0)
    apply_masks(model, *channel_masks(model, keep_prob, seed, dead_layer))
    return model


def inputs(model, batch=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    first = next(iter(prunable_layers(model).values()))
    if isinstance(first, nn.Conv2d):
        return torch.randn(batch, first.in_channels, 28, 28, generator=g)
    return torch.randn(batch, first.in_features, generator=g)


def assert_same_function(shrunk, model, x):
    """Removing a dead channel drops exact zeros (0·w, w·0 with w finite) from each sum, so the outputs differ only
    by summation order. Worst case per layer: n·ε·Σ|terms|, with n <= 3136 terms and Σ|terms| <= ~10 here
    (measured over the MLP and CNN layers), amplified by <= ~10 per later layer.
    float64 (ε = 2.2e-16): 3136·2.2e-16·10 ≈ 7e-12 per layer, < 1e-9 after four layers: atol 1e-9, a hard bound.
    float32 (ε = 1.2e-7): the worst case is loose, the typical error is √n·ε·Σ|terms| ≈ 56·1.2e-7·10 ≈ 7e-5 at the
    widest layer, shrunk by the last layers (row L1 norms < 1): atol 1e-4 (observed differences ~4e-8)."""
    atol = 1e-9 if x.dtype == torch.float64 else 1e-4
    with torch.no_grad():
        torch.testing.assert_close(shrunk(x), model(x), rtol=0, atol=atol)


@HANG
@FAST
@given(build=st.sampled_from([make_mlp, make_cnn]), keep_prob=floats(0, 1), seed=st.integers(0, 2**16))
def test_shrink_computes_the_masked_model_with_fewer_parameters(build, keep_prob, seed):
    model = masked(build, keep_prob, seed).double()
    shrunk = shrink(model)
    assert all(p.dtype == torch.float64 for p in shrunk.parameters())
    assert_same_function(shrunk, model, inputs(model).double())
    any_dead = any(not bool(m.weight.ne(0).any(dim=tuple(range(1, m.weight.dim()))).all())
                   for m in list(prunable_layers(model).values())[:-1])
    assert parameters(shrunk) < parameters(model) if any_dead else parameters(shrunk) == parameters(model)
    assert not any(parametrize.is_parametrized(m) for m in shrunk.modules())
    assert all(parametrize.is_parametrized(m, "weight") for m in list(prunable_layers(model).values())[:-1])


def test_shrink_removes_exactly_the_dead_channels_of_the_cnn():
    model = masked(make_cnn, 0.5, seed=3)
    masks = channel_masks(make_cnn(0), 0.5, 3)[0].values()
    kept = [int(mask.view(mask.shape[0], -1).any(1).sum()) for mask in masks]
    layers = list(prunable_layers(shrink(model)).values())
    assert [layers[0].out_channels, layers[1].out_channels, layers[2].out_features] == kept
    assert [layers[1].in_channels, layers[2].in_features, layers[3].in_features] == [kept[0], kept[1] * 49, kept[2]]
    assert layers[3].out_features == 10  # the last layer keeps every output
    assert_same_function(shrink(model), model, inputs(model))  # float32


def test_shrink_keeps_one_zero_channel_of_an_all_dead_layer():
    model = masked(make_mlp, 1.0, dead_layer="2")
    shrunk = shrink(model)
    assert (shrunk[2].out_features, shrunk[4].in_features) == (1, 1)
    assert shrunk[0].out_features == 256  # the layer before is untouched
    assert not shrunk[2].weight.any() and not shrunk[2].bias.any()
    assert_same_function(shrunk, model, inputs(model))


def test_shrink_keeps_a_zero_weight_channel_with_a_bias_and_handles_a_conv_without_bias():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, bias=False), nn.Dropout(0.5), nn.ReLU(), nn.Identity(),
                          nn.Conv2d(4, 3, 1), nn.Flatten(), nn.Linear(3 * 26 * 26, 5), nn.Linear(5, 2)).eval()
    with torch.no_grad():
        model[0].weight[1] = 0  # no bias: dead
        model[4].weight[0] = 0  # a bias: its output is the constant relu(b), kept
        model[6].weight[3] = 0
        model[6].bias[3] = 0  # dead
    shrunk = shrink(model)
    assert (shrunk[0].out_channels, shrunk[4].in_channels, shrunk[4].out_channels) == (3, 3, 3)
    assert (shrunk[6].in_features, shrunk[6].out_features, shrunk[7].in_features) == (3 * 26 * 26, 4, 4)
    assert shrunk[0].bias is None and not shrunk.training
    assert_same_function(shrunk, model, torch.randn(3, 2, 28, 28))


@pytest.mark.parametrize(
    "model,match",
    [
        (make_resnet(0), "^model: .*BatchNorm2d at index 1"),
        (nn.Linear(4, 2), "^model: expected a torch.nn.Sequential"),
        (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Linear(26, 3)), "^model: expected a Flatten"),
        (nn.Sequential(nn.Linear(4, 4), nn.Conv2d(1, 2, 3)), "^model: shrink cannot follow a Linear"),
        (nn.Sequential(nn.Conv2d(2, 2, 3, groups=2), nn.ReLU(), nn.Conv2d(2, 2, 1)), "^model: .*groups=2"),
        (nn.Sequential(nn.Conv2d(1, 3, 3), nn.Flatten(), nn.Linear(10, 2)), "^model: .*not a multiple"),
        (nn.Sequential(nn.ReLU()), "^model: .*none"),
    ],
)
def test_shrink_refuses_what_it_cannot_shrink_and_names_it(model, match):
    with pytest.raises(ValueError, match=match):
        shrink(model)


def test_csr_matmul_equals_dense():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(256, 256, generator=g) * (torch.rand(256, 256, generator=g) < 0.05)
    x = torch.randn(32, 256, generator=g)
    # same products, different summation order: float32 rounding over <= 256 terms of O(1) stays far below 1e-4
    torch.testing.assert_close(torch.mm(csr_weight(w), x.T).T, F.linear(x, w), rtol=1e-5, atol=1e-4)


def test_storage_bytes_of_csr_at_95_percent_is_the_formula_and_below_dense():
    g = torch.Generator().manual_seed(0)
    nnz = round(0.05 * 256 * 256)  # 3277
    w = torch.zeros(256 * 256)
    w[torch.randperm(w.numel(), generator=g)[:nnz]] = torch.rand(nnz, generator=g) + 1  # nonzero values
    w = w.view(256, 256)
    dense = 256 * 256 * 4  # 262144
    csr = nnz * 4 + nnz * 8 + 257 * 8  # float32 values, int64 column indices, int64 row pointers: 41380
    assert (storage_bytes(w), storage_bytes(csr_weight(w))) == (dense, csr) == (262144, 41380)


@HANG
@FAST
@given(out=st.integers(1, 12), cols=st.integers(1, 12), kernel=st.sampled_from([None, 1, 3]),
       sparsity=floats(0, 1), dtype=st.sampled_from([torch.float32, torch.float64, torch.float16]),
       seed=st.integers(0, 2**16))
def test_csr_weight_round_trips_and_storage_matches_the_formula(out, cols, kernel, sparsity, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    shape = (out, cols) if kernel is None else (out, cols, kernel, kernel)
    w = (torch.randn(shape, generator=g) * (torch.rand(shape, generator=g) >= sparsity)).to(dtype)
    csr = csr_weight(w)
    flat = w.reshape(out, -1)
    assert csr.layout == torch.sparse_csr and csr.shape == flat.shape
    assert torch.equal(csr.to_dense(), flat)
    nnz = int(flat.ne(0).sum())
    assert storage_bytes(csr) == nnz * (w.element_size() + 8) + (out + 1) * 8
    assert storage_bytes(w) == w.numel() * w.element_size()


def test_linear_latency_rows():
    w = make_mlp(0)[2].weight.detach().clone()
    w[w.abs() < w.abs().flatten().kthvalue(int(0.95 * w.numel())).values] = 0
    rows = linear_latency(w, 16, sparsity_label="95% unstructured", min_run_time=QUICK)
    formats = ["dense", "csr"] + (["2:4"] if torch.cuda.is_available() and w.is_cuda else [])
    assert [r["format"] for r in rows] == formats  # no "2:4" row on the CPU
    for row in rows:
        assert set(row) == {"format", "ms_per_batch", "bytes", "batch", "shape", "sparsity", "label"}
        assert row["ms_per_batch"] > 0 and row["batch"] == 16 and row["shape"] == [256, 256]
        assert row["sparsity"] == float(w.eq(0).float().mean()) == pytest.approx(0.95, abs=1e-4)  # kthvalue: ±1 entry
        assert row["label"] == "95% unstructured"
    assert rows[0]["bytes"] == 256 * 256 * 4 and rows[1]["bytes"] == storage_bytes(csr_weight(w))
    assert "label" not in linear_latency(torch.randn(3, 5), 2, min_run_time=QUICK)[0]


def test_model_latency_counts_parameters_and_restores_the_training_flag():
    model = make_mlp(0).train()
    row = model_latency(model, torch.randn(8, 64), min_run_time=QUICK)
    assert set(row) == {"ms_per_batch", "bytes", "parameters"} and row["ms_per_batch"] > 0
    assert row["parameters"] == 64 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    assert row["bytes"] == 4 * row["parameters"]  # float32, no buffers
    assert model.training


@HANG
def test_structured_latency_rows_and_the_model_survives():
    model = masked(make_cnn, 0.5, seed=1)
    x = inputs(model)
    rows = structured_latency(model, x, min_run_time=QUICK)
    assert [r["format"] for r in rows] == ["dense (masked)", "structured (shrunk)"]
    assert all(r["ms_per_batch"] > 0 and r["sparsity"] == model_sparsity(model) and r["batch"] == 4 for r in rows)
    assert rows[0]["parameters"] == parameters(make_cnn(0)) == 421642
    assert rows[1]["parameters"] == parameters(shrink(model)) < rows[0]["parameters"]
    assert rows[0]["bytes"] == 4 * rows[0]["parameters"]  # the masks are baked in, not stored
    assert_same_function(shrink(model), model, x)  # the model still has its masks and computes


@pytest.mark.parametrize(
    "call,word",
    [
        (lambda: linear_latency(torch.randn(4, 4), batch=0), "batch"),
        (lambda: linear_latency(torch.randn(4, 4), batch=2.0), "batch"),
        (lambda: linear_latency(torch.randn(2, 3, 4)), "weight"),
        (lambda: linear_latency([[1.0, 2.0]]), "weight"),
        (lambda: linear_latency(torch.ones(4, 4, dtype=torch.int64)), "weight"),
        (lambda: linear_latency(torch.randn(4, 4), sparsity_label=0.9), "sparsity_label"),
        (lambda: csr_weight(torch.randn(3)), "w"),
        (lambda: csr_weight("w"), "w"),
        (lambda: storage_bytes(3), "t"),
        (lambda: time_call(3), "fn"),
        (lambda: time_call(lambda: None, min_run_time=0), "min_run_time"),
        (lambda: time_call(lambda: None, min_run_time=float("nan")), "min_run_time"),
        (lambda: shrink("model"), "model"),
        (lambda: shrink(nn.Linear(2, 2)), "model"),
        (lambda: model_latency("model", torch.randn(2, 2)), "model"),
        (lambda: model_latency(nn.Linear(2, 2), "x"), "x"),
        (lambda: structured_latency(nn.Linear(2, 2), torch.randn(2, 2)), "model"),
        (lambda: structured_latency(make_mlp(0), [1.0]), "x"),
    ],
)
def test_bad_arguments_are_named(call, word):
    with pytest.raises((ValueError, TypeError), match=f"^{word}:"):
        call()


@HANG
@FAST
@given(batch=st.one_of(st.integers(-3, 3), floats(-2, 2), st.none()), rows=st.integers(0, 4),
       dims=st.integers(1, 3))
def test_linear_latency_gives_rows_or_a_named_error(batch, rows, dims):
    weight = torch.randn((rows,) + (3,) * (dims - 1))
    got = named_error(lambda: linear_latency(weight, batch, min_run_time=QUICK), {"weight", "batch"})
    ok = dims == 2 and rows >= 1 and isinstance(batch, int) and batch >= 1
    assert (got is not None) == ok
    if ok:
        assert [r["shape"] for r in got] == [[rows, 3]] * 2
