"""Take it away: a run's numbers as CSV, its weights as a safetensors file, and a snippet.

Everything here works on `RunView`s and plain values with numpy, pandas and
safetensors only, so the page can build its download buttons without importing
torch. The weights file is laid out as the model's `state_dict`, so a reader
loads it with `model.load_state_dict(...)` and nothing of ours.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from safetensors.numpy import save as save_safetensors

from regviz import lazy
from regviz.config import RunConfig
from regviz.layout import N_PARAMETERS, PARAMETER_LAYOUT
from regviz.registry import canonical_configs
from regviz.views import PREDICTION_GRID, RunView

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy.module("pandas")

#: Columns that say which run a CSV row belongs to (the run id tells apart runs
#: that differ only in epochs, batch size or learning rate).
SETTING_COLUMNS = (
    "run_id",
    "l2",
    "dropout",
    "l1",
    "weight_decay",
    "optimizer",
    "l2_biases",
    "n_train",
    "seed",
)
#: float32 values need 9 significant digits to survive a round trip through text.
_FLOAT_FORMAT = "%.9g"


def _setting(config: RunConfig) -> dict[str, object]:
    values = config.to_dict()
    return {name: config.run_id if name == "run_id" else values[name] for name in SETTING_COLUMNS}


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, float_format=_FLOAT_FORMAT).encode("utf-8")


def history_frame(views: Sequence[RunView]) -> pd.DataFrame:
    """Loss histories in long format: one row per run and epoch (epochs count from 1)."""
    frames = []
    for view in views:
        frame = pd.DataFrame(
            {
                "epoch": view.epoch_numbers,
                "train_mse": np.asarray(view.train_loss, dtype=np.float64),
                "val_mse": np.asarray(view.val_loss, dtype=np.float64),
            }
        )
        for column, value in reversed(_setting(view.config).items()):
            frame.insert(0, column, value)
        frames.append(frame)
    columns = [*SETTING_COLUMNS, "epoch", "train_mse", "val_mse"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def history_csv(views: Sequence[RunView]) -> bytes:
    """`history_frame` as UTF-8 CSV bytes, ready for a download button."""
    return _csv(history_frame(views))


def predictions_frame(views: Sequence[RunView]) -> pd.DataFrame:
    """Predictions on `PREDICTION_GRID`, one row per run and x.

    `mc_mean` and `mc_std` (the Monte Carlo dropout band) are columns when any of
    the runs has them, and empty for the runs without dropout.
    """
    with_mc = any(v.mc_mean is not None and v.mc_std is not None for v in views)
    frames = []
    for view in views:
        columns: dict[str, object] = {
            **_setting(view.config),
            "x": PREDICTION_GRID,
            "prediction": np.asarray(view.prediction, dtype=np.float64),
        }
        if with_mc:
            has = view.mc_mean is not None and view.mc_std is not None
            empty = np.full(PREDICTION_GRID.size, np.nan)
            columns["mc_mean"] = np.asarray(view.mc_mean, dtype=np.float64) if has else empty
            columns["mc_std"] = np.asarray(view.mc_std, dtype=np.float64) if has else empty
        frames.append(pd.DataFrame(columns))
    names = [*SETTING_COLUMNS, "x", "prediction"] + (["mc_mean", "mc_std"] if with_mc else [])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=names)


def predictions_csv(views: Sequence[RunView]) -> bytes:
    """`predictions_frame` as UTF-8 CSV bytes, ready for a download button."""
    return _csv(predictions_frame(views))


def state_dict_arrays(parameters: np.ndarray) -> dict[str, np.ndarray]:
    """Split a flat parameter vector into the model's named tensors (float32)."""
    flat = np.asarray(parameters, dtype=np.float32).reshape(-1)
    if flat.size != N_PARAMETERS:
        raise ValueError(f"expected {N_PARAMETERS} parameters, got {flat.size}")
    arrays, start = {}, 0
    for name, shape in PARAMETER_LAYOUT:
        size = int(np.prod(shape))
        arrays[name] = np.ascontiguousarray(flat[start : start + size].reshape(shape))
        start += size
    return arrays


def weights_file(view: RunView) -> bytes:
    """The run's trained weights as safetensors bytes, named as in the model's `state_dict`.

    Load them with::

        from safetensors.numpy import load
        model = regviz.build_mlp(dropout)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in load(data).items()})

    The metadata holds the run's config and metrics as JSON.
    """
    if view.parameters is None:
        raise ValueError(
            f"run {view.config.run_id} has no stored parameters, so there are no weights "
            "to export; load it from pretrained/ or train it again"
        )
    metadata = {
        "format": "regviz state_dict (1-64-64-64-1 MLP, torch.nn.Sequential names)",
        "run_id": view.config.run_id,
        "config": json.dumps(view.config.to_dict(), sort_keys=True),
        "metrics": json.dumps(view.metrics, sort_keys=True),
    }
    return save_safetensors(state_dict_arrays(view.parameters), metadata=metadata)


#: Fields a snippet names only when they differ from the default.
_OPTIONAL = ("l1", "weight_decay", "optimizer", "momentum", "l2_biases", "n_train")


def _is_stored_with_weights(config: RunConfig) -> bool:
    return config in set(canonical_configs()) and config.n_train == RunConfig().n_train


def _differences(config: RunConfig, names: tuple[str, ...]) -> list[str]:
    default = RunConfig()
    return [
        f"{name}={getattr(config, name)!r}"
        for name in names
        if getattr(config, name) != getattr(default, name)
    ]


def _arguments(config: RunConfig) -> str:
    """`RunConfig(...)` arguments: the settings always, the rest when not the default."""
    parts = [f"l2={config.l2!r}", f"dropout={config.dropout!r}"]
    parts += _differences(config, _OPTIONAL)
    parts += [f"seed={config.seed!r}", f"epochs={config.epochs!r}"]
    parts += _differences(config, ("batch_size", "lr"))
    return ", ".join(parts)


def reproduce_snippet(config: RunConfig) -> str:
    """A short Python script that rebuilds this run with regviz's public API.

    A canonical run is loaded from the shipped checkpoint (no training), with the
    line that retrains it shown as a comment; any other run is trained.
    """
    make_config = f"config = regviz.RunConfig({_arguments(config)})"
    if _is_stored_with_weights(config):
        settings = ", ".join(
            [
                f"l2={config.l2!r}",
                f"dropout={config.dropout!r}",
                *_differences(config, (*_OPTIONAL, "lr")),
            ]
        )
        body = [
            make_config,
            "# The shipped checkpoint of this run (no training needed):",
            f"run = regviz.load_pretrained({settings}, seed={config.seed!r})",
            "# To train it yourself instead:",
            "# run = regviz.fit(config)",
        ]
    else:
        body = [make_config, "run = regviz.fit(config)  # trains on a GPU when there is one"]
    lines = [
        "# pip install -r requirements.txt   (in a clone of the regviz repository)",
        "import numpy as np",
        "import regviz",
        "",
        *body,
        "",
        "x = np.linspace(0, 20, 401)",
        "y = run.predict(x)  # the model's curve, dropout off",
        'print(f"final training MSE:   {run.history.train_loss[-1]:.4f}")',
        'print(f"final validation MSE: {run.history.val_loss[-1]:.4f}")',
        "",
    ]
    return "\n".join(lines)
