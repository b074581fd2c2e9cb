"""What the page draws for one run, as plain numpy arrays.

A `RunView` is computed once per run (at pretrain time, or once after a custom
training) and is all the page needs: no torch, no scipy and no scikit-learn on
the reading path, so a cold page does not pay for importing them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from regviz.config import RunConfig
from regviz.data import X_MAX, X_MIN

#: x values at which predictions and MC-dropout bands are stored.
PREDICTION_GRID = np.linspace(X_MIN, X_MAX, 401)
#: Parameter values at which densities are stored; every trained parameter we
#: have seen lies inside it (the mass outside is recorded per run).
KDE_GRID = np.linspace(-4.0, 4.0, 801)
#: Groups of parameters with a density each: everything, weights vs biases, per layer.
KDE_GROUPS = ("all", "weights", "biases", "layer 1", "layer 2", "layer 3", "layer 4")


@dataclass(frozen=True)
class RunView:
    """The three views of one run plus its measured numbers."""

    config: RunConfig
    train_loss: np.ndarray
    val_loss: np.ndarray
    prediction: np.ndarray
    kde: dict[str, np.ndarray]
    metrics: dict[str, float]
    mc_mean: np.ndarray | None = None
    mc_std: np.ndarray | None = None
    parameters: np.ndarray | None = field(default=None, repr=False)

    def arrays(self) -> dict[str, np.ndarray]:
        """Flat name → array mapping for a safetensors file."""
        out = {
            "history/train": np.asarray(self.train_loss, dtype=np.float32),
            "history/val": np.asarray(self.val_loss, dtype=np.float32),
            "prediction": np.asarray(self.prediction, dtype=np.float32),
        }
        out.update({f"kde/{name}": np.asarray(v, dtype=np.float32) for name, v in self.kde.items()})
        if self.mc_mean is not None and self.mc_std is not None:
            out["mc/mean"] = np.asarray(self.mc_mean, dtype=np.float32)
            out["mc/std"] = np.asarray(self.mc_std, dtype=np.float32)
        if self.parameters is not None:
            out["parameters"] = np.asarray(self.parameters, dtype=np.float32)
        return out

    @classmethod
    def from_arrays(
        cls, config: RunConfig, metrics: dict[str, float], arrays: dict[str, np.ndarray]
    ) -> RunView:
        missing = {"history/train", "history/val", "prediction"} - set(arrays)
        missing |= {f"kde/{name}" for name in KDE_GROUPS} - set(arrays)
        if missing:
            raise ValueError(f"missing arrays: {', '.join(sorted(missing))}")
        return cls(
            config=config,
            train_loss=arrays["history/train"],
            val_loss=arrays["history/val"],
            prediction=arrays["prediction"],
            kde={name: arrays[f"kde/{name}"] for name in KDE_GROUPS},
            metrics=dict(metrics),
            mc_mean=arrays.get("mc/mean"),
            mc_std=arrays.get("mc/std"),
            parameters=arrays.get("parameters"),
        )
