"""Weight densities as the page draws them: the sweep's one bandwidth, weights only.

The L2 and dropout sections draw each setting's weight density smoothed with
one bandwidth for the whole sweep (Scott's rule on its unregularised runs;
`regviz.ui.densities`), so heights and shapes compare across settings. The
verdicts read the same curves. Differences between two densities are measured
as their total variation distance: half the area between the curves, 0 for the
same density and 1 for densities that do not overlap at all.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from regviz.ui.densities import DensityOptions, bandwidth, centres, run_density, setting_density
from regviz.views import RunView

#: The page's default density view: the weights, on the parameter-value axis.
WEIGHTS = DensityOptions()


def sweep_width(reference: Sequence[RunView]) -> float:
    """The sweep's bandwidth: Scott's rule on its unregularised runs, pooled."""
    return bandwidth(reference, WEIGHTS)


def peak(views: Sequence[RunView], width: float) -> float:
    """Height of a setting's tallest density peak (its seeds pooled)."""
    return float(np.max(setting_density(views, WEIGHTS, width)))


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total variation distance between two densities on the same grid."""
    step = float(np.diff(centres(WEIGHTS)[:2])[0])
    return float(0.5 * np.sum(np.abs(np.asarray(a) - np.asarray(b))) * step)


def run_curve(view: RunView, width: float) -> np.ndarray:
    return run_density(view, WEIGHTS, width)


def paired_distance(a: Sequence[RunView], b: Sequence[RunView], width: float) -> list[float]:
    """Seed by seed: the distance between the two settings' densities of the same seed."""
    return [distance(run_curve(x, width), run_curve(y, width)) for x, y in zip(a, b, strict=True)]


def seed_distance(views: Sequence[RunView], width: float) -> float:
    """The largest distance between two seeds of one setting: the luck of the seed."""
    curves = [run_curve(view, width) for view in views]
    return max(distance(x, y) for x, y in itertools.combinations(curves, 2))
