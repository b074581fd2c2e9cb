"""regviz: what an L2 penalty and dropout do to a small network, measured.

The public names below are the interface for notebook users; they stay stable.
Importing `regviz` is cheap: torch loads only when a name that needs it is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from regviz.config import (
    CANONICAL_DROPOUT,
    CANONICAL_L1,
    CANONICAL_L2,
    CANONICAL_WEIGHT_DECAY,
    SEEDS,
    RunConfig,
)

__version__ = "0.1.0"

_LAZY = {
    "make_dataset": "regviz.data",
    "Dataset": "regviz.data",
    "build_mlp": "regviz.model",
    "fit": "regviz.train",
    "fit_many": "regviz.train",
    "TrainedRun": "regviz.train",
    "History": "regviz.train",
    "Progress": "regviz.train",
    "TrainingDiverged": "regviz.train",
    "choose_device": "regviz.train",
    "load_pretrained": "regviz.store",
    "CheckpointError": "regviz.store",
    "describe_run": "regviz.analysis",
}

__all__ = [
    "CANONICAL_DROPOUT",
    "CANONICAL_L1",
    "CANONICAL_L2",
    "CANONICAL_WEIGHT_DECAY",
    "SEEDS",
    "CheckpointError",
    "Dataset",
    "History",
    "Progress",
    "RunConfig",
    "TrainedRun",
    "TrainingDiverged",
    "build_mlp",
    "choose_device",
    "describe_run",
    "fit",
    "fit_many",
    "load_pretrained",
    "make_dataset",
]

if TYPE_CHECKING:
    from regviz.analysis import describe_run
    from regviz.data import Dataset, make_dataset
    from regviz.model import build_mlp
    from regviz.store import CheckpointError, load_pretrained
    from regviz.train import (
        History,
        Progress,
        TrainedRun,
        TrainingDiverged,
        choose_device,
        fit,
        fit_many,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'regviz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
