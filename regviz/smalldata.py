"""The small-data sweeps in numbers: where L2 and dropout help, by how much, and up to which n.

With all 8,000 training points the network barely overfits, so every λ and p can
only cost accuracy. The small-data sweeps train the same network on nested subsets
of n points (`regviz.registry.SMALL_DATA`) with the same number of optimiser steps,
three seeds per setting. This module turns those runs into the tables the page's
section 7 draws and the verdict grades; numpy and pandas only, no Streamlit.

Two numbers per run: the validation MSE (`final_val_mse`, the mean over the last
10 % of the recorded epochs, as everywhere on the page) and the training MSE on the
run's own n points with dropout off (`train_mse_eval`, measured once with the final
weights). "Paired" comparisons match seeds: the same seed shares the initialisation,
the minibatch order and the training subset, so a setting's seed s is compared with
the unregularised seed s, not with the unregularised mean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from regviz import lazy
from regviz.config import SEEDS, RunConfig
from regviz.registry import SMALL_DATA, SMALL_DATA_N, Sweep
from regviz.summary import Stats
from regviz.views import RunView

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy.module("pandas")

#: The regularisers of the small-data sweeps: L2 strength λ, dropout probability p.
KINDS = ("l2", "p")
#: Validation MSE: the mean of the last 10 % of recorded epochs.
VAL = "final_val_mse"
#: Training MSE on the run's own n points, dropout off, final weights.
TRAIN = "train_mse_eval"
KIND_NAMES = {"l2": "L2", "p": "dropout"}


@dataclass(frozen=True)
class BestSetting:
    """The regularised setting (value > 0) with the lowest mean validation MSE at one n.

    `val`: its validation MSE over seeds; `baseline`: the same n without regularisation;
    `paired_wins`: seeds on which it beats the unregularised run of the same seed, out of
    `seeds` paired seeds; `improvement`: 1 − val.mean / baseline.mean, the fraction of the
    unregularised validation MSE it removes (negative when even the best value is worse).
    """

    n: int
    kind: str
    value: float
    val: Stats
    baseline: Stats
    paired_wins: int
    seeds: int
    improvement: float

    @property
    def beats_on_every_seed(self) -> bool:
        return self.seeds > 0 and self.paired_wins == self.seeds

    @property
    def symbol(self) -> str:
        return sweep(self.kind, self.n).symbol

    @property
    def label(self) -> str:
        """'λ = 0.001': the best value as the page writes it."""
        return sweep(self.kind, self.n).label(self.value)


def sweep(kind: str, n: int) -> Sweep:
    """The stored sweep of regulariser `kind` ("l2" or "p") on n training points."""
    if kind not in KINDS:
        raise KeyError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    return SMALL_DATA[(kind, n)]


def values(kind: str) -> tuple[float, ...]:
    """The values every n was trained with (p = 1 only exists on the full data; it is left out)."""
    common = [set(sweep(kind, n).values) for n in SMALL_DATA_N]
    return tuple(v for v in sweep(kind, SMALL_DATA_N[0]).values if all(v in s for s in common))


def value_label(kind: str, value: float) -> str:
    return sweep(kind, SMALL_DATA_N[0]).label(value)


def n_label(n: int) -> str:
    return f"n = {n:,}"


def per_seed(runs: Mapping[str, RunView], config: RunConfig, metric: str) -> dict[int, float]:
    """Seed → the metric, for the seeds of `config`'s setting that are stored and finite."""
    out = {}
    for seed in SEEDS:
        view = runs.get(config.with_seed(seed).run_id)
        if view is not None and np.isfinite(view.metrics.get(metric, np.nan)):
            out[seed] = float(view.metrics[metric])
    return out


def _stats(by_seed: Mapping[int, float]) -> Stats:
    if not by_seed:
        return Stats(float("nan"), float("nan"), float("nan"), 0)
    values_ = np.array(list(by_seed.values()), dtype=float)
    return Stats(float(values_.mean()), float(values_.min()), float(values_.max()), values_.size)


def paired(setting: Mapping[int, float], baseline: Mapping[int, float]) -> tuple[int, int]:
    """(seeds on which `setting` is strictly below `baseline`, seeds both have)."""
    shared = sorted(set(setting) & set(baseline))
    return sum(setting[s] < baseline[s] for s in shared), len(shared)


