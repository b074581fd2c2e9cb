"""Measured numbers the page's prose quotes, computed from the stored runs.

Each function returns plain values (or None where the runs it needs are missing),
so the sentences on the page are f-strings over these and can never drift from
the checkpoints. Pure numpy and pandas; no Streamlit.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from regviz.config import RunConfig
from regviz.summary import Stats, metric_stats
from regviz.ui import tables
from regviz.urlstate import SWEEPS
from regviz.verdict import clearly_above
from regviz.views import RunView


def stats_by_value(runs: Mapping[str, RunView], kind: str, metric: str) -> dict[float, Stats]:
    """Canonical value of sweep `kind` → the metric over that setting's seeds (present ones)."""
    out = {}
    for value in SWEEPS[kind][0]:
        views = tables.seed_views(runs, tables.canonical(kind, value).config)
        stats = metric_stats(views, metric)
        if stats.n:
            out[value] = stats
    return out


@dataclass(frozen=True)
class TurningPoint:
    """The last value of a sweep that fits like no regularisation, and the first that does not."""

    last_good: float
    last_good_mse: Stats
    first_bad: float
    first_bad_mse: Stats
    unregularised_mse: Stats

    @property
    def jump(self) -> float:
        return self.first_bad_mse.mean / self.last_good_mse.mean


def turning_point(runs: Mapping[str, RunView], kind: str) -> TurningPoint | None:
    """The first value whose validation MSE is clearly above the sweep's zero setting.

    "Clearly" is the verdict's rule (`regviz.verdict.clearly_above`: every seed above
    every unregularised seed), so the prose and the verdict table cannot disagree.
    """
    val = stats_by_value(runs, kind, "val_mse")
    values = sorted(val)
    if len(values) < 2 or values[0] != 0.0:
        return None
    base = val[0.0]
    for previous, value in itertools.pairwise(values):
        if clearly_above(val[value], base):
            return TurningPoint(previous, val[previous], value, val[value], base)
    return None


def baseline(runs: Mapping[str, RunView], metric: str) -> Stats:
    return metric_stats(tables.seed_views(runs, RunConfig()), metric)


def setting_stats(runs: Mapping[str, RunView], kind: str, value: float, metric: str) -> Stats:
    return metric_stats(tables.seed_views(runs, tables.canonical(kind, value).config), metric)


def flat_prediction(runs: Mapping[str, RunView], kind: str, value: float) -> float | None:
    """The mean level of a setting's seed-0 prediction (what a collapsed model predicts)."""
    views = tables.seed_views(runs, tables.canonical(kind, value).config)
    return float(np.mean(views[0].prediction)) if views else None


def _fmt(stats: Stats, unit: str = "") -> str:
    if unit == "%":
        scaled = Stats(stats.mean * 100, stats.low * 100, stats.high * 100, stats.n)
        return scaled.format(3).replace(" (", " % (") if stats.n > 1 else scaled.format(3) + " %"
    return stats.format(3)


#: Columns of the "what we learned" table: metric → (header, multiplier).
LEARNED_METRICS: dict[str, tuple[str, float]] = {
    "train_mse": ("final training MSE", 1.0),
    "val_mse": ("final validation MSE", 1.0),
    "val_mse_over_var": ("validation MSE / Var(y)", 1.0),
    "weight_std": ("weight spread (std)", 1.0),
    "weight_fraction_near_zero": ("weights |w| < 0.001 (%)", 100.0),
}


def learned_table(runs: Mapping[str, RunView], settings: Sequence[tables.Setting]) -> pd.DataFrame:
    """One row per setting: mean (min–max over seeds) of each LEARNED_METRICS column."""
    rows = []
    for setting in settings:
        views = tables.seed_views(runs, setting.config)
        row: dict[str, object] = {"setting": setting.label, "seeds": len(views)}
        for metric, (header, scale) in LEARNED_METRICS.items():
            stats = metric_stats(views, metric)
            scaled = Stats(stats.mean * scale, stats.low * scale, stats.high * scale, stats.n)
            row[header] = scaled.format(3)
        rows.append(row)
    return pd.DataFrame(rows)


#: Metrics compared side by side, with how to read them.
COMPARED_METRICS = (
    ("val_mse", "final validation MSE"),
    ("train_mse", "final training MSE"),
    ("hard_region_mse", "validation MSE near x = 11"),
    ("prediction_std_ratio", "prediction spread / clean signal's"),
    ("weight_std", "weight spread (std)"),
    ("weight_fraction_near_zero", "share of weights near zero"),
)


def comparison_table(
    a_label: str, a_views: Sequence[RunView], b_label: str, b_views: Sequence[RunView]
) -> pd.DataFrame:
    """Metric, A, B, B − A and B / A (means over each side's seeds)."""
    rows = []
    for metric, header in COMPARED_METRICS:
        a, b = metric_stats(a_views, metric), metric_stats(b_views, metric)
        ratio = b.mean / a.mean if a.n and b.n and a.mean else float("nan")
        rows.append(
            {
                "measure": header,
                a_label: a.format(3),
                b_label: b.format(3),
                "B − A": f"{b.mean - a.mean:+.3g}" if a.n and b.n else "n/a",
                "B / A": f"{ratio:.3g}" if np.isfinite(ratio) else "n/a",
            }
        )
    return pd.DataFrame(rows)
