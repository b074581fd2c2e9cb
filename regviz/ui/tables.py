"""The page's tables: stored runs reshaped into the long, thin frames the charts draw.

Pure numpy and pandas, no Streamlit, so every number the page shows can be
tested without a browser. Tables stay small on purpose: at most ~200 points per
curve, densities only over the range where something is visible, a subsample of
the scatter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from regviz.config import SEEDS, RunConfig
from regviz.data import HARD_CENTRE, HARD_HALF_WIDTH, NOISE_STD
from regviz.layout import HIDDEN, N_HIDDEN_LAYERS, PARAMETER_LAYOUT, parameter_slices
from regviz.summary import curve_stats
from regviz.urlstate import CUSTOM, SWEEPS, format_setting, split_setting
from regviz.views import KDE_GRID, PREDICTION_GRID, RunView

HARD_REGION = (HARD_CENTRE - HARD_HALF_WIDTH, HARD_CENTRE + HARD_HALF_WIDTH)
#: At most this many points per curve (the 401-point prediction grid halves to 201).
MAX_CURVE_POINTS = 201
#: The faint lines of a setting's other seeds need less detail than its bold first seed.
FAINT_CURVE_POINTS = 101
SCATTER_POINTS = 400
#: Densities below this are drawn at it (a log axis has no zero).
DENSITY_FLOOR = 1e-2
#: A density counts as visible above this share of its own peak.
VISIBLE_SHARE = 2e-3
#: The network's widths, input to output.
WIDTHS = (1, *([HIDDEN] * N_HIDDEN_LAYERS), 1)
#: Slope of the hidden layers' leaky ReLU (`regviz.model.LEAKY_SLOPE`; a test pins them).
LEAKY_SLOPE = 0.01

SYMBOL = {"l2": "λ", "p": "p", "l1": "λ₁", "wd": "decay"}
FIELD = {"l2": "l2", "p": "dropout", "l1": "l1", "wd": "weight_decay"}
SWEEP_NAME = {"l2": "L2", "p": "dropout", "l1": "L1", "wd": "AdamW weight decay"}


@dataclass(frozen=True)
class Setting:
    """One thing a reader can look at: a canonical setting (all its seeds) or a custom run."""

    token: str
    label: str
    config: RunConfig


def canonical(kind: str, value: float) -> Setting:
    """The canonical setting `value` of sweep `kind`; value 0 is the shared baseline."""
    config = RunConfig(**{FIELD[kind]: value}) if value else RunConfig()
    return Setting(format_setting(kind, value), f"{SYMBOL[kind]} = {value:g}", config)


def describe_config(config: RunConfig) -> str:
    """'λ = 0.003, p = 0.1, seed 0, 100 epochs': the settings that differ from none."""
    parts = [
        f"{SYMBOL[kind]} = {getattr(config, field):g}"
        for kind, field in FIELD.items()
        if getattr(config, field)
    ]
    parts = parts or ["no regularisation"]
    return ", ".join([*parts, f"seed {config.seed}", f"{config.epochs} epochs"])


def sweep(kind: str) -> list[Setting]:
    return [canonical(kind, value) for value in SWEEPS[kind][0]]


def comparable_settings() -> list[Setting]:
    """Every canonical setting once (the baseline under λ = 0), in page order."""
    settings = sweep("l2")
    for kind in ("p", "l1", "wd"):
        settings += [s for s in sweep(kind) if s.config != RunConfig()]
    return settings


def normalise_token(token: str) -> str:
    """'p:0' and 'l1:0' are the baseline, listed once as 'l2:0'."""
    if token == CUSTOM:
        return token
    _, value = split_setting(token)
    return token if value else format_setting("l2", 0.0)


def setting_from_token(token: str) -> Setting:
    kind, value = split_setting(normalise_token(token))
    return canonical(kind, value)


#: How far apart two settings look along each field: log10 for strengths (offset so
#: that 0 is a finite point below the smallest canonical value), linear for p.
_NEAR_OFFSET = {"l2": 1e-6, "l1": 1e-6, "weight_decay": 1e-3}


def _coordinates(config: RunConfig) -> np.ndarray:
    logs = [math.log10(getattr(config, f) + offset) for f, offset in _NEAR_OFFSET.items()]
    return np.array([*logs, 10 * config.dropout])


def nearest_setting(config: RunConfig) -> Setting:
    """The canonical setting closest to `config` (a decade of strength ~ 0.1 of p)."""
    target = _coordinates(config)
    return min(
        comparable_settings(),
        key=lambda s: float(np.abs(_coordinates(s.config) - target).sum()),
    )


def seed_views(runs: Mapping[str, RunView], config: RunConfig) -> list[RunView]:
    """The stored runs of a setting, one per seed that is present, in seed order."""
    found = (runs.get(config.with_seed(seed).run_id) for seed in SEEDS)
    return [view for view in found if view is not None]


# --- tables for charts ---------------------------------------------------------


def stride(length: int, max_points: int = MAX_CURVE_POINTS) -> int:
    return max(1, math.ceil(length / max_points))


def loss_table(groups: Sequence[tuple[str, Sequence[RunView]]]) -> pd.DataFrame:
    """setting, split, epoch, mean, low, high: per-epoch MSE across each group's seeds."""
    frames = []
    for label, views in groups:
        if not views:
            continue
        length = min(len(v.val_loss) for v in views)
        step = stride(length)
        index = np.unique(np.r_[np.arange(0, length, step), length - 1])
        for split, attribute in (("training", "train_loss"), ("validation", "val_loss")):
            mean, low, high = curve_stats([getattr(v, attribute)[:length] for v in views])
            frames.append(
                pd.DataFrame(
                    {
                        "setting": label,
                        "split": split,
                        "epoch": index + 1,
                        "mean": mean[index].astype(np.float32),
                        "low": low[index].astype(np.float32),
                        "high": high[index].astype(np.float32),
                    }
                )
            )
    return _concat(frames, ["setting", "split", "epoch", "mean", "low", "high"])


