"""Known answers and invariants of the pruning core: schedules, masks through parametrize, each method's masks,
and the comparison's claims on the quick run."""

import math

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from workbench.classification import Split, digits_data, make_mlp
from workbench.pruning.inference import shrink
from workbench.pruning.masks import (apply_masks, current_masks, keep_top, model_sparsity, prunable_layers,
                                     record_dense_gradients)
from workbench.pruning.models import make_cnn
from workbench.pruning.pruner import Pruner, erk_densities
from workbench.pruning.schedules import Schedule, cubic_sparsity
from workbench.pruning.scores import gradient_statistics

pytestmark = pytest.mark.timeout(600)  # a hang guard


@pytest.fixture(scope="module")
def digits():
    return digits_data(0)


def small_images(n=64, seed=0) -> Split:
    """Random 28x28 'images' with labels: enough to exercise the CNN's masks (not its accuracy)."""
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)
    return Split(x, y, x[:16], y[:16])


def test_cubic_schedule_known_values():
    """Zhu & Gupta eq. 1: s_0 before the start, s_f at and after the end, and s_f (1 - (1/2)^3) halfway."""
    assert cubic_sparsity(0, 0.9, start=10, end=110) == 0.0
    assert cubic_sparsity(10, 0.9, start=10, end=110) == 0.0
    assert cubic_sparsity(60, 0.9, start=10, end=110) == pytest.approx(0.9 * (1 - 0.5 ** 3), abs=1e-12)
    assert cubic_sparsity(110, 0.9, start=10, end=110) == 0.9
    assert cubic_sparsity(500, 0.9, start=10, end=110, initial=0.2) == 0.9
    values = [cubic_sparsity(t, 0.8, start=0, end=100) for t in range(0, 101)]
    assert all(b >= a for a, b in zip(values, values[1:]))  # never un-prunes
    steps = Schedule("gradual", start=0, end=100, every=30).updates(1000)
    assert steps == [0, 30, 60, 90, 100]
    assert Schedule("one-shot", start=5).updates(1000) == [5]


def test_masks_go_through_parametrize_and_block_the_masked_gradients():
    model = make_mlp(0)
    layers = prunable_layers(model)
    masks = keep_top({k: m.weight.abs() for k, m in layers.items()}, 0.75, "layer")
    apply_masks(model, masks)
    for name, layer in layers.items():
        assert parametrize.is_parametrized(layer, "weight")
        original = layer.parametrizations.weight.original
        assert torch.equal(layer.weight, original * masks[name])  # what the forward uses
    model(torch.randn(8, 64)).sum().backward()
    for name, layer in layers.items():
        grad = layer.parametrizations.weight.original.grad
        assert torch.all(grad[~masks[name]] == 0)  # a removed weight does not learn
    assert model_sparsity(model) == pytest.approx(0.75, abs=1e-4)


def test_dense_gradients_equal_autograd_on_the_weight_the_model_uses():
    """gradient_statistics' mean and mean square are those of dL/dW_eff computed by hand (W_eff a leaf), masked
    entries included; 1e-6: float32 sums of a few products."""
    torch.manual_seed(0)
    model = make_mlp(0)
    layers = prunable_layers(model)
    apply_masks(model, keep_top({k: m.weight.abs() for k, m in layers.items()}, 0.5, "layer"))
    batches = [(torch.randn(16, 64), torch.randint(0, 10, (16,))) for _ in range(3)]
    mean, mean_sq = gradient_statistics(model, batches)
    effective = [layers[k].weight.detach().clone().requires_grad_(True) for k in ("0", "2", "4")]
    biases = [layers[k].bias.detach() for k in ("0", "2", "4")]
    grads = []
    for x, y in batches:
        h = torch.relu(x @ effective[0].T + biases[0])
        h = torch.relu(h @ effective[1].T + biases[1])
        loss = nn.functional.cross_entropy(h @ effective[2].T + biases[2], y)
        grads.append(torch.autograd.grad(loss, effective))
    for i, k in enumerate(("0", "2", "4")):
        g = torch.stack([gr[i] for gr in grads])
        assert torch.allclose(mean[k], g.mean(0), atol=1e-6)
        assert torch.allclose(mean_sq[k], (g * g).mean(0), atol=1e-6)


def test_gradual_magnitude_follows_the_cubic_schedule_and_never_revives_a_weight(digits):
    model = make_mlp(0)
    seen: list[dict] = []
    pruner = Pruner("magnitude", 0.9, epochs=3, lr=0.01)
    original_update = pruner._update

    def spy(*args):
        out = original_update(*args)
        seen.append(current_masks(args[0]))
        return out

    pruner._update = spy
    pruner.fit(model, digits)
    total = sum(m.weight.numel() for m in prunable_layers(model).values())
    for rec in pruner.schedule_:  # per-layer rounding: at most one weight per layer off the target
        assert abs(rec["sparsity"] - rec["target"]) <= 3 / total + 1e-9
    for before, after in zip(seen, seen[1:]):
        for k in before:
            assert not torch.any(after[k] & ~before[k])  # a removed weight stays removed
    assert pruner.schedule_[-1]["target"] == pytest.approx(0.9)
    assert model_sparsity(model) == pytest.approx(0.9, abs=3 / total)