def settings_table(runs: Mapping[str, RunView], kind: str) -> pd.DataFrame:
    """One row per (n, value) with at least one stored run, n ascending, values in sweep order.

    Columns: n, kind, value, label, seeds; val_mean/_low/_high and train_mean/_low/_high
    (see the module's docstring for the two metrics); base_mean, the same n's
    unregularised validation MSE; ratio = val_mean / base_mean; paired_wins and
    paired_seeds against the unregularised run of the same seed (0 and 0 for value 0).
    """
    rows = []
    for n in SMALL_DATA_N:
        swept = sweep(kind, n)
        base = per_seed(runs, swept.config(0.0), VAL)
        base_stats = _stats(base)
        for value in values(kind):
            config = swept.config(value)
            val = per_seed(runs, config, VAL)
            if not val:
                continue
            train = _stats(per_seed(runs, config, TRAIN))
            val_stats = _stats(val)
            wins, shared = paired(val, base) if value else (0, 0)
            rows.append(
                {
                    "n": n,
                    "kind": kind,
                    "value": value,
                    "label": swept.label(value),
                    "seeds": val_stats.n,
                    "val_mean": val_stats.mean,
                    "val_low": val_stats.low,
                    "val_high": val_stats.high,
                    "train_mean": train.mean,
                    "train_low": train.low,
                    "train_high": train.high,
                    "base_mean": base_stats.mean,
                    "ratio": val_stats.mean / base_stats.mean if base_stats.n else float("nan"),
                    "paired_wins": wins,
                    "paired_seeds": shared,
                }
            )
    columns = [
        "n",
        "kind",
        "value",
        "label",
        "seeds",
        "val_mean",
        "val_low",
        "val_high",
        "train_mean",
        "train_low",
        "train_high",
        "base_mean",
        "ratio",
        "paired_wins",
        "paired_seeds",
    ]
    return pd.DataFrame(rows, columns=columns)