def prediction_table(groups: Sequence[tuple[str, Sequence[RunView]]]) -> pd.DataFrame:
    """setting, line, role, rank, x, y: every seed's prediction on a thinned grid.

    rank 0 is a group's first seed (drawn bold when its setting is in focus) and keeps
    MAX_CURVE_POINTS; the other seeds are only ever faint and get FAINT_CURVE_POINTS.
    """
    frames = []
    for label, views in groups:
        for rank, view in enumerate(views):
            step = stride(
                PREDICTION_GRID.size, MAX_CURVE_POINTS if rank == 0 else FAINT_CURVE_POINTS
            )
            frames.append(
                pd.DataFrame(
                    {
                        "setting": label,
                        "line": f"{label}, seed {view.config.seed}",
                        "role": "curve",
                        "rank": np.int8(rank),
                        "x": PREDICTION_GRID[::step].astype(np.float32),
                        "y": np.asarray(view.prediction)[::step].astype(np.float32),
                    }
                )
            )
    return _concat(frames, ["setting", "line", "role", "rank", "x", "y"])


@dataclass(frozen=True)
class DensityTable:
    """A KDE table plus the axis choices that make it readable."""

    table: pd.DataFrame
    clip: float
    floor: float
    x_domain: tuple[float, float]


def kde_table(
    groups: Sequence[tuple[str, Sequence[np.ndarray]]], references: Sequence[str] = ()
) -> DensityTable:
    """setting, line, role, rank, value, density over the visible range, seeds averaged.

    Averaging the seeds' densities gives the density of their pooled parameters.
    Groups named in `references` get role "reference" (drawn dashed).
    """
    curves = {label: np.mean(np.vstack(arrays), axis=0) for label, arrays in groups if len(arrays)}
    if not curves:
        empty = _concat([], ["setting", "line", "role", "rank", "value", "density"])
        return DensityTable(empty, 1.0, DENSITY_FLOOR, (-1.0, 1.0))
    low, high = _visible_range(curves.values())
    inside = np.flatnonzero((KDE_GRID >= low) & (KDE_GRID <= high))
    index = inside[:: stride(inside.size)]
    peaks = {int(np.argmax(curve)) for curve in curves.values()}
    index = np.unique(np.r_[index, [p for p in peaks if low <= KDE_GRID[p] <= high]])
    frames = []
    for label, curve in curves.items():
        frames.append(
            pd.DataFrame(
                {
                    "setting": label,
                    "line": label,
                    "role": "reference" if label in references else "curve",
                    "rank": np.int8(0),
                    "value": KDE_GRID[index].astype(np.float32),
                    "density": np.maximum(curve[index], DENSITY_FLOOR).astype(np.float32),
                }
            )
        )
    table = _concat(frames, ["setting", "line", "role", "rank", "value", "density"])
    return DensityTable(table, clip_height(curves.values()), DENSITY_FLOOR, (low, high))


def clip_height(curves: Sequence[np.ndarray] | object) -> float:
    """Where to cut the y axis so broad densities stay readable: twice the lowest peak."""
    peaks = np.array([float(np.max(c)) for c in curves])
    return float(min(peaks.max(), 2.0 * peaks.min()) * 1.05)


def _visible_range(curves) -> tuple[float, float]:
    low, high = math.inf, -math.inf
    for curve in curves:
        seen = np.flatnonzero(curve >= VISIBLE_SHARE * curve.max())
        low, high = min(low, KDE_GRID[seen[0]]), max(high, KDE_GRID[seen[-1]])
    pad = 0.05 * (high - low)
    low = max(float(KDE_GRID[0]), math.floor((low - pad) * 10) / 10)
    high = min(float(KDE_GRID[-1]), math.ceil((high + pad) * 10) / 10)
    return low, high


