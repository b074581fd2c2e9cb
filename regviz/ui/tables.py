"""The page's tables: stored runs reshaped into the long, thin frames the charts draw.

Pure numpy and pandas, no Streamlit, so every number the page shows can be
tested without a browser. Tables stay small on purpose: at most ~200 points per
curve, densities only over the range where something is visible, a subsample of
the scatter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from regviz import lazy
from regviz.data import NOISE_STD
from regviz.layout import HIDDEN, LEAKY_SLOPE, N_HIDDEN_LAYERS, PARAMETER_LAYOUT
from regviz.summary import curve_stats
from regviz.views import PREDICTION_GRID, SNAPSHOT_GRID, RunView

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy.module("pandas")

#: At most this many points per curve (the 401-point prediction grid halves to 201).
MAX_CURVE_POINTS = 201
#: Thin context lines and faint seeds need less detail than the bold focused curve.
FAINT_CURVE_POINTS = 101
#: Loss curves: at most this many epochs per line.
LOSS_POINTS = 60
SCATTER_POINTS = 300
#: The network's widths, input to output.
WIDTHS = (1, *([HIDDEN] * N_HIDDEN_LAYERS), 1)

#: Columns of one piece of a table: arrays, or a scalar that holds for the whole piece.
Block = dict[str, object]


# --- tables for charts ---------------------------------------------------------


def stride(length: int, max_points: int = MAX_CURVE_POINTS) -> int:
    return max(1, math.ceil(length / max_points))


def loss_table(
    groups: Sequence[tuple[str, Sequence[RunView]]], max_points: int = MAX_CURVE_POINTS
) -> pd.DataFrame:
    """setting, split, epoch, mean, low, high: per-epoch MSE across each group's seeds."""
    blocks = []
    for label, views in groups:
        if not views:
            continue
        length = min(len(v.val_loss) for v in views)
        step = stride(length, max_points)
        index = np.unique(np.r_[np.arange(0, length, step), length - 1])
        epochs = views[0].epoch_numbers[:length]
        for split, attribute in (("training", "train_loss"), ("validation", "val_loss")):
            mean, low, high = curve_stats([getattr(v, attribute)[:length] for v in views])
            blocks.append(
                {
                    "setting": label,
                    "split": split,
                    "epoch": np.asarray(epochs)[index],
                    "mean": mean[index].astype(np.float32),
                    "low": low[index].astype(np.float32),
                    "high": high[index].astype(np.float32),
                }
            )
    return stack_blocks(blocks, ["setting", "split", "epoch", "mean", "low", "high"])


def loss_tables(
    groups: Sequence[tuple[str, Sequence[RunView]]],
) -> tuple[pd.DataFrame, dict[str, dict[str, pd.DataFrame]]]:
    """The loss chart's static context (every setting's mean) and each setting's focus tables.

    Context lines are faint and get LOSS_POINTS per line; the focused setting's bold
    line ("main") and its seed band ("band") get MAX_CURVE_POINTS.
    """
    context = loss_table(groups, LOSS_POINTS)[["setting", "split", "epoch", "mean"]]
    focus = {}
    for label, views in groups:
        table = loss_table([(label, views)])
        focus[label] = {
            "main": table[["setting", "split", "epoch", "mean"]],
            "band": table[["setting", "split", "epoch", "low", "high"]],
        }
    return context, focus


def curve_at(view: RunView, epoch: int | None, max_points: int) -> pd.DataFrame:
    """x, y of a run's prediction after `epoch` (None: the end of training), thinned."""
    return pd.DataFrame(_curve_block(view, epoch, max_points))


def _curve_block(view: RunView, epoch: int | None, max_points: int) -> Block:
    if epoch is None:
        x, y = PREDICTION_GRID, np.asarray(view.prediction)
    else:
        row = view.snapshot_epochs.index(epoch)
        x, y = SNAPSHOT_GRID, np.asarray(view.snapshots["prediction"][row])
    step = stride(x.size, max_points)
    return {"x": x[::step].astype(np.float32), "y": y[::step].astype(np.float32)}


