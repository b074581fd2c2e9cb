"""Measured numbers the page's prose quotes, computed from the stored runs.

Each function returns plain values (or None where the runs it needs are missing),
so the sentences on the page are f-strings over these and can never drift from
the checkpoints. Pure numpy and pandas; no Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from regviz import lazy
from regviz.config import SEEDS, RunConfig
from regviz.registry import SWEEPS
from regviz.summary import Stats, metric_stats
from regviz.ui import settings
from regviz.verdict import climb_start
from regviz.verdict.runs import clearly_worse
from regviz.verdict.thresholds import PAIRED_MARGIN
from regviz.views import RunView

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy.module("pandas")

#: The validation number the prose quotes: the mean of the last 10 of 100 epochs.
FINAL = "final_val_mse"


def stats_by_value(runs: Mapping[str, RunView], kind: str, metric: str) -> dict[float, Stats]:
    """Canonical value of sweep `kind` → the metric over that setting's seeds (present ones)."""
    out = {}
    for value in SWEEPS[kind].values:
        views = settings.seed_views(runs, SWEEPS[kind].config(value))
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
    #: Values past `first_bad` that are not clearly worse (the climb is not monotonic).
    relapses: tuple[float, ...] = ()

    @property
    def jump(self) -> float:
        return self.first_bad_mse.mean / self.last_good_mse.mean


def turning_point(runs: Mapping[str, RunView], kind: str) -> TurningPoint | None:
    """The first value whose validation MSE is clearly above the sweep's zero setting.

    "Clearly" is the verdict's rule (`regviz.verdict.climb_start`: every seed at
    least 10 % above its own unregularised seed, and above all of them), called
    here, so the prose and the verdict table cannot disagree. A value counts only
    when all its seeds are present.
    """
    per_seed = {}
    for value in SWEEPS[kind].values:
        views = settings.seed_views(runs, SWEEPS[kind].config(value))
        if len(views) == len(SEEDS) and all(FINAL in v.metrics for v in views):
            per_seed[value] = {v.config.seed: float(v.metrics[FINAL]) for v in views}
    turn = climb_start(per_seed)
    if turn is None:
        return None
    last, first = turn
    stats = {value: setting_stats(runs, kind, value, FINAL) for value in (0.0, last, first)}
    relapses = tuple(
        value
        for value in sorted(per_seed)
        if value > first and not clearly_worse(per_seed[value], per_seed[0.0])
    )
    return TurningPoint(last, stats[last], first, stats[first], stats[0.0], relapses)


def turning_point_text(runs: Mapping[str, RunView], kind: str) -> str | None:
    """The paragraph every sweep's section uses for where its fit breaks, or None."""
    turn = turning_point(runs, kind)
    if turn is None:
        return None
    symbol = SWEEPS[kind].symbol
    worse = (
        f"every seed's validation MSE (mean of the last 10 epochs) is at least "
        f"{PAIRED_MARGIN:.0%} above its own unregularised run and above all of them"
    )
    if turn.last_good == 0:
        return (
            f"**Where it breaks.** Already at {symbol} = {turn.first_bad:g}, the smallest value "
            f"stored, {worse}: {turn.first_bad_mse.format()} against "
            f"{turn.unregularised_mse.format()}."
        )
    return (
        f"**Where it breaks.** Up to {symbol} = {turn.last_good:g} no value is clearly worse "
        f"than none: at {symbol} = {turn.last_good:g} the validation MSE (mean of the last 10 "
        f"epochs) is {turn.last_good_mse.format()} against {turn.unregularised_mse.format()}, "
        f"and at least one seed is within {PAIRED_MARGIN:.0%} of its own unregularised run or "
        f"inside their range. At {symbol} = {turn.first_bad:g} {worse}: "
        f"{turn.first_bad_mse.format()}, {turn.jump:.1f}× the step before."
        + _relapses(turn, symbol)
    )


def _relapses(turn: TurningPoint, symbol: str) -> str:
    if not turn.relapses:
        return ""
    listed = ", ".join(f"{symbol} = {value:g}" for value in turn.relapses)
    return (
        f" The climb is not steady: {listed}, further on, is not clearly worse by the same "
        "rule, a reminder that three seeds cannot pin the start of the climb to one decade."
    )


def baseline(runs: Mapping[str, RunView], metric: str) -> Stats:
    return metric_stats(settings.seed_views(runs, RunConfig()), metric)


def setting_stats(runs: Mapping[str, RunView], kind: str, value: float, metric: str) -> Stats:
    return metric_stats(settings.seed_views(runs, SWEEPS[kind].config(value)), metric)


def flat_prediction(runs: Mapping[str, RunView], kind: str, value: float) -> float | None:
    """The mean level of a setting's seed-0 prediction (what a collapsed model predicts)."""
    views = settings.seed_views(runs, SWEEPS[kind].config(value))
    return float(np.mean(views[0].prediction)) if views else None


def _fmt(stats: Stats, unit: str = "") -> str:
    if unit == "%":
        scaled = Stats(stats.mean * 100, stats.low * 100, stats.high * 100, stats.n)
        return scaled.format(3).replace(" (", " % (") if stats.n > 1 else scaled.format(3) + " %"
    return stats.format(3)


#: Columns of the "what we learned" table: metric → (header, multiplier).
LEARNED_METRICS: dict[str, tuple[str, float]] = {
    "final_train_mse": ("training MSE (last 10 epochs)", 1.0),
    "final_val_mse": ("validation MSE (last 10 epochs)", 1.0),
    "final_val_mse_over_var": ("validation MSE / Var(y)", 1.0),
    "weight_std": ("weight spread (std)", 1.0),
    "weight_fraction_near_zero": ("weights |w| < 0.001 (%)", 100.0),
}


def learned_table(runs: Mapping[str, RunView], shown: Sequence[settings.Setting]) -> pd.DataFrame:
    """One row per setting: mean (min–max over seeds) of each LEARNED_METRICS column."""
    rows = []
    for setting in shown:
        views = settings.seed_views(runs, setting.config)
        row: dict[str, object] = {"setting": setting.label, "seeds": len(views)}
        for metric, (header, scale) in LEARNED_METRICS.items():
            stats = metric_stats(views, metric)
            scaled = Stats(stats.mean * scale, stats.low * scale, stats.high * scale, stats.n)
            row[header] = scaled.format(3)
        rows.append(row)
    return pd.DataFrame(rows)


#: Metrics compared side by side, with how to read them.
COMPARED_METRICS = (
    ("final_val_mse", "validation MSE (last 10 epochs)"),
    ("final_train_mse", "training MSE (last 10 epochs)"),
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
