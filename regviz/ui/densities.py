"""Density tables for the charts: one bandwidth per sweep, weights or biases, θ or log10|θ|.

Pure numpy and pandas. A setting's density is the average of its seeds'
densities (the density of their pooled parameters), each smoothed from the
stored counts (`regviz.density`) with the bandwidth of the sweep's
unregularised setting, so heights compare across settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from regviz import density, lazy
from regviz.ui import tables
from regviz.views import RunView

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy.module("pandas")

#: Densities below this are drawn at it on a log y axis (a log axis has no zero).
DENSITY_FLOOR = 1e-3
AXIS_TITLES = {"value": "parameter value θ", "log10": "log10 |θ|"}
GROUP_WORDS = {"weights": "weights", "biases": "biases"}


@dataclass(frozen=True)
class DensityOptions:
    """Which parameters (weights or biases), along which axis (θ or log10|θ|), y scale."""

    group: str = "weights"
    axis: str = "value"
    scale: str = "linear"


def centres(options: DensityOptions) -> np.ndarray:
    return density.VALUE_CENTRES if options.axis == "value" else density.LOG_CENTRES


def _biases(view: RunView, epoch: int | None) -> np.ndarray:
    if epoch is None:
        return np.asarray(view.biases, dtype=np.float64)
    row = view.snapshot_epochs.index(epoch)
    return np.asarray(view.snapshots["biases"][row], dtype=np.float64)


def _counts(view: RunView, options: DensityOptions, epoch: int | None) -> np.ndarray:
    name = "weights" if options.axis == "value" else "log_weights"
    if epoch is None:
        return view.weight_counts if options.axis == "value" else view.log_weight_counts
    return view.snapshots[name][view.snapshot_epochs.index(epoch)]


def _bias_values(values: np.ndarray, axis: str) -> np.ndarray:
    if axis == "value":
        return values
    return np.log10(np.maximum(np.abs(values), 10.0**density.LOG_LOW))


def bandwidth(reference: Sequence[RunView], options: DensityOptions) -> float:
    """Scott's rule on the reference setting's final parameters (its seeds pooled)."""
    if options.group == "weights":
        counts = [_counts(view, options, None) for view in reference]
        return density.bandwidth_from_counts(counts, centres(options))
    values = [_bias_values(_biases(view, None), options.axis) for view in reference]
    pooled = np.concatenate(values)
    return float(pooled.std() * values[0].size ** (-1 / 5))


def run_density(
    view: RunView, options: DensityOptions, width: float, epoch: int | None = None
) -> np.ndarray:
    """One run's density on `centres(options)`; `epoch` None is the end of training."""
    grid = centres(options)
    if options.group == "weights":
        return density.smooth(_counts(view, options, epoch), grid, width)
    return density.gaussian_kde(_bias_values(_biases(view, epoch), options.axis), grid, width)


def setting_density(
    views: Sequence[RunView], options: DensityOptions, width: float, epoch: int | None = None
) -> np.ndarray:
    """The mean of the seeds' densities: the density of their pooled parameters."""
    return np.mean([run_density(view, options, width, epoch) for view in views], axis=0)


@dataclass(frozen=True)
class DensityTable:
    """A density table plus the axis choices that make it readable."""

    table: pd.DataFrame
    x_domain: tuple[float, float]
    bandwidth: float
    peaks: dict[str, float]


def density_table(
    curves: dict[str, np.ndarray],
    options: DensityOptions,
    width: float,
    x_domain: tuple[float, float] | None = None,
) -> DensityTable:
    """setting, value, density: each curve over the visible range, thinned, peaks kept."""
    grid = centres(options)
    if not curves:
        empty = pd.DataFrame({"setting": [], "value": [], "density": []})
        return DensityTable(empty, (-1.0, 1.0), width, {})
    low, high = x_domain or density.visible_range(list(curves.values()), grid)
    index = density.thinned(grid, list(curves.values()), low, high)
    floor = DENSITY_FLOOR if options.scale == "log" else 0.0
    blocks = [
        {
            "setting": label,
            "value": grid[index].astype(np.float32),
            "density": np.maximum(curve[index], floor).astype(np.float32),
        }
        for label, curve in curves.items()
    ]
    table = tables.stack_blocks(blocks, ["setting", "value", "density"])
    peaks = {label: float(np.max(curve)) for label, curve in curves.items()}
    return DensityTable(table, (float(low), float(high)), width, peaks)


def describe_bandwidth(options: DensityOptions, width: float, reference: str) -> str:
    """The subtitle that states the bandwidth, so a reader knows the heights compare."""
    unit = "" if options.axis == "value" else " decades"
    del reference  # named in the section's text; the subtitle must fit half a page
    return f"{GROUP_WORDS[options.group]}; bandwidth {width:.2g}{unit}, the same for every setting"


def over_time_table(
    views: Sequence[RunView], options: DensityOptions, width: float, epochs: Sequence[int]
) -> pd.DataFrame:
    """epoch, value, density: one setting's density at each snapshot epoch (a heatmap)."""
    curves = {
        str(epoch): setting_density(views, options, width, None if epoch == epochs[-1] else epoch)
        for epoch in epochs
    }
    grid = centres(options)
    low, high = density.visible_range(list(curves.values()), grid)
    index = density.thinned(grid, list(curves.values()), low, high)
    frames = [
        pd.DataFrame(
            {
                "epoch": int(epoch),
                "value": grid[index].astype(np.float32),
                "density": curve[index].astype(np.float32),
            }
        )
        for epoch, curve in curves.items()
    ]
    return pd.concat(frames, ignore_index=True)


def at_epoch(view: RunView, epoch: int) -> RunView:
    """The run as it was after a stored snapshot epoch (0: the initialisation)."""
    from dataclasses import replace

    from regviz.views import PREDICTION_GRID, SNAPSHOT_GRID

    row = view.snapshot_epochs.index(epoch)
    snap = view.snapshots
    prediction = np.interp(PREDICTION_GRID, SNAPSHOT_GRID, snap["prediction"][row])
    return replace(
        view,
        prediction=prediction,
        weight_counts=snap["weights"][row],
        log_weight_counts=snap["log_weights"][row],
        biases=snap["biases"][row],
    )