def prediction_tables(
    groups: Sequence[tuple[str, Sequence[RunView]]], epoch: int | None = None
) -> tuple[pd.DataFrame, dict[str, dict[str, pd.DataFrame]]]:
    """The prediction chart's context (each setting's first seed, thin) and focus tables.

    Focus tables: "main", the first seed with MAX_CURVE_POINTS; "seeds", the others
    with FAINT_CURVE_POINTS, one `line` each.
    """
    context = stack_blocks(
        [
            {**_curve_block(views[0], epoch, FAINT_CURVE_POINTS), "setting": label}
            for label, views in groups
            if views
        ],
        ["setting", "x", "y"],
    )
    focus = {}
    for label, views in groups:
        if not views:
            continue
        main = {**_curve_block(views[0], epoch, MAX_CURVE_POINTS), "setting": label}
        seeds = [
            {
                **_curve_block(view, epoch, FAINT_CURVE_POINTS),
                "setting": label,
                "line": f"{label}, seed {view.config.seed}",
            }
            for view in views[1:]
        ]
        focus[label] = {
            "main": stack_blocks([main], ["setting", "x", "y"]),
            "seeds": stack_blocks(seeds, ["setting", "line", "x", "y"]),
        }
    return context, focus


def prediction_table(groups: Sequence[tuple[str, Sequence[RunView]]]) -> pd.DataFrame:
    """setting, line, role, rank, x, y: every seed's prediction on a thinned grid.

    rank 0 is a group's first seed (drawn bold when its setting is in focus) and keeps
    MAX_CURVE_POINTS; the other seeds are only ever faint and get FAINT_CURVE_POINTS.
    """
    blocks = []
    for label, views in groups:
        for rank, view in enumerate(views):
            step = stride(
                PREDICTION_GRID.size, MAX_CURVE_POINTS if rank == 0 else FAINT_CURVE_POINTS
            )
            blocks.append(
                {
                    "setting": label,
                    "line": f"{label}, seed {view.config.seed}",
                    "role": "curve",
                    "rank": np.int8(rank),
                    "x": PREDICTION_GRID[::step].astype(np.float32),
                    "y": np.asarray(view.prediction)[::step].astype(np.float32),
                }
            )
    return stack_blocks(blocks, ["setting", "line", "role", "rank", "x", "y"])


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
    """x, mean, low, high, p_low, p_high, sample, eval: the dropout band, or None without one.

    low/high are mean ∓ 2σ of the passes with dropout on, p_low/p_high their 2.5 and
    97.5 percentiles, sample one such pass, eval the prediction with dropout off.
    """
    mc = view.mc
    if not {"mean", "std", "low", "high", "sample"} <= set(mc):
        return None
    step = stride(PREDICTION_GRID.size)
    mean = np.asarray(mc["mean"])[::step]
    std = np.asarray(mc["std"])[::step]
    columns = {
        "x": PREDICTION_GRID[::step],
        "mean": mean,
        "low": mean - 2 * std,
        "high": mean + 2 * std,
        "p_low": np.asarray(mc["low"])[::step],
        "p_high": np.asarray(mc["high"])[::step],
        "sample": np.asarray(mc["sample"])[::step],
        "eval": np.asarray(view.prediction)[::step],
    }
    return pd.DataFrame({name: np.asarray(v, dtype=np.float32) for name, v in columns.items()})


def history_table(train: Sequence[float], val: Sequence[float]) -> pd.DataFrame:
    """epoch, split, loss of a run in progress (for the live chart), thinned to ≤ 200 epochs."""
    n = min(len(train), len(val))
    index = np.arange(n)[:: stride(n)] if n else np.arange(0)
    if n and index[-1] != n - 1:
        index = np.r_[index, n - 1]
    blocks = [
        {"epoch": index + 1, "split": split, "loss": np.asarray(values)[index]}
        for split, values in (("training", train), ("validation", val))
    ]
    return stack_blocks(blocks, ["epoch", "split", "loss"])


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


def noise_floor() -> float:
    return NOISE_STD**2


def stack_blocks(blocks: Sequence[Block], columns: list[str]) -> pd.DataFrame:
    """One frame from column blocks; text columns become categoricals (dictionary-encoded).

    Building one DataFrame per curve and concatenating them cost most of the first
    screen's table time; stacking the columns with numpy builds each frame once.
    """
    if not blocks:
        return pd.DataFrame({column: [] for column in columns})
    lengths = [_block_length(block) for block in blocks]
    data = {}
    for column in columns:
        values = [block[column] for block in blocks]
        if all(isinstance(value, str) for value in values):
            categories = sorted(set(values))
            codes = np.repeat([categories.index(value) for value in values], lengths)
            data[column] = pd.Categorical.from_codes(codes, categories)
            continue
        stacked = np.concatenate(
            [
                np.asarray(value) if np.ndim(value) else np.full(length, value)
                for value, length in zip(values, lengths, strict=True)
            ]
        )
        if stacked.dtype.kind in "OUS":
            data[column] = pd.Categorical(stacked)
        else:
            data[column] = stacked
    return pd.DataFrame(data)


def _block_length(block: Block) -> int:
    return next(len(value) for value in block.values() if np.ndim(value))  # type: ignore[arg-type]
