"""`python -m benchmarks.sgd_lr`: choose the SGD learning rate for the optimiser comparison.

The L2 section trains the λ sweep a second time with plain SGD (with momentum) to
show how much of L2's spike at zero Adam makes. That comparison is only fair if
SGD fits the unregularised network about as well as Adam does, so we try a grid of
learning rates and momenta at λ = 0 (three seeds, 100 epochs, the same data and
batches as every run) and keep the setting with the lowest mean validation MSE over
the last 10 epochs. Larger rates kill the output ReLU (the network predicts 0);
smaller ones stall on a plateau. The chosen values live in `regviz.registry`.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from regviz.analysis import final_mean
from regviz.config import SEEDS, RunConfig
from regviz.train import TrainingDiverged, fit_many

#: (learning rate, momentum) pairs tried; the plain rates (momentum 0) stall far above.
GRID = (
    (0.001, 0.0),
    (0.003, 0.0),
    (0.01, 0.0),
    (0.0003, 0.9),
    (0.0005, 0.9),
    (0.001, 0.9),
    (0.002, 0.9),
    (0.003, 0.9),
    (0.01, 0.9),
    (0.0003, 0.95),
    (0.001, 0.95),
    (0.0001, 0.99),
)


def search(grid=GRID, seeds=SEEDS, epochs: int = 100) -> list[dict]:
    """One row per grid point: per-seed last-10 validation MSE and their mean."""
    configs = [
        RunConfig(optimizer="sgd", lr=lr, momentum=momentum, seed=seed, epochs=epochs)
        for lr, momentum in grid
        for seed in seeds
    ]
    try:
        runs = fit_many(configs)
    except TrainingDiverged as error:
        runs = list(error.completed)
    finals: dict[tuple[float, float], list[float]] = {}
    for run in runs:
        key = (run.config.lr, run.config.momentum)
        finals.setdefault(key, []).append(final_mean(np.asarray(run.history.val_loss)))
    return [
        {
            "lr": lr,
            "momentum": m,
            "per_seed": finals.get((lr, m), []),
            "mean": float(np.mean(finals[(lr, m)])) if (lr, m) in finals else float("nan"),
        }
        for lr, m in grid
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sgd_lr", description=__doc__)
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = search(epochs=args.epochs)
    adam = fit_many([RunConfig(seed=seed, epochs=args.epochs) for seed in SEEDS])
    adam_mean = float(np.mean([final_mean(np.asarray(r.history.val_loss)) for r in adam]))
    print(f"Adam (lr 0.001), λ = 0: mean last-10 validation MSE {adam_mean:.4f}")
    print(f"{'lr':>8} {'momentum':>9} {'mean':>8}  per seed")
    for row in rows:
        seeds = ", ".join(f"{v:.3f}" for v in row["per_seed"])
        print(f"{row['lr']:>8g} {row['momentum']:>9g} {row['mean']:>8.4f}  {seeds}")
    best = min((r for r in rows if np.isfinite(r["mean"])), key=lambda r: r["mean"])
    print(
        f"chosen: lr {best['lr']:g}, momentum {best['momentum']:g} "
        f"({time.perf_counter() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
