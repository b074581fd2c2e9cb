"""The optimiser's part: the L2 sweep trained with Adam and again with plain SGD.

Same data, model, seeds, λ values and number of steps; only the optimiser differs
(SGD with momentum, at the learning rate `regviz.registry.SGD_LR`). The near-zero
share of the weights per λ shows how much of L2's spike Adam's rescaling makes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from regviz import charts, lazy
from regviz.analysis import NEAR_ZERO
from regviz.registry import SGD_LR, SGD_MOMENTUM, SWEEPS
from regviz.summary import metric_stats
from regviz.ui import findings, overtime, pair, resources, settings, show, sweeps

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy.module("pandas")

SERIES = {"l2": "Adam", "sgd": f"SGD (lr {SGD_LR:g}, momentum {SGD_MOMENTUM:g})"}


def near_zero_table(runs) -> pd.DataFrame:
    """x (λ), series (optimiser), mean/low/high share of weights within NEAR_ZERO of zero."""
    rows = []
    for kind, series in SERIES.items():
        sweep = SWEEPS[kind]
        for value in sweep.values:
            stats = metric_stats(
                settings.seed_views(runs, sweep.config(value)), "weight_fraction_near_zero"
            )
            if stats.n:
                rows.append(
                    {
                        "x": f"{value:g}",
                        "series": series,
                        "mean": stats.mean,
                        "low": stats.low,
                        "high": stats.high,
                    }
                )
    return pd.DataFrame(rows, columns=["x", "series", "mean", "low", "high"])


@st.cache_resource(show_spinner=False)
def _near_zero_chart(directory: str):
    table = near_zero_table(resources.pretrained(directory).runs)
    if table.empty:
        return None
    chart = charts.metric_lines(
        table,
        x_order=[f"{v:g}" for v in SWEEPS["l2"].values],
        series_order=list(SERIES.values()),
        x_title="λ",
        y_title=f"weights within {NEAR_ZERO:g} of zero",
        percent=True,
        title="How many weights end near zero, Adam against SGD",
        subtitle="mean over three seeds; band: lowest to highest seed",
    )
    return charts.to_spec(chart)


def draw(directory: str, focus: float, epoch: int) -> None:
    runs = resources.pretrained(directory).runs
    st.markdown(
        "The same λ sweep trained a second time with plain stochastic gradient descent "
        f"(momentum {SGD_MOMENTUM:g}) instead of Adam: same data, network, seeds, batches "
        "and number of steps. With SGD the L2 penalty is classic weight decay: each step "
        "shrinks every weight by a fraction proportional to λ. Adam instead rescales each "
        "weight's step by the size of its recent gradients."
    )
    st.markdown(_learning_rate_note(runs))
    figure = _near_zero_chart(directory)
    if figure is None:
        show.missing("The SGD sweep")
        return
    show.chart(figure)
    st.markdown(_spike_share(runs))
    st.markdown(
        f"**At λ = {focus:g}**, the three views with Adam (A) and with SGD (B). Pick another "
        "λ with the slider above."
    )
    pair.draw(directory, SWEEPS["l2"].token(focus), SWEEPS["sgd"].token(focus))
    st.markdown(
        "**The whole λ sweep with SGD**, at the epoch the L2 section's control shows, and "
        "how the focused setting's weights spread out over training."
    )
    sweeps.draw_views(directory, "sgd", focus, epoch)
    overtime.draw(directory, "sgd", focus)


def _learning_rate_note(runs) -> str:
    adam = findings.setting_stats(runs, "l2", 0.0, findings.FINAL)
    sgd = findings.setting_stats(runs, "sgd", 0.0, findings.FINAL)
    if not (adam.n and sgd.n):
        return ""
    return (
        f"**The learning rate.** We tried a grid of SGD learning rates, with and without "
        "momentum, on the unregularised network and kept the one whose fit came closest to "
        "Adam's (`python -m benchmarks.sgd_lr` repeats the search): "
        f"lr = {SGD_LR:g} with momentum {SGD_MOMENTUM:g}. Without L2 it reaches a validation "
        f"MSE of {sgd.format()} over the last 10 epochs, against {adam.format()} with Adam"
        + (
            ", so SGD's fits are comparable but worse; read its curves with that in mind."
            if sgd.mean > 1.2 * adam.mean
            else "."
        )
    )


def _spike_share(runs) -> str:
    adam = findings.stats_by_value(runs, "l2", "weight_fraction_near_zero")
    sgd = findings.stats_by_value(runs, "sgd", "weight_fraction_near_zero")
    small = [v for v in sorted(adam) if 0 < v <= 1e-3 and v in sgd]
    if not small or 0.0 not in adam or 0.0 not in sgd:
        return ""
    pairs = "; ".join(
        f"λ = {v:g}: {adam[v].mean:.1%} with Adam, {sgd[v].mean:.1%} with SGD" for v in small
    )
    extra = [adam[v].mean - adam[0.0].mean for v in small]
    extra_sgd = [sgd[v].mean - sgd[0.0].mean for v in small]
    share = [(a - s) / a if a > 0 else float("nan") for a, s in zip(extra, extra_sgd, strict=True)]
    return (
        f"**Whose spike?** Weights within {NEAR_ZERO:g} of zero, {pairs} (without L2: "
        f"{adam[0.0].mean:.1%} and {sgd[0.0].mean:.1%}). Of the near-zero weights that L2 "
        "adds at these small λ, "
        + ", ".join(f"{s:.0%}" for s in share)
        + " disappear when SGD replaces Adam: that part is the optimiser's doing, not the "
        "penalty's."
    )
