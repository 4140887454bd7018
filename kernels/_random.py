"""Counter-based uniform random numbers: ``u[i, j] = hash(i * k + j  XOR  key)``.

Each block's uniforms depend only on ``(key, block index)``, not on how the work is split, so the
generic path, the fused CPU path (and a GPU kernel computing the same hash) draw the same numbers for
the same key. The key is drawn once per call from the caller's ``torch.Generator``, so seeding works as
usual. The hash is three xorshift-multiply rounds on 32-bit values held in int64 (constants below
2^31, so no product overflows); ``u`` has 24 random bits, in ``[0, 1)``.
"""

from __future__ import annotations

import torch

__all__ = ["draw_key", "block_uniforms", "counter_uniforms", "hash32"]

_MASK = 0xFFFFFFFF
RNG_LABEL = "workbench::counter_uniforms"
_ROUNDS = (0x7FEB352D, 0x31848BAB, 0x2C1B3C6D)


def hash32(h: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer hash of an int64 tensor with values in ``[0, 2^32)``."""
    for c in _ROUNDS:
        h = h ^ (h >> 16)
        h = (h * c) & _MASK
    return h ^ (h >> 15)


def draw_key(generator: torch.Generator | None, device) -> int:
    """One 32-bit key from ``generator`` (or the default generator of ``device``)."""
    if generator is None:
        return int(torch.randint(0, 1 << 32, (1,), device=device))
    return int(torch.randint(0, 1 << 32, (1,), generator=generator, device=generator.device))


def counter_uniforms(counter: torch.Tensor, key, dtype=torch.float32) -> torch.Tensor:
    """Uniforms in ``[0, 1)`` (24 random bits) for int64 ``counter`` values and ``key`` (int or 0-d tensor)."""
    with torch.profiler.record_function(RNG_LABEL):  # what kernels.profile counts as random-number passes
        bits = hash32((counter & _MASK) ^ key) >> 8
        return bits.to(dtype) * (1.0 / (1 << 24))


def block_uniforms(key: int, num_blocks: int, per_block: int, device, dtype=torch.float32) -> torch.Tensor:
    """``(num_blocks, per_block)`` uniforms in ``[0, 1)`` for ``key``."""
    counter = torch.arange(num_blocks * per_block, device=device, dtype=torch.int64)
    return counter_uniforms(counter, key, dtype).reshape(num_blocks, per_block)
