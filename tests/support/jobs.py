"""Jobs for `TrainingService(job=...)` that run in its worker processes without training.

The service pickles a job by name, so these live in an importable module. They
talk to the test through files in the folder named by `REGVIZ_TEST_JOBS` (the
workers inherit the environment of the test that starts them): each run leaves a
`ran-<seed>-<pid>` file, and `held` waits until `release` (or `release-<seed>`)
appears. None of them imports torch.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from regviz.config import RunConfig
from regviz.density import LOG_CENTRES, VALUE_CENTRES
from regviz.views import PREDICTION_GRID, SNAPSHOT_GRID, RunView
from regviz.worker import Reporter

FOLDER_ENV = "REGVIZ_TEST_JOBS"
#: A held job gives up after this long, so that a broken test cannot leave a worker behind.
HOLD_LIMIT = 300.0


def folder() -> Path:
    return Path(os.environ[FOLDER_ENV])


def runs(seed: int | None = None) -> list[Path]:
    """The marker files the jobs left, one per run (of `seed`, if given)."""
    pattern = "ran-*" if seed is None else f"ran-{seed}-*"
    return sorted(folder().glob(pattern))


def release(seed: int | None = None) -> None:
    (folder() / ("release" if seed is None else f"release-{seed}")).touch()


def view_of(config: RunConfig) -> RunView:
    """A small, recognisable RunView: its prediction is the seed everywhere."""
    epochs = np.asarray([0, config.epochs], dtype=np.int32)
    return RunView(
        config=config,
        train_loss=np.ones(3),
        val_loss=np.ones(3),
        prediction=np.full(PREDICTION_GRID.size, float(config.seed)),
        weight_counts=np.ones(VALUE_CENTRES.size, dtype=np.uint16),
        log_weight_counts=np.ones(LOG_CENTRES.size, dtype=np.uint16),
        biases=np.zeros(193, dtype=np.float32),
        metrics={"val_mse": 1.0},
        snapshots={
            "epoch": epochs,
            "prediction": np.outer([0.0, 1.0], np.ones(SNAPSHOT_GRID.size)).astype(np.float32),
            "weights": np.ones((2, VALUE_CENTRES.size), dtype=np.uint16),
        },
    )


def _begin(config: RunConfig, report: Reporter) -> None:
    (folder() / f"ran-{config.seed}-{os.getpid()}-{time.monotonic_ns()}").touch()
    x = np.linspace(0, 20, 5, dtype=np.float32)
    report.started("cpu", "a test worker", config.n_train, (x, x))


def quick(config: RunConfig, report: Reporter) -> RunView:
    """Reports like a real run of three epochs, at once."""
    _begin(config, report)
    return _three_epochs(config, report)


def _three_epochs(config: RunConfig, report: Reporter, first: int = 0) -> RunView:
    for epoch in range(first, 4):
        report.check()
        losses = (1.0 / (epoch + 1), 1.2 / (epoch + 1)) if epoch else ()
        report.step(epoch, 3, epoch / 3, losses, 0.01 * epoch)
        report.snapshot(
            epoch, np.zeros(SNAPSHOT_GRID.size, np.float32), view_of(config).weight_counts
        )
    return view_of(config)


def held(config: RunConfig, report: Reporter) -> RunView:
    """Reports epochs 0 and 1, then holds its slot until the test releases it (or cancels it)."""
    _begin(config, report)
    report.step(0, 3, 0.0, (), 0.0)
    report.snapshot(0, np.zeros(SNAPSHOT_GRID.size, np.float32), view_of(config).weight_counts)
    report.step(1, 3, 1 / 3, (1.0, 1.2), 0.01)
    report.snapshot(1, np.ones(SNAPSHOT_GRID.size, np.float32), view_of(config).weight_counts)
    _hold(config, report)
    return _three_epochs(config, report, first=2)


def _hold(config: RunConfig, report: Reporter) -> None:
    deadline = time.monotonic() + HOLD_LIMIT
    while not ((folder() / "release").exists() or (folder() / f"release-{config.seed}").exists()):
        report.check()
        if time.monotonic() > deadline:
            raise TimeoutError("the test never released this job")
        time.sleep(0.01)


def almost_done(config: RunConfig, report: Reporter) -> RunView:
    """Reports 99.9 % done at once, then holds until the test releases it."""
    _begin(config, report)
    report.step(2, 3, 0.999, (0.5, 0.6), 0.02)
    report.snapshot(2, np.ones(SNAPSHOT_GRID.size, np.float32), view_of(config).weight_counts)
    _hold(config, report)
    return view_of(config)


def explode(config: RunConfig, report: Reporter) -> RunView:
    """Fails inside the worker with an ordinary exception."""
    _begin(config, report)
    raise ValueError(f"no training for seed {config.seed} today")


def diverge(config: RunConfig, report: Reporter) -> RunView:
    """The real trainer, fed targets that overflow float32: a genuine `TrainingDiverged`."""
    import dataclasses

    from regviz.data import make_dataset
    from regviz.worker import train_view

    base = make_dataset()
    huge = dataclasses.replace(
        base, y_train=base.y_train * np.float32(1e20), y_val=base.y_val * np.float32(1e20)
    )
    return train_view(config, report, dataset=huge)
