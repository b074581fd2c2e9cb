"""The noisy 1-D signal the network learns, and its fixed train/validation split.

The article's formula was an image that no longer loads. What survives: a sum of
a few *similar* sine terms whose amplitude, frequency and phase are drawn from
Gaussians, so their drifting lags make the sum irregular, plus white noise. We add
one short, fast wiggle centred on x = 11, where the article's model struggled, so
that the hard region is a property of the data rather than of luck.

Everything is seeded: every reader and every test sees the same 10,000 points,
split as scikit-learn's `train_test_split(random_state=42)` splits them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

#: Seed of the signal's coefficients and of the noise.
DATA_SEED = 2020
#: `random_state` of scikit-learn's `train_test_split`.
SPLIT_SEED = 42
N_POINTS = 10_000
VAL_FRACTION = 0.2
N_TRAIN = round(N_POINTS * (1 - VAL_FRACTION))
X_MIN, X_MAX = 0.0, 20.0
#: Standard deviation of the Gaussian noise. A perfect model's expected MSE is
#: its square, 0.0625: no validation loss can sit below that floor for long.
NOISE_STD = 0.25
#: Where the fast wiggle sits and how wide it is.
HARD_CENTRE = 11.0
HARD_WIDTH = 0.6
#: The hard region, |x − 11| ≤ 1, over which the per-region errors and bands are measured.
HARD_HALF_WIDTH = 1.0
N_TERMS = 5
#: The hard region as an interval of x, for charts.
HARD_REGION = (HARD_CENTRE - HARD_HALF_WIDTH, HARD_CENTRE + HARD_HALF_WIDTH)


def hard_region(x: np.ndarray) -> np.ndarray:
    """Mask of the hard region |x − 11| ≤ 1 around the signal's fast wiggle."""
    return np.abs(np.asarray(x, dtype=np.float64) - HARD_CENTRE) <= HARD_HALF_WIDTH


