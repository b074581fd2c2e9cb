"""How honest the Monte Carlo dropout band is, one row per canonical p > 0."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from regviz import lazy
from regviz.config import CANONICAL_DROPOUT, RunConfig
from regviz.data import NOISE_STD
from regviz.store import Pretrained
from regviz.summary import by_setting, metric_stats
from regviz.views import PREDICTION_GRID, RunView

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy.module("pandas")

#: Column name → (metric, scale) for the columns that are plain means over seeds.
_MEANS = {
    "clean signal inside ±2σ near x = 11 (%)": ("clean_coverage_hard", 100.0),
    "clean signal inside ±2σ elsewhere (%)": ("clean_coverage_elsewhere", 100.0),
    "clean signal inside 2.5–97.5 % near x = 11 (%)": ("clean_coverage_pct_hard", 100.0),
    "clean signal inside 2.5–97.5 % elsewhere (%)": ("clean_coverage_pct_elsewhere", 100.0),
    "σ / mean near x = 11": ("mc_relative_hard", 1.0),
    "σ / mean, level-matched control": ("mc_relative_control", 1.0),
}

COVERAGE_COLUMNS = (
    "p",
    "seeds",
    "inside ±2σ, mean (%)",
    "inside ±2σ, lowest seed (%)",
    "inside ±2σ, highest seed (%)",
    "±2σ near x = 11",
    "±2σ elsewhere",
    "near / elsewhere",
    *_MEANS,
    "inside ±2σ with data noise added, mean (%)",
    "val MSE / Var(y)",
    "note",
)


def _validation_sample(pretrained: Pretrained) -> tuple[np.ndarray, np.ndarray] | None:
    """The validation points among the shipped data sample, or None without the data file."""
    data = pretrained.data
    if data is None or not {"sample/x", "sample/y", "sample/is_train"} <= set(data):
        return None
    val = np.asarray(data["sample/is_train"]) == 0
    return (
        np.asarray(data["sample/x"], dtype=np.float64)[val],
        np.asarray(data["sample/y"], dtype=np.float64)[val],
    )


def coverage_with_noise(view: RunView, x: np.ndarray, y: np.ndarray, noise_std: float) -> float:
    """Share of (x, y) inside mc_mean ± 2·√(σ² + noise²), the band read off the grid.

    Widening the dropout band by the data's own noise separates the two reasons
    it misses points: a band that ignores the noise (fixed by this) and a curve
    that sits in the wrong place (not fixed by it).
    """
    if view.mc_mean is None or view.mc_std is None:
        return float("nan")
    mean = np.interp(x, PREDICTION_GRID, np.asarray(view.mc_mean, dtype=np.float64))
    std = np.interp(x, PREDICTION_GRID, np.asarray(view.mc_std, dtype=np.float64))
    return float(np.mean(np.abs(y - mean) <= 2 * np.sqrt(std**2 + noise_std**2)))


def mc_coverage_table(pretrained: Pretrained) -> pd.DataFrame:
    """How honest the Monte Carlo dropout band is, one row per canonical p > 0.

    Coverage is the share of validation points inside mean ± 2σ of 100 forward
    passes with dropout on (a calibrated Gaussian band would hold about 95 %;
    this one reflects dropout's own noise only, not the data's σ = 0.25). The
    band columns are the half-width 2σ, averaged over validation points near
    x = 11 (|x − 11| ≤ 1) and elsewhere. The clean-signal columns give the share
    of the noise-free curve inside ±2σ and inside the passes' 2.5–97.5 % range,
    near x = 11 and elsewhere; σ / mean is the band relative to the output level,
    near x = 11 and at points elsewhere of the same level (`control_region`).
    "inside with data noise" widens the band to ±2√(σ² + σ_noise²)
    (`coverage_with_noise`), read off the stored grid at the validation points of
    the shipped data sample, so it is an estimate. Means over the seeds that
    loaded; `seeds` says how many did.
    """
    groups = by_setting(pretrained.runs)
    sample = _validation_sample(pretrained)
    noise_std = float(pretrained.manifest.get("data", {}).get("noise_std", NOISE_STD))
    rows = []
    for p in CANONICAL_DROPOUT:
        if p == 0:
            continue
        views = [v for v in groups.get(RunConfig(dropout=p), []) if "mc_coverage" in v.metrics]
        coverage = metric_stats(views, "mc_coverage")
        hard = metric_stats(views, "mc_hard_std").mean
        easy = metric_stats(views, "mc_easy_std").mean
        spread = metric_stats(views, "mc_mean_std")
        if not views:
            note = "runs not loaded"
        elif spread.high == 0:
            note = "no band: every pass gives the same output"
        else:
            note = ""
        with_noise = float("nan")
        if sample is not None and views:
            with_noise = float(np.mean([coverage_with_noise(v, *sample, noise_std) for v in views]))
        row = {
            "p": p,
            "seeds": len(views),
            "inside ±2σ, mean (%)": 100 * coverage.mean,
            "inside ±2σ, lowest seed (%)": 100 * coverage.low,
            "inside ±2σ, highest seed (%)": 100 * coverage.high,
            "±2σ near x = 11": 2 * hard,
            "±2σ elsewhere": 2 * easy,
            "near / elsewhere": hard / easy if easy > 0 else float("nan"),
            **{
                name: scale * metric_stats(views, metric).mean
                for name, (metric, scale) in _MEANS.items()
            },
            "inside ±2σ with data noise added, mean (%)": 100 * with_noise,
            "val MSE / Var(y)": metric_stats(views, "final_val_mse_over_var").mean,
            "note": note,
        }
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COVERAGE_COLUMNS))
