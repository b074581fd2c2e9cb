"""Numbers across seeds: every canonical setting was trained with three seeds.

The page reports a setting as the mean over its seeds with the min–max range, so
a reader can tell an effect of the setting from the luck of one initialisation.
numpy and pandas only; safe on the page's reading path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from regviz.config import RunConfig
from regviz.views import RunView


@dataclass(frozen=True)
class Stats:
    """Mean and range over seeds; `n` is how many seeds had the number."""

    mean: float
    low: float
    high: float
    n: int

    def format(self, digits: int = 3) -> str:
        """'0.115 (0.095–0.130)', or the single value when there is one seed."""
        if self.n == 0:
            return "n/a"
        if self.n == 1:
            return f"{self.mean:.{digits}g}"
        return f"{self.mean:.{digits}g} ({self.low:.{digits}g}–{self.high:.{digits}g})"


def setting_of(config: RunConfig) -> RunConfig:
    """The setting a run belongs to: its config with the seed set to 0."""
    return replace(config, seed=0)


def by_setting(runs: Mapping[str, RunView] | Sequence[RunView]) -> dict[RunConfig, list[RunView]]:
    """Seed-0 config → that setting's runs, ordered by seed."""
    views = runs.values() if isinstance(runs, Mapping) else runs
    groups: dict[RunConfig, list[RunView]] = {}
    for view in views:
        groups.setdefault(setting_of(view.config), []).append(view)
    return {key: sorted(group, key=lambda v: v.config.seed) for key, group in groups.items()}


def metric_stats(views: Sequence[RunView], metric: str) -> Stats:
    values = np.array([v.metrics[metric] for v in views if metric in v.metrics], dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return Stats(float("nan"), float("nan"), float("nan"), 0)
    return Stats(float(values.mean()), float(values.min()), float(values.max()), int(values.size))


def curve_stats(curves: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pointwise mean, min and max of equally long curves (one per seed)."""
    stacked = np.vstack([np.asarray(c, dtype=float) for c in curves])
    return stacked.mean(0), stacked.min(0), stacked.max(0)