def test_global_scope_keeps_the_largest_magnitudes_over_all_layers(digits):
    model = make_mlp(0)
    Pruner("magnitude", 0.8, scope="global", schedule=Schedule("one-shot"), epochs=1, lr=1e-9).fit(model, digits)
    kept, removed = [], []
    for m in prunable_layers(model).values():
        w, mask = m.parametrizations.weight.original.detach(), m.parametrizations.weight[0].mask.bool()
        kept.append(w[mask].abs())
        removed.append(w[~mask].abs())
    # lr 1e-9: the weights barely move after the one-shot cut at step 0, so the cut is still visible
    assert torch.cat(kept).min() >= torch.cat(removed).max() - 1e-6


def test_nm_masks_keep_n_of_every_m_along_the_inputs(digits):
    model = make_mlp(0)
    pruner = Pruner("nm", pattern="1:4", epochs=1).fit(model, digits)
    for name, mask in pruner.masks_.items():
        blocks = mask.flatten(1).view(mask.shape[0], -1, 4)
        assert torch.all(blocks.sum(-1) == 1), name
    assert model_sparsity(model) == pytest.approx(0.75, abs=1e-6)


def test_channel_pruning_removes_whole_channels_and_shrinks_to_the_same_function():
    model = make_cnn(0)
    data = small_images()
    Pruner("channel", 0.5, epochs=1, lr=0.01, batch_size=32).fit(model, data)
    layers = list(prunable_layers(model).items())
    for name, layer in layers[:-1]:
        rows = layer.weight.flatten(1)
        dead = (rows == 0).all(1) & (layer.bias == 0)
        assert int(dead.sum()) == len(rows) // 2, name  # half the channels, with their biases
    small = shrink(model)
    x = data.x_test
    with torch.no_grad():  # same function; 1e-4 relative: float32 sums re-ordered by the removed zeros
        assert torch.allclose(small(x), model(x), rtol=1e-4, atol=1e-4)
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in make_cnn(0).parameters()) / 2


def test_erk_allocation_meets_the_total_and_gives_small_layers_more_density():
    shapes = {"first": (256, 64), "middle": (256, 256), "last": (10, 256)}
    d = erk_densities(shapes, 0.9)
    sizes = {k: math.prod(s) for k, s in shapes.items()}
    kept = sum(d[k] * sizes[k] for k in shapes)
    assert kept == pytest.approx(0.1 * sum(sizes.values()), rel=1e-9)
    assert all(0 < v <= 1 for v in d.values())
    assert d["last"] > d["first"] > d["middle"]  # ER: density ∝ (n_in + n_out) / (n_in n_out)


def test_rigl_keeps_its_sparsity_and_moves_its_mask(digits):
    model = make_mlp(0)
    pruner = Pruner("rigl", 0.9, epochs=3, lr=0.05)
    pruner.fit(model, digits)
    total = sum(m.weight.numel() for m in prunable_layers(model).values())
    counts = {rec["kept"] for rec in pruner.schedule_}
    assert len(counts) == 1 and abs(counts.pop() / total - 0.1) < 1e-4  # drop k, grow k: the count never changes
    start = Pruner("rigl", 0.9, epochs=1, lr=0.05)
    fresh = make_mlp(0)
    apply_masks(fresh, {k: torch.ones_like(m.weight, dtype=torch.bool) for k, m in prunable_layers(fresh).items()})
    start._rigl_start(fresh)
    moved = sum(int((current_masks(fresh)[k] != pruner.masks_[k]).sum()) for k in pruner.masks_)
    assert moved > 0  # connections were dropped and grown


@pytest.mark.parametrize("kwargs, name", [
    (dict(sparsity=1.0), "sparsity"), (dict(sparsity=-0.1), "sparsity"), (dict(sparsity=float("nan")), "sparsity"),
    (dict(sparsity="0.5"), "sparsity"), (dict(method="optimal brain surgeon"), "method"),
    (dict(scope="net"), "scope"), (dict(epochs=0), "epochs"), (dict(lr=0), "lr"),
    (dict(method="nm", pattern="4:2"), "pattern"),
    (dict(drop_fraction=1.5), "drop_fraction"),
])
def test_bad_settings_are_named_before_any_training(digits, kwargs, name):
    model = make_mlp(0)
    with pytest.raises((ValueError, TypeError), match=f"^{name}: "):
        Pruner(**kwargs).fit(model, digits)
    assert not any(parametrize.is_parametrized(m) for m in model.modules())  # refused before touching the model


def test_a_schedule_that_ends_before_it_starts_a_model_without_layers_and_channel_on_a_resnet(digits):
    with pytest.raises(ValueError, match="^schedule: .*ends after it starts"):
        Schedule("gradual", start=100, end=50)
    with pytest.raises(ValueError, match="^end: "):
        cubic_sparsity(3, 0.5, start=10, end=10)
    with pytest.raises(ValueError, match="^model: .*prunable layers"):
        Pruner().fit(nn.Sequential(nn.ReLU()), digits)
    from workbench.pruning.models import make_resnet

    with pytest.raises(ValueError, match="^method: 'channel' needs"):
        Pruner("channel", 0.5).fit(make_resnet(0), small_images())
    with pytest.raises(TypeError, match="^data: "):
        Pruner().fit(make_mlp(0), (digits.x_train, digits.y_train))


def test_record_dense_gradients_off_frees_them():
    model = make_mlp(0)
    apply_masks(model, {k: torch.ones_like(m.weight, dtype=torch.bool) for k, m in prunable_layers(model).items()})
    record_dense_gradients(model, True)
    model(torch.randn(4, 64)).sum().backward()
    assert all(m.parametrizations.weight[0].dense_grad is not None for m in prunable_layers(model).values())
    record_dense_gradients(model, False)
    assert all(m.parametrizations.weight[0].dense_grad is None for m in prunable_layers(model).values())
