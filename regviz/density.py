"""Parameter densities that compare across settings: fixed bins, one bandwidth per sweep.

A run stores its weights as counts on fixed, fine bins (`VALUE_CENTRES`, and
`LOG_CENTRES` for log10|w|); the page smooths those counts with a Gaussian of the
sweep's bandwidth (a binned kernel density estimate, exact up to the bin width,
which is several times smaller than any bandwidth used). One bandwidth for every
setting of a sweep makes heights comparable: a set of weights squeezed onto zero
gives a taller peak than a spread-out one, which a per-run Scott bandwidth would
hide. The bandwidth is Scott's rule applied to the sweep's unregularised setting.

numpy only: this runs on the page's reading path.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Parameter values are counted in bins of this width centred on its multiples.
VALUE_STEP = 0.005
VALUE_LIMIT = 4.5
VALUE_CENTRES = np.round(np.arange(-VALUE_LIMIT, VALUE_LIMIT + VALUE_STEP / 2, VALUE_STEP), 6)
#: log10|w| bins: from 1e-20 (trained weights reach 1e-20 under L2 and Adam) to 10.
LOG_STEP = 0.05
LOG_LOW, LOG_HIGH = -20.0, 1.0
LOG_CENTRES = np.round(np.arange(LOG_LOW, LOG_HIGH + LOG_STEP / 2, LOG_STEP), 6)
#: Densities are drawn at this many points at most.
DRAWN_POINTS = 240


def _counts(values: np.ndarray, centres: np.ndarray, step: float) -> np.ndarray:
    index = np.rint((np.asarray(values, dtype=np.float64) - centres[0]) / step).astype(np.int64)
    inside = (index >= 0) & (index < centres.size)
    counts = np.bincount(index[inside], minlength=centres.size)
    return counts.astype(np.uint16 if counts.max(initial=0) < 2**16 else np.uint32)


def value_counts(values: np.ndarray) -> np.ndarray:
    """How many values fall in each `VALUE_CENTRES` bin; values beyond ±VALUE_LIMIT are dropped."""
    return _counts(values, VALUE_CENTRES, VALUE_STEP)


def log_counts(values: np.ndarray) -> np.ndarray:
    """Counts of log10|w| on `LOG_CENTRES`; |w| below 1e-20 (and zeros) land in the first bin."""
    magnitude = np.abs(np.asarray(values, dtype=np.float64))
    logs = np.log10(np.maximum(magnitude, 10.0**LOG_LOW))
    return _counts(np.minimum(logs, LOG_HIGH), LOG_CENTRES, LOG_STEP)


def scott_bandwidth(values: np.ndarray) -> float:
    """Scott's rule, σ·n^(−1/5), for one run's worth of values."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.std() * values.size ** (-1 / 5))


def bandwidth_from_counts(counts: Sequence[np.ndarray], centres: np.ndarray) -> float:
    """Scott's rule from binned values, pooled over runs (σ pooled, n of one run)."""
    total = np.sum(np.vstack(counts), axis=0).astype(np.float64)
    mean = float(np.sum(total * centres) / total.sum())
    std = float(np.sqrt(np.sum(total * (centres - mean) ** 2) / total.sum()))
    per_run = total.sum() / len(counts)
    return std * per_run ** (-1 / 5)


def smooth(counts: np.ndarray, centres: np.ndarray, bandwidth: float) -> np.ndarray:
    """The density (integrating to the share of values inside the bins) at every bin centre."""
    counts = np.asarray(counts, dtype=np.float64)
    step = float(centres[1] - centres[0])
    total = counts.sum()
    if total == 0:
        return np.zeros_like(counts)
    sigma = max(bandwidth, step / 2) / step
    half = int(np.ceil(5 * sigma))
    offsets = np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    return np.convolve(counts, kernel, mode="same") / (total * step)


def gaussian_kde(values: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    """A plain Gaussian KDE for a few hundred values (the biases), exact."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return np.zeros_like(grid, dtype=np.float64)
    z = (np.asarray(grid, dtype=np.float64)[:, None] - values[None, :]) / bandwidth
    return np.exp(-0.5 * z**2).sum(1) / (values.size * bandwidth * np.sqrt(2 * np.pi))


def visible_range(
    curves: Sequence[np.ndarray], centres: np.ndarray, share: float = 2e-3
) -> tuple[float, float]:
    """The x range where any curve is above `share` of the highest peak, padded by 5 %."""
    peak = max(float(np.max(curve)) for curve in curves)
    seen = np.flatnonzero(np.max(np.vstack(curves), axis=0) >= share * peak)
    if seen.size == 0:
        return float(centres[0]), float(centres[-1])
    low, high = float(centres[seen[0]]), float(centres[seen[-1]])
    pad = 0.05 * max(high - low, 10 * float(centres[1] - centres[0]))
    return max(float(centres[0]), low - pad), min(float(centres[-1]), high + pad)


def thinned(
    centres: np.ndarray, curves: Sequence[np.ndarray], low: float, high: float
) -> np.ndarray:
    """Indices of at most DRAWN_POINTS centres in [low, high], keeping every curve's peak."""
    inside = np.flatnonzero((centres >= low) & (centres <= high))
    step = max(1, int(np.ceil(inside.size / DRAWN_POINTS)))
    index = inside[::step]
    peaks = [int(np.argmax(curve)) for curve in curves]
    kept = [p for p in peaks if low <= centres[p] <= high]
    return np.unique(np.concatenate([index, np.asarray(kept, dtype=np.int64)]))
