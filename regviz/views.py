"""What the page draws for one run, as plain numpy arrays.

A `RunView` is computed once per run (at pretrain time, or once after a custom
training) and is all the page needs: no torch, no scipy and no scikit-learn on
the reading path, so a cold page does not pay for importing them. Densities are
stored as counts on fixed bins (`regviz.density`) so that the page can smooth
every setting of a sweep with one bandwidth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from regviz.config import RunConfig
from regviz.data import X_MAX, X_MIN

#: x values at which predictions and MC-dropout bands are stored.
PREDICTION_GRID = np.linspace(X_MIN, X_MAX, 401)
#: Snapshot predictions keep every second grid point (201 of them).
SNAPSHOT_GRID = PREDICTION_GRID[::2]
#: Epochs at which stored full-data runs keep a snapshot (0: the initialisation).
SNAPSHOT_EPOCHS = (0, 1, 2, 5, 10, 20, 50, 100)
#: Optional arrays: the Monte Carlo dropout band and one pass with dropout on.
MC_ARRAYS = ("mean", "std", "low", "high", "sample")
SNAPSHOT_ARRAYS = ("prediction", "weights", "log_weights", "biases")


@dataclass(frozen=True)
class RunView:
    """The three views of one run plus its measured numbers.

    `weight_counts` / `log_weight_counts`: the final weights binned on
    `regviz.density.VALUE_CENTRES` / `LOG_CENTRES`; `biases`: the final biases.
    `mc`: mean, std, low and high (2.5 and 97.5 percentiles) of 100 forward passes
    with dropout on, and `sample`, one such pass (its own mask at every x).
    `snapshots`: "epoch" plus per-epoch "prediction" (on SNAPSHOT_GRID), "weights",
    "log_weights" and "biases", one row per epoch. `norms`: ‖·‖_F of each named
    tensor at epoch 0 and every recorded epoch (`norm_epochs`).
    """

    config: RunConfig
    train_loss: np.ndarray
    val_loss: np.ndarray
    prediction: np.ndarray
    weight_counts: np.ndarray
    log_weight_counts: np.ndarray
    biases: np.ndarray
    metrics: dict[str, float]
    epochs: np.ndarray | None = None
    mc: dict[str, np.ndarray] = field(default_factory=dict)
    snapshots: dict[str, np.ndarray] = field(default_factory=dict)
    norms: np.ndarray | None = None
    parameters: np.ndarray | None = field(default=None, repr=False)

    @property
    def epoch_numbers(self) -> np.ndarray:
        """The epoch of each history entry (1, 2, … unless the run recorded every k-th)."""
        if self.epochs is not None:
            return np.asarray(self.epochs)
        return np.arange(1, len(self.val_loss) + 1)

    @property
    def norm_epochs(self) -> np.ndarray:
        return np.r_[0, self.epoch_numbers]

    @property
    def snapshot_epochs(self) -> tuple[int, ...]:
        return tuple(int(e) for e in self.snapshots.get("epoch", ()))

    @property
    def mc_mean(self) -> np.ndarray | None:
        return self.mc.get("mean")

    @property
    def mc_std(self) -> np.ndarray | None:
        return self.mc.get("std")

    def arrays(self) -> dict[str, np.ndarray]:
        """Flat name → array mapping for a safetensors file."""
        out = {
            "history/train": np.asarray(self.train_loss, dtype=np.float32),
            "history/val": np.asarray(self.val_loss, dtype=np.float32),
            "prediction": np.asarray(self.prediction, dtype=np.float32),
            "counts/weights": np.asarray(self.weight_counts),
            "counts/log_weights": np.asarray(self.log_weight_counts),
            "biases": np.asarray(self.biases, dtype=np.float32),
        }
        if self.epochs is not None:
            out["history/epoch"] = np.asarray(self.epochs, dtype=np.int32)
        out.update({f"mc/{k}": np.asarray(v, dtype=np.float32) for k, v in self.mc.items()})
        for name, values in self.snapshots.items():
            dtype = values.dtype if name in ("weights", "log_weights") else np.float32
            dtype = np.int32 if name == "epoch" else dtype
            out[f"snapshot/{name}"] = np.ascontiguousarray(values, dtype=dtype)
        if self.norms is not None:
            out["norms"] = np.asarray(self.norms, dtype=np.float32)
        if self.parameters is not None:
            out["parameters"] = np.asarray(self.parameters, dtype=np.float32)
        return out

    @classmethod
    def from_arrays(
        cls, config: RunConfig, metrics: dict[str, float], arrays: dict[str, np.ndarray]
    ) -> RunView:
        required = {
            "history/train",
            "history/val",
            "prediction",
            "counts/weights",
            "counts/log_weights",
            "biases",
        }
        missing = required - set(arrays)
        if missing:
            raise ValueError(f"missing arrays: {', '.join(sorted(missing))}")
        mc = {k: arrays[f"mc/{k}"] for k in MC_ARRAYS if f"mc/{k}" in arrays}
        snapshots = {
            name.removeprefix("snapshot/"): values
            for name, values in arrays.items()
            if name.startswith("snapshot/")
        }
        return cls(
            config=config,
            train_loss=arrays["history/train"],
            val_loss=arrays["history/val"],
            prediction=arrays["prediction"],
            weight_counts=arrays["counts/weights"],
            log_weight_counts=arrays["counts/log_weights"],
            biases=arrays["biases"],
            metrics=dict(metrics),
            epochs=arrays.get("history/epoch"),
            mc=mc,
            snapshots=snapshots,
            norms=arrays.get("norms"),
            parameters=arrays.get("parameters"),
        )