def control_region(x: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Points away from the hard region whose clean level matches it (its 10th–90th percentile).

    The hard region sits in a trough of the signal (mean level ≈ 2.45 against ≈ 4.0
    elsewhere). Whatever scales with the output level, such as dropout's
    multiplicative noise, must be compared near x = 11 against points of similar
    level, or the comparison measures the level instead of the difficulty.
    """
    hard = hard_region(x)
    clean = np.asarray(clean, dtype=np.float64)
    low, high = np.quantile(clean[hard], [0.1, 0.9])
    return ~hard & (clean >= low) & (clean <= high)


@dataclass(frozen=True)
class Signal:
    """y(x) = c + Σ_k A_k sin(B_k x + C_k) + H·exp(−(x−x₀)²/2w²)·sin(ω(x−x₀))."""

    amplitude: tuple[float, ...]
    frequency: tuple[float, ...]
    phase: tuple[float, ...]
    offset: float
    burst_height: float = 1.0
    burst_frequency: float = 5.0
    burst_centre: float = HARD_CENTRE
    burst_width: float = HARD_WIDTH

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        terms = sum(
            a * np.sin(b * x + c)
            for a, b, c in zip(self.amplitude, self.frequency, self.phase, strict=True)
        )
        return self.offset + terms + self._burst(x)

    def _burst(self, x: np.ndarray) -> np.ndarray:
        shifted = x - self.burst_centre
        envelope = np.exp(-(shifted**2) / (2 * self.burst_width**2))
        return self.burst_height * envelope * np.sin(self.burst_frequency * shifted)

    def formula(self) -> str:
        """The formula in plain Unicode (a page without LaTeX loads faster)."""
        terms = "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(d)] for d in str(len(self.amplitude)))
        return (
            f"y = c + Σₖ₌₁{terms} Aₖ·sin(Bₖx + Cₖ) + H·exp(−(x − x₀)² / 2w²)·sin(ω(x − x₀)) + ε,"
            "  ε ~ N(0, σ²)"
        )

    def coefficients(self) -> dict[str, object]:
        """The drawn and fixed numbers behind `formula()`."""
        return {
            "A": self.amplitude,
            "B": self.frequency,
            "C": self.phase,
            "c": self.offset,
            "H": self.burst_height,
            "omega": self.burst_frequency,
            "x0": self.burst_centre,
            "w": self.burst_width,
            "sigma": NOISE_STD,
        }


@functools.lru_cache(maxsize=4)
def make_signal(seed: int = DATA_SEED) -> Signal:
    """Draw A_k ~ N(0.6, 0.1²), B_k ~ N(1, 0.12²), C_k ~ N(0, 1) and lift the curve above zero.

    The offset puts the clean curve's minimum at 4σ above zero, because the
    network ends in a ReLU and cannot predict a negative value.
    """
    rng = np.random.default_rng([seed, 0])
    amplitude = rng.normal(0.6, 0.1, N_TERMS).round(3)
    frequency = rng.normal(1.0, 0.12, N_TERMS).round(3)
    phase = rng.normal(0.0, 1.0, N_TERMS).round(3)
    unlifted = Signal(tuple(amplitude), tuple(frequency), tuple(phase), offset=0.0)
    lowest = unlifted(np.linspace(X_MIN, X_MAX, 20_001)).min()
    offset = math.ceil((4 * NOISE_STD - lowest) * 100) / 100
    return Signal(tuple(amplitude), tuple(frequency), tuple(phase), offset=offset)


@functools.lru_cache(maxsize=4)
def _subset_order(size: int) -> np.ndarray:
    # Its own stream: which points a small training set holds never depends on a run's seed.
    return np.random.default_rng([DATA_SEED, 3]).permutation(size)


def training_subset(n_train: int, size: int = N_TRAIN) -> np.ndarray:
    """Indices (sorted) of the `n_train` of `size` training points a run on less data sees.

    The first n of one fixed permutation, so the sets are nested: the 100 points lie
    inside the 300, those inside the 1,000, and so on; the validation set never changes.
    """
    if not 1 <= n_train <= size:
        raise ValueError(f"n_train must be an integer in [1, {size}]; got {n_train!r}")
    return np.sort(_subset_order(size)[:n_train])


@dataclass(frozen=True)
class Dataset:
    """The split the models train and are judged on; arrays are 1-D float32 and read-only."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    signal: Signal
    noise_std: float

    @property
    def noise_floor(self) -> float:
        """The MSE a model that knew the clean curve exactly would score on average."""
        return self.noise_std**2

    def training_points(self, n_train: int) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the nested training subset of size `n_train` (all of it from its size on)."""
        if n_train >= self.x_train.size:
            return self.x_train, self.y_train
        index = training_subset(n_train, self.x_train.size)
        return _frozen(self.x_train[index]), _frozen(self.y_train[index])


def _frozen(values: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.float32)
    array.flags.writeable = False
    return array


def split_indices(n_points: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training, validation) indices: exactly scikit-learn's `train_test_split`.

    scikit-learn draws one `RandomState(seed).permutation(n)` and takes the first
    ceil(fraction·n) indices for the test part and the next ones for training; we do the
    same in numpy, so a training worker need not import scikit-learn and SciPy (about
    150 MB of memory) to build the data set. `tests/test_data.py` checks the two agree.
    """
    n_val = math.ceil(val_fraction * n_points)
    order = np.random.RandomState(seed).permutation(n_points)
    return order[n_val:], order[:n_val]


@functools.lru_cache(maxsize=4)
def make_dataset(
    n_points: int = N_POINTS,
    noise_std: float = NOISE_STD,
    val_fraction: float = VAL_FRACTION,
    seed: int = DATA_SEED,
) -> Dataset:
    """Sample the signal at evenly spaced x in [0, 20], add noise, split 80/20."""
    signal = make_signal(seed)
    x = np.linspace(X_MIN, X_MAX, n_points)
    noise = np.random.default_rng([seed, 1]).normal(0.0, noise_std, n_points)
    y = signal(x) + noise
    train, val = split_indices(n_points, val_fraction, SPLIT_SEED)
    return Dataset(
        _frozen(x[train]), _frozen(y[train]), _frozen(x[val]), _frozen(y[val]), signal, noise_std
    )