def curve_table(runs: Mapping[str, RunView], kind: str) -> pd.DataFrame:
    """Long form for the curves: x (value label), n (label), split, mean, low, high.

    `split` is "validation" or "training"; one row per (n, value, split).
    """
    table = settings_table(runs, kind)
    parts = []
    for split, prefix in (("validation", "val"), ("training", "train")):
        parts.append(
            pd.DataFrame(
                {
                    "x": table["label"],
                    "n": [n_label(n) for n in table["n"]],
                    "split": split,
                    "mean": table[f"{prefix}_mean"],
                    "low": table[f"{prefix}_low"],
                    "high": table[f"{prefix}_high"],
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    return out[np.isfinite(out["mean"].to_numpy(dtype=float))].reset_index(drop=True)


def heatmap_table(runs: Mapping[str, RunView], kind: str) -> pd.DataFrame:
    """One cell per (n, value): the validation MSE relative to the same n without regularisation.

    Columns: x (value label), y (n label), ratio (mean validation MSE / the same n's
    unregularised mean; below 1: the value helps), mse, base, wins ("2/3"), every
    (True where a value > 0 beats no regularisation on every paired seed), text
    (the ratio as a cell label). Relative to each n, because the raw MSE falls so much
    with n that one colour scale would show only the data size.
    """
    table = settings_table(runs, kind)
    table = table[np.isfinite(table["ratio"].to_numpy(dtype=float))]
    return pd.DataFrame(
        {
            "x": table["label"].to_numpy(),
            "y": [n_label(n) for n in table["n"]],
            "ratio": table["ratio"].to_numpy(dtype=float),
            "mse": table["val_mean"].to_numpy(dtype=float),
            "base": table["base_mean"].to_numpy(dtype=float),
            "wins": [
                f"{w}/{s}" if v else "baseline"
                for w, s, v in zip(
                    table["paired_wins"], table["paired_seeds"], table["value"], strict=True
                )
            ],
            "every": (
                (table["value"] > 0)
                & (table["paired_seeds"] > 0)
                & (table["paired_wins"] == table["paired_seeds"])
            ).to_numpy(),
            "text": [f"{r:.2f}" for r in table["ratio"]],
        }
    )


def best_by_n(runs: Mapping[str, RunView], kind: str) -> list[BestSetting]:
    """For each n with stored runs (ascending), the value > 0 with the lowest mean validation MSE.

    Ties go to the smaller value. An n without its unregularised runs or without any
    regularised run is left out.
    """
    table = settings_table(runs, kind)
    out = []
    for n in SMALL_DATA_N:
        rows = table[(table["n"] == n) & (table["value"] > 0)]
        base = per_seed(runs, sweep(kind, n).config(0.0), VAL)
        if rows.empty or not base:
            continue
        row = rows.sort_values(["val_mean", "value"], kind="stable").iloc[0]
        value = float(row["value"])
        val = per_seed(runs, sweep(kind, n).config(value), VAL)
        wins, shared = paired(val, base)
        val_stats, base_stats = _stats(val), _stats(base)
        out.append(
            BestSetting(
                n=n,
                kind=kind,
                value=value,
                val=val_stats,
                baseline=base_stats,
                paired_wins=wins,
                seeds=shared,
                improvement=1.0 - val_stats.mean / base_stats.mean,
            )
        )
    return out


def every_seed_winners(runs: Mapping[str, RunView], kind: str) -> dict[int, list[float]]:
    """n → the values > 0 that beat no regularisation on every paired seed (n with runs only)."""
    table = settings_table(runs, kind)
    out: dict[int, list[float]] = {}
    for n, rows in table.groupby("n", sort=True):
        won = rows[
            (rows["value"] > 0)
            & (rows["paired_seeds"] > 0)
            & (rows["paired_wins"] == rows["paired_seeds"])
        ]
        out[int(n)] = [float(v) for v in won["value"]]
    return out


def stops_helping(runs: Mapping[str, RunView], kind: str) -> int | None:
    """The smallest n from which on no value > 0 beats none on every seed.

    None when even the largest stored n has such a value (or no n has runs): within the
    stored sizes, regularisation never stops helping by this rule.
    """
    winners = every_seed_winners(runs, kind)
    answer = None
    for n in sorted(winners, reverse=True):
        if winners[n]:
            break
        answer = n
    return answer


def best_table(best: Sequence[BestSetting]) -> pd.DataFrame:
    """The page's best-per-n table: one row per (kind, n)."""
    rows = []
    for b in best:
        swept = sweep(b.kind, b.n)
        rows.append(
            {
                "regulariser": KIND_NAMES[b.kind],
                "n": b.n,
                "best value": swept.label(b.value),
                "validation MSE": b.val.mean,
                "range over seeds": f"{b.val.low:.3f}–{b.val.high:.3f}",
                "without regularisation": b.baseline.mean,
                "improvement": b.improvement,
                "seeds it wins": f"{b.paired_wins} of {b.seeds}",
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Budget:
    """How a run on n points is trained: epochs and optimiser steps."""

    n: int
    epochs: int
    steps_per_epoch: int

    @property
    def steps(self) -> int:
        return self.epochs * self.steps_per_epoch


def budgets(runs: Mapping[str, RunView] | None = None) -> list[Budget]:
    """Per n, the epochs its stored runs were trained for (the config's when none is stored)."""
    out = []
    for n in SMALL_DATA_N:
        config = sweep("l2", n).config(0.0)
        if runs is not None:
            view = runs.get(config.run_id)
            config = view.config if view is not None else config
        out.append(Budget(n, int(config.epochs), -(-n // config.batch_size)))
    return out


def gap(runs: Mapping[str, RunView], n: int) -> tuple[Stats, Stats]:
    """(training, validation) MSE of the unregularised runs on n points."""
    config = sweep("l2", n).config(0.0)
    return _stats(per_seed(runs, config, TRAIN)), _stats(per_seed(runs, config, VAL))


def widest_gap(runs: Mapping[str, RunView]) -> int | None:
    """The n whose unregularised runs end with the widest validation − training gap."""
    gaps = {}
    for n in SMALL_DATA_N:
        train, val = gap(runs, n)
        if train.n and val.n:
            gaps[n] = val.mean - train.mean
    return max(gaps, key=gaps.get) if gaps else None


def train_cost(runs: Mapping[str, RunView], kind: str, n: int, value: float) -> float:
    """How much `value` raises the mean training MSE (dropout off) at n over no regularisation."""
    swept = sweep(kind, n)
    with_value = _stats(per_seed(runs, swept.config(value), TRAIN))
    without = _stats(per_seed(runs, swept.config(0.0), TRAIN))
    return with_value.mean - without.mean


__all__ = [
    "KINDS",
    "TRAIN",
    "VAL",
    "BestSetting",
    "Budget",
    "best_by_n",
    "best_table",
    "budgets",
    "curve_table",
    "every_seed_winners",
    "gap",
    "heatmap_table",
    "n_label",
    "paired",
    "per_seed",
    "settings_table",
    "stops_helping",
    "sweep",
    "train_cost",
    "value_label",
    "values",
    "widest_gap",
]
