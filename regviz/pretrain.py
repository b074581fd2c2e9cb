"""Regenerate `pretrained/`: train the canonical runs in one stack and store what the page draws."""

from __future__ import annotations

import datetime as dt
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from regviz import analysis, density, store
from regviz.config import SEEDS, RunConfig
from regviz.data import DATA_SEED, N_TRAIN, SPLIT_SEED, Dataset, make_dataset
from regviz.registry import canonical_configs
from regviz.views import PREDICTION_GRID, SNAPSHOT_EPOCHS

#: Points of each split kept for the page's scatter plot (the page never needs all 10,000).
SAMPLE_TRAIN, SAMPLE_VAL = 1500, 500


@dataclass(frozen=True)
class PretrainReport:
    trained: tuple[str, ...]
    seconds: float
    directory: Path


def cpu_description() -> dict[str, str]:
    """What decides bit-for-bit reproducibility on a CPU: the model and the kernels torch picks."""
    import torch

    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "model": model,
        "machine": platform.machine(),
        "torch_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": str(torch.get_num_threads()),
    }


def library_versions() -> dict[str, str]:
    names = ("torch", "numpy", "safetensors")
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def data_arrays(dataset: Dataset) -> dict[str, np.ndarray]:
    """A fixed subsample of both splits and the clean curve, for the data section."""
    rng = np.random.default_rng([DATA_SEED, 2])
    train = rng.choice(dataset.x_train.size, SAMPLE_TRAIN, replace=False)
    val = rng.choice(dataset.x_val.size, SAMPLE_VAL, replace=False)
    return {
        "sample/x": np.concatenate([dataset.x_train[train], dataset.x_val[val]]),
        "sample/y": np.concatenate([dataset.y_train[train], dataset.y_val[val]]),
        "sample/is_train": np.repeat(np.array([1, 0], dtype=np.uint8), [SAMPLE_TRAIN, SAMPLE_VAL]),
        "signal": dataset.signal(PREDICTION_GRID).astype(np.float32),
    }


def init_arrays(seed: int) -> dict[str, np.ndarray]:
    from torch.nn.utils import parameters_to_vector

    from regviz.model import build_mlp

    parameters = parameters_to_vector(build_mlp(0.0, seed=seed).parameters()).detach().numpy()
    return {"parameters": parameters.astype(np.float32)}


def keeps_parameters(config: RunConfig) -> bool:
    """Full-data runs keep their parameters and snapshots; small-data runs only densities.

    The small-data sweeps are 144 runs whose page shows losses, predictions and
    densities; their 8,513 parameters each would double `pretrained/`.
    """
    return config.n_train == N_TRAIN


def data_summary(dataset: Dataset) -> dict[str, Any]:
    return {
        "seed": DATA_SEED,
        "split_seed": SPLIT_SEED,
        "n_train": int(dataset.x_train.size),
        "n_val": int(dataset.x_val.size),
        "noise_std": dataset.noise_std,
        "noise_floor_mse": dataset.noise_floor,
        "val_variance": float(np.var(dataset.y_val)),
        "train_variance": float(np.var(dataset.y_train)),
        "signal": {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in dataset.signal.coefficients().items()
        },
    }


def configs_to_train(
    directory: Path, only: Sequence[str] | None, repair: bool
) -> tuple[list[RunConfig], dict[str, Any]]:
    """Which canonical runs to train, and the manifest entries to keep as they are."""
    canonical = {config.run_id: config for config in canonical_configs()}
    try:
        previous = store.read_manifest(directory)["runs"]
    except store.CheckpointError:
        previous = {}
    if only:
        unknown = [run_id for run_id in only if run_id not in canonical]
        if unknown:
            raise ValueError(f"not canonical run ids: {', '.join(unknown)}")
        wanted = set(only)
    elif repair:
        wanted = set(canonical) - set(previous)
        for run_id, entry in previous.items():
            try:
                store.read_checked(directory, entry, run_id)
            except store.CheckpointError:
                wanted.add(run_id)
        wanted &= set(canonical)
    else:
        wanted = set(canonical)
    keep = {k: v for k, v in previous.items() if k in canonical and k not in wanted}
    return [config for run_id, config in canonical.items() if run_id in wanted], keep


def pretrain(
    directory: Path | str = store.PRETRAINED_DIR,
    only: Sequence[str] | None = None,
    repair: bool = False,
    progress=None,
    device: str | None = None,
    on_describe: Callable[[int, int], None] | None = None,
) -> PretrainReport:
    """Train what is asked (everything by default), then swap in a new manifest atomically.

    `progress` follows the training (see `regviz.train.Progress`), `on_describe`
    the analysis of each finished run (KDEs, MC dropout), called as (done, total).
    """
    from regviz.train import choose_device, fit_many

    directory = Path(directory)
    store.ensure_writable(directory)
    started = time.perf_counter()
    configs, kept = configs_to_train(directory, only, repair)
    dataset = make_dataset()
    runs = fit_many(
        configs,
        progress=progress,
        device=device,
        dataset=dataset,
        snapshots=SNAPSHOT_EPOCHS,
        norms=True,
    )
    seconds = time.perf_counter() - started

    entries = dict(kept)
    for done, run in enumerate(runs, start=1):
        view = analysis.describe_run(run, dataset, keep_parameters=keeps_parameters(run.config))
        entries[run.config.run_id] = store.run_entry(directory, view)
        if on_describe is not None:
            on_describe(done, len(runs))
    order = [config.run_id for config in canonical_configs()]
    manifest = {
        "format": store.FORMAT_VERSION,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": library_versions(),
        "device": str(choose_device(device)),
        "cpu": cpu_description(),
        "data": {
            **store.write_arrays(directory, "data", data_arrays(dataset)),
            **data_summary(dataset),
        },
        "inits": {
            str(seed): store.write_arrays(directory, f"init/seed-{seed}", init_arrays(seed))
            for seed in SEEDS
        },
        "grids": {
            "prediction": [
                float(PREDICTION_GRID[0]),
                float(PREDICTION_GRID[-1]),
                int(PREDICTION_GRID.size),
            ],
            "value_bins": [
                float(density.VALUE_CENTRES[0]),
                float(density.VALUE_CENTRES[-1]),
                int(density.VALUE_CENTRES.size),
            ],
            "log10_bins": [
                float(density.LOG_CENTRES[0]),
                float(density.LOG_CENTRES[-1]),
                int(density.LOG_CENTRES.size),
            ],
            "snapshot_epochs": list(SNAPSHOT_EPOCHS),
        },
        "last_pretrain": {"runs_trained": len(runs), "training_seconds": round(seconds, 1)},
        "runs": {run_id: entries[run_id] for run_id in order if run_id in entries},
    }
    store.commit_manifest(directory, manifest)
    return PretrainReport(
        tuple(r.config.run_id for r in runs), time.perf_counter() - started, directory
    )
