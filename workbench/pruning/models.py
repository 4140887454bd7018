"""The models the pruning topic trains: the digits MLP (shared with N:M), a small CNN on MNIST and a ResNet-style
CNN of 1.09M parameters on MNIST (the full run's larger model).

Shapes: the MLP maps ``(B, 64) -> (B, 10)``; the CNNs map ``(B, 1, 28, 28) -> (B, 10)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from workbench.classification import Split, digits_data, make_cnn, make_mlp

__all__ = ["make_cnn", "make_resnet", "ModelSpec", "MODELS", "model_spec", "parameter_count"]


class BasicBlock(nn.Module):
    """He et al.'s basic residual block: ``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def make_resnet(seed: int = 0, widths: tuple[int, int, int] = (40, 80, 160), blocks: int = 2) -> nn.Sequential:
    """A ResNet for 28x28 digits: a 3x3 stem, three stages of ``blocks`` basic blocks (strides 1, 2, 2; the given
    widths), global average pooling and a linear classifier: 1.09M parameters with the defaults."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Conv2d(1, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()]
    c_in = widths[0]
    for stage, width in enumerate(widths):
        for b in range(blocks):
            layers.append(BasicBlock(c_in, width, 2 if stage > 0 and b == 0 else 1))
            c_in = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, 10)]
    return nn.Sequential(*layers)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@dataclass(frozen=True)
class ModelSpec:
    """A model of the benchmark: how to build it, its data, and how it is trained (epochs, learning rate, batch)."""

    name: str
    build: Callable[[int], nn.Module]
    data: Callable[[int], Split]
    epochs: int  # dense training
    lr: float
    batch_size: int
    description: str


def _mnist(seed: int) -> Split:
    from workbench.mnist import mnist_data

    return mnist_data(seed)


MODELS: dict[str, ModelSpec] = {
    "mlp": ModelSpec("mlp", make_mlp, digits_data, 20, 0.05, 64, "digits MLP 64-256-256-10 (85k parameters)"),
    "cnn": ModelSpec("cnn", make_cnn, _mnist, 6, 0.05, 64, "MNIST CNN, two 3x3 conv layers and two linear (421k)"),
    "resnet": ModelSpec("resnet", make_resnet, _mnist, 6, 0.05, 64, "MNIST ResNet, 3 stages x 2 basic blocks (1.09M)"),
}


def model_spec(name: str) -> ModelSpec:
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f"model: expected one of {sorted(MODELS)}, got {name!r}")
    return MODELS[name]
