"""The small tables a custom run's charts draw, while it learns and at a chosen epoch.

Long-form pandas frames in the shapes `regviz.charts` takes; numpy and pandas only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from regviz import density, lazy

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy.module("pandas")

#: At most this many points per loss curve.
MAX_POINTS = 200


def loss_table(epochs: Sequence[int], train: Sequence[float], val: Sequence[float]) -> pd.DataFrame:
    """epoch, split, loss of a run so far (for `charts.live_loss_chart`), ≤ MAX_POINTS per split."""
    count = min(len(epochs), len(train), len(val))
    index = np.arange(count)
    if count > MAX_POINTS:
        index = np.unique(np.r_[np.linspace(0, count - 1, MAX_POINTS).round().astype(int)])
    epoch = np.asarray(epochs, dtype=np.int64)[:count][index]
    frames = [
        pd.DataFrame(
            {
                "epoch": epoch,
                "split": split,
                "loss": np.asarray(values, dtype=np.float64)[:count][index],
            }
        )
        for split, values in (("training", train), ("validation", val))
    ]
    return pd.concat(frames, ignore_index=True)


def points_table(x: np.ndarray | None, y: np.ndarray | None) -> pd.DataFrame:
    """x, y of the points a run learns from, as its worker sampled them (`regviz.worker.POINTS`);
    empty when not known."""
    if x is None or y is None:
        return pd.DataFrame({"x": np.zeros(0, np.float32), "y": np.zeros(0, np.float32)})
    return pd.DataFrame({"x": np.asarray(x, np.float32), "y": np.asarray(y, np.float32)})


def curve_table(curves: Sequence[tuple[str, str, np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """setting, line, role, rank, x, y for `charts.prediction_chart`.

    `curves`: (label, role, x, y) per line; role "curve" is drawn bold, "reference" dashed.
    """
    frames = [
        pd.DataFrame(
            {
                "setting": label,
                "line": label,
                "role": role,
                "rank": 0,
                "x": np.asarray(x, np.float32),
                "y": np.asarray(y, np.float32),
            }
        )
        for label, role, x, y in curves
    ]
    return pd.concat(frames, ignore_index=True)


def density_table(
    curves: Sequence[tuple[str, str, np.ndarray]],
    bandwidth: float,
    domain: tuple[float, float] | None = None,
) -> tuple[pd.DataFrame, tuple[float, float]]:
    """(setting, line, role, rank, value, density rows, the x range) for `charts.kde_chart`.

    `curves`: (label, role, weight counts on `density.VALUE_CENTRES`) per line,
    smoothed with one `bandwidth` so that heights compare. `domain`: the x range to
    draw (default: where any curve is visible).
    """
    centres = density.VALUE_CENTRES
    smoothed = [density.smooth(counts, centres, bandwidth) for _, _, counts in curves]
    low, high = domain or density.visible_range(smoothed, centres)
    # (`thinned` gives floats when no curve peaks inside the range)
    index = density.thinned(centres, smoothed, low, high).astype(np.int64)
    frames = [
        pd.DataFrame(
            {
                "setting": label,
                "line": label,
                "role": role,
                "rank": 0,
                "value": centres[index].astype(np.float32),
                "density": values[index].astype(np.float32),
            }
        )
        for (label, role, _), values in zip(curves, smoothed, strict=True)
    ]
    return pd.concat(frames, ignore_index=True), (low, high)
