"""The loaded runs as a claim reads them, and the measures claims share.

`Runs` groups the runs by setting and turns a missing file into `Missing`, which
names the file and the command that rebuilds it. Comparisons between two
settings are made seed by seed (`paired_excess`: the same seed shares the
initialisation and the batch order) and by range (`range_ratio`). numpy only.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from regviz.config import SEEDS, RunConfig
from regviz.data import HARD_CENTRE, HARD_HALF_WIDTH
from regviz.registry import SWEEPS, Sweep
from regviz.store import Pretrained, rebuild_command
from regviz.summary import Stats, by_setting, setting_of
from regviz.verdict.thresholds import PAIRED_MARGIN, RANGE_RATIO
from regviz.views import PREDICTION_GRID, RunView

#: What the fit is judged on: the validation MSE averaged over the last 10 epochs.
FINAL = "final_val_mse"
FINAL_OVER_VAR = "final_val_mse_over_var"


class Missing(Exception):
    """A claim needs files that did not load."""

    def __init__(self, labels: Sequence[str]):
        self.labels = list(dict.fromkeys(labels))
        super().__init__("; ".join(self.labels))


PerSeed = dict[int, float]


class Runs:
    """The loaded runs grouped by setting; asking for an absent run raises `Missing`."""

    def __init__(self, pretrained: Pretrained, sweeps: Mapping[str, Sweep] = SWEEPS):
        self.pretrained = pretrained
        self.groups = by_setting(pretrained.runs)
        self.sweeps = sweeps

    def views(self, setting: RunConfig) -> list[RunView]:
        """All seeds of a setting, in seed order; `Missing` names any seed that did not load."""
        views = {v.config.seed: v for v in self.groups.get(setting_of(setting), [])}
        missing = [setting.with_seed(seed).run_id for seed in SEEDS if seed not in views]
        if missing:
            raise Missing([self.label(run_id) for run_id in missing])
        return [views[seed] for seed in SEEDS]

    def at(self, kind: str, value: float) -> list[RunView]:
        """The seeds of one canonical value of sweep `kind` (a key of `SWEEPS`)."""
        return self.views(self.sweeps[kind].config(value))

    def per_seed(self, kind: str, value: float, metric: str) -> PerSeed:
        return {v.config.seed: float(v.metrics.get(metric, np.nan)) for v in self.at(kind, value)}

    def signal(self) -> np.ndarray:
        data = self.pretrained.data
        if data is None or "signal" not in data:
            raise Missing([self.label(None)])
        return np.asarray(data["signal"], dtype=np.float64)

    def label(self, run_id: str | None) -> str:
        """Where a run's (or, for None, the data's) file is and how to rebuild it."""
        needle = f"/{run_id}." if run_id else "/data."
        for problem in self.pretrained.problems:
            if needle in problem.path or "manifest" in problem.path:
                return f"{problem.path} ({problem.reason}; rebuild: {problem.command})"
        manifest = self.pretrained.manifest
        entry = manifest.get("runs", {}).get(run_id) if run_id else manifest.get("data")
        what = f"pretrained/{entry['file']}" if entry and "file" in entry else run_id or "data"
        return f"{what} (not loaded; rebuild: {rebuild_command(run_id)})"


# --- numbers over seeds -----------------------------------------------------------


def stats_of(values: Sequence[float] | Mapping[int, float]) -> Stats:
    array = np.asarray(list(values.values()) if isinstance(values, Mapping) else values, float)
    return Stats(float(array.mean()), float(array.min()), float(array.max()), int(array.size))


def clearly_above(high: Stats, low: Stats) -> bool:
    """Every seed of `high` lies above every seed of `low` (their ranges do not overlap)."""
    return high.low > low.high


def paired_excess(worse: PerSeed, better: PerSeed) -> float:
    """The smallest relative excess over the seeds: min over s of worse[s] / better[s] − 1.

    Positive when every seed of `worse` is above its own seed of `better`.
    """
    seeds = sorted(set(worse) & set(better))
    return float(min(worse[s] / better[s] - 1 for s in seeds))


def range_ratio(high: PerSeed, low: PerSeed) -> float:
    """The lowest seed of `high` over the highest seed of `low` (≥ 1: no overlap)."""
    return float(min(high.values()) / max(low.values()))


def clearly_worse(values: PerSeed, base: PerSeed) -> bool:
    """The rule for "clearly worse", seed by seed and by range.

    Every seed is at least `PAIRED_MARGIN` above its own seed of `base`, and the
    lowest seed lies above the highest of `base`.
    """
    return paired_excess(values, base) >= PAIRED_MARGIN and range_ratio(values, base) >= RANGE_RATIO


def climb_start(by_value: Mapping[float, PerSeed]) -> tuple[float, float] | None:
    """(last value not clearly worse than 0, first value that is), or None.

    `by_value` maps each value of a sweep (0 among them) to its per-seed final
    validation MSE. The page's "where it breaks" prose and the turning-point
    verdict both call this, so they cannot disagree.
    """
    values = sorted(by_value)
    if len(values) < 2 or values[0] != 0.0:
        return None
    base = by_value[0.0]
    for previous, value in itertools.pairwise(values):
        if clearly_worse(by_value[value], base):
            return previous, value
    return None


# --- curves -------------------------------------------------------------------------


def hard_region(x: np.ndarray = PREDICTION_GRID) -> np.ndarray:
    """Mask of the hard region |x − 11| ≤ 1 around the signal's fast wiggle."""
    return np.abs(np.asarray(x, dtype=np.float64) - HARD_CENTRE) <= HARD_HALF_WIDTH


def roughness(curve: np.ndarray, where: np.ndarray | None = None) -> float:
    """Mean squared second difference of a curve on `PREDICTION_GRID`.

    `where` selects grid points (a boolean mask over the grid); a second
    difference counts when its centre point is selected. It measures how much
    the curve bends from one grid step to the next: a shaky curve bends a lot.
    """
    second = np.diff(np.asarray(curve, dtype=np.float64), 2) ** 2
    if where is not None:
        second = second[np.asarray(where)[1:-1]]
    return float(second.mean())


def seed_spread_ratio(views: Sequence[RunView]) -> float:
    """Seed-to-seed spread of the predictions near x = 11 over the spread elsewhere."""
    spread = np.vstack([np.asarray(v.prediction, dtype=np.float64) for v in views]).std(0)
    hard = hard_region()
    return float(spread[hard].mean() / spread[~hard].mean())


def line_fit(curve: np.ndarray, x: np.ndarray = PREDICTION_GRID) -> tuple[float, float, float]:
    """Slope, R² and the residual's std of the least-squares line through a curve."""
    curve = np.asarray(curve, dtype=np.float64)
    slope, intercept = np.polyfit(x, curve, 1)
    residual = curve - (slope * x + intercept)
    total = float(np.var(curve))
    r2 = 1 - float(np.var(residual)) / total if total > 0 else float("nan")
    return float(slope), r2, float(residual.std())
