"""Real tensors to look at: weights, activations and neural gradients of an MLP trained on digits.

For each Linear layer the tensors are oriented so that N:M blocks run along the GEMM's reduction
dimension, as in training (see :mod:`workbench.nm_sparsity.sparsify`):

* ``weight``     ``(out, in)``       blocks along ``in``  (dim 1)
* ``activation`` ``(batch, in)``     blocks along ``in``  (dim 1)
* ``gradient``   ``(batch, out)``    blocks along ``batch`` (dim 0)
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from workbench.nm_sparsity.training import capture_gradients, digits_data, make_mlp, train

__all__ = ["TENSOR_KINDS", "BLOCK_DIM", "real_tensors", "layer_names"]

TENSOR_KINDS = ("weight", "activation", "gradient")
BLOCK_DIM = {"weight": 1, "activation": 1, "gradient": 0}


@functools.lru_cache(maxsize=4)
def real_tensors(seed: int = 0, epochs: int = 3, batch: int = 128) -> dict[str, dict[str, torch.Tensor]]:
    """``{layer label: {"weight", "activation", "gradient"}}`` from a dense MLP trained ``epochs`` epochs.

    Cached per ``(seed, epochs, batch)``: the tensors are computed once per process.
    """
    data = digits_data(seed)
    model = make_mlp(seed)
    train(model, data, epochs=epochs, seed=seed)
    x, y = data.x_train[:batch], data.y_train[:batch]
    inputs: dict[str, torch.Tensor] = {}
    linears = [(name, mod) for name, mod in model.named_modules() if isinstance(mod, nn.Linear)]
    hooks = [mod.register_forward_hook(lambda _m, i, _o, name=name: inputs.__setitem__(name, i[0].detach()))
             for name, mod in linears]
    grads = capture_gradients(model, x, y)
    for h in hooks:
        h.remove()
    out = {}
    for i, (name, mod) in enumerate(linears):
        label = f"layer {i + 1} ({mod.in_features}→{mod.out_features})"
        out[label] = {"weight": mod.weight.detach().clone(), "activation": inputs[name], "gradient": grads[name]}
    return out


def layer_names(seed: int = 0) -> list[str]:
    return list(real_tensors(seed))