def sample_table(
    data: Mapping[str, np.ndarray], n: int | None = SCATTER_POINTS, with_split: bool = False
) -> pd.DataFrame:
    """x, y (and split) of the stored data sample, subsampled to `n` points (None: all)."""
    x, y = np.asarray(data["sample/x"]), np.asarray(data["sample/y"])
    is_train = np.asarray(data["sample/is_train"]).astype(bool)
    index = np.arange(x.size)
    if n is not None and n < x.size:
        index = np.sort(np.random.default_rng(0).choice(x.size, n, replace=False))
    table = pd.DataFrame({"x": x[index].astype(np.float32), "y": y[index].astype(np.float32)})
    if with_split:
        split = np.where(is_train[index], "training", "validation")
        table["split"] = pd.Categorical(split, categories=["training", "validation"])
    return table


def clean_table(data: Mapping[str, np.ndarray]) -> pd.DataFrame:
    step = stride(PREDICTION_GRID.size)
    return pd.DataFrame(
        {
            "x": PREDICTION_GRID[::step].astype(np.float32),
            "y": np.asarray(data["signal"])[::step].astype(np.float32),
        }
    )


def band_table(view: RunView) -> pd.DataFrame | None:
    """x, mean, low, high: the MC-dropout mean ± 2σ, or None for a run without dropout."""
    if view.mc_mean is None or view.mc_std is None:
        return None
    step = stride(PREDICTION_GRID.size)
    mean = np.asarray(view.mc_mean)[::step]
    std = np.asarray(view.mc_std)[::step]
    return pd.DataFrame(
        {
            "x": PREDICTION_GRID[::step].astype(np.float32),
            "mean": mean.astype(np.float32),
            "low": (mean - 2 * std).astype(np.float32),
            "high": (mean + 2 * std).astype(np.float32),
        }
    )


def history_table(train: Sequence[float], val: Sequence[float]) -> pd.DataFrame:
    """epoch, split, loss of a run in progress (for the live chart), thinned to ≤ 200 epochs."""
    n = min(len(train), len(val))
    index = np.arange(n)[:: stride(n)] if n else np.arange(0)
    if n and index[-1] != n - 1:
        index = np.r_[index, n - 1]
    frames = [
        pd.DataFrame({"epoch": index + 1, "split": split, "loss": np.asarray(values)[index]})
        for split, values in (("training", train), ("validation", val))
    ]
    return _concat(frames, ["epoch", "split", "loss"])


def architecture_table() -> pd.DataFrame:
    """One row per layer of the MLP, read from `regviz.layout`, with its parameter count."""
    rows = []
    layers = len(PARAMETER_LAYOUT) // 2
    for index in range(layers):
        (_, weight_shape), (_, bias_shape) = PARAMETER_LAYOUT[2 * index : 2 * index + 2]
        fan_out, fan_in = weight_shape
        hidden = index < layers - 1
        rows.append(
            {
                "layer": f"{index + 1}: linear {fan_in} → {fan_out}",
                "activation": f"LeakyReLU (slope {LEAKY_SLOPE:g})" if hidden else "ReLU",
                "then": "dropout (p)" if hidden else "output ŷ",
                "weights": fan_in * fan_out,
                "biases": bias_shape[0],
                "parameters": fan_in * fan_out + bias_shape[0],
            }
        )
    return pd.DataFrame(rows)


def layer_slices() -> dict[str, tuple[slice, slice]]:
    """'layer k' → (weights, biases) slices of the flat parameter vector."""
    where = list(parameter_slices().values())
    return {f"layer {k + 1}": (where[2 * k], where[2 * k + 1]) for k in range(len(where) // 2)}


BEFORE_SUFFIX = " · before"


def paired_kde_table(
    after: Sequence[tuple[str, Sequence[np.ndarray]]],
    before: Sequence[tuple[str, Sequence[np.ndarray]]],
) -> DensityTable:
    """Densities after training (solid) and before (dashed, same colour) for each group."""
    groups = [*after, *[(label + BEFORE_SUFFIX, arrays) for label, arrays in before]]
    dens = kde_table(groups, references=[label + BEFORE_SUFFIX for label, _ in before])
    table = dens.table.copy()
    table["setting"] = table["setting"].astype(str).str.removesuffix(BEFORE_SUFFIX)
    table["setting"] = table["setting"].astype("category")
    after_peaks = [float(np.max(np.mean(np.vstack(a), axis=0))) for _, a in after if len(a)]
    clip = clip_height([np.array([p]) for p in after_peaks]) if after_peaks else dens.clip
    return DensityTable(table, clip, dens.floor, dens.x_domain)


def noise_floor() -> float:
    return NOISE_STD**2


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """Stack frames; text columns become categoricals, which travel dictionary-encoded."""
    if not frames:
        return pd.DataFrame({column: [] for column in columns})
    table = pd.concat(frames, ignore_index=True)[columns]
    for column in columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            table[column] = table[column].astype("category")
    return table
