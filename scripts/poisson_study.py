"""The camera from its gradients alone at a small size, against the same network fitted to its values: the
diagnostics of docs/sobolev_inr.md ("An image from its gradients alone") that are not full-run tasks.

    .venv/bin/python scripts/poisson_study.py --size 128 --steps 600 --method stencil --levels 0 5 full
    .venv/bin/python scripts/poisson_study.py --size 128 --steps 1200 --lr 1e-4 3e-4 1e-3 --value-reference

Each gradients-only fit is ``workbench.sobolev_inr.experiments.run_poisson`` (central differences, SIREN 3 x 256,
ω₀ 30): ``--method stencil`` (the filter on the network's image, L-BFGS on the whole grid, the pyramid loss up to
each of ``--levels``, ``full`` for the whole grid) or ``pointwise`` (autograd derivatives, AMSGrad at each
``--lr``, ``--batch`` pixels a step, the multilevel loss over blocks of ``2^levels``, jittered pixels); the value
reference fits the same network to the image's values on as many random pixels per step with the package's value
loop (``train_inr``, Adam). One thread, one fit after another; prints one line per fit with the PSNR every
``--every`` steps.
"""

from __future__ import annotations

import argparse
import time

import torch

from workbench.sobolev_inr.experiments import prepared_image, run_poisson
from workbench.sobolev_inr.metrics import psnr
from workbench.sobolev_inr.networks import INR, pixel_grid
from workbench.sobolev_inr.training import to_unit, train_inr


def value_reference(size: int, steps: int, lr: float, batch: int, every: int, seed: int = 0) -> list[tuple]:
    """The SIREN fitted to the grey camera's values at ``batch`` random pixels per step by the package's value
    loop (``train_inr``, Adam): ``[(step, PSNR dB)]``."""
    img = prepared_image("camera", size=size).mean(axis=2, keepdims=True)
    h, w, c = img.shape
    xy = pixel_grid((h, w))
    torch.manual_seed(seed)
    net = INR("siren", (h, w), c)
    history = []

    def evaluate(step: int, _loss: float) -> None:
        with torch.no_grad():
            history.append((step, round(psnr(img, to_unit(net(xy)).reshape(h, w, c)), 2)))

    train_inr(net, xy, torch.from_numpy(2 * img.reshape(h * w, c) - 1).float(), None, lam=0.0, steps=steps, lr=lr,
              batch=batch, seed=seed, evaluate=evaluate, eval_every=every)
    return history


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=128, help="pixels a side (the camera reduced by block means)")
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--lr", type=float, nargs="+", default=[1e-4])
    p.add_argument("--batch", type=int, default=4096, help="pixels per step")
    p.add_argument("--levels", nargs="+", default=["5"],
                   help="pyramid depths (stencil: 'full' for the whole grid) or the multilevel depth (pointwise)")
    p.add_argument("--method", choices=["stencil", "pointwise"], default="pointwise")
    p.add_argument("--no-jitter", action="store_true")
    p.add_argument("--every", type=int, default=300, help="score every this many steps")
    p.add_argument("--value-reference", action="store_true", help="also fit the values (first lr)")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    levels = [None if v == "full" else int(v) for v in a.levels]
    runs = ([(lr, levels[0]) for lr in a.lr] if a.method == "pointwise" else [(a.lr[0], lv) for lv in levels])
    for lr, level in runs:
        t0 = time.perf_counter()
        extra = dict(lr=lr, batch=a.batch, jitter=not a.no_jitter) if a.method == "pointwise" else {}
        r = run_poisson("camera", a.size, "central", a.steps, 256, 3, 0, eval_every=a.every, method=a.method,
                        levels=level, **extra)
        curve = [(h["step"], round(h["psnr"], 2)) for h in r["history"]]
        what = f"lr {lr:g}" if a.method == "pointwise" else f"levels {'full' if level is None else level}"
        print(f"gradients only, {a.method}, {what}: {curve}; final {r['psnr']:.2f} dB (mean matched "
              f"{r['psnr_mean_matched']:.2f}), {time.perf_counter() - t0:.0f} s", flush=True)
    if a.value_reference:
        t0 = time.perf_counter()
        curve = value_reference(a.size, a.steps, a.lr[0], a.batch, a.every)
        print(f"values, lr {a.lr[0]:g}: {curve}, {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
