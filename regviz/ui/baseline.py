"""Section 4: the unregularised network, the reference every other setting is read against."""

from __future__ import annotations

import numpy as np
import streamlit as st

from regviz import charts
from regviz.config import RunConfig
from regviz.data import N_TRAIN
from regviz.summary import metric_stats
from regviz.ui import resources, show, sweeps, tables

LABEL = "no regularisation"
BEFORE, AFTER = "before training", "after training"


@st.cache_resource(show_spinner=False)
def _charts(directory: str, kde_scale: str):
    pre = resources.pretrained(directory)
    views = tables.seed_views(pre.runs, RunConfig())
    if not views:
        return None
    loss, prediction = sweeps.loss_and_prediction(
        directory,
        [(LABEL, views)],
        title="Prediction over the data",
        subtitle="bold: seed 0; faint: the other seeds; dotted: the clean signal",
    )
    density_groups = []
    inits = [pre.inits[v.config.seed]["kde/all"] for v in views if v.config.seed in pre.inits]
    if inits:
        density_groups.append((BEFORE, inits))
    density_groups.append((AFTER, [v.kde["all"] for v in views]))
    density = sweeps.density_chart(
        density_groups,
        order=[g[0] for g in density_groups],
        focus=None,
        kde_scale=kde_scale,
        title="Parameter density before and after training",
        ordered=False,
    )
    return tuple(charts.to_spec(figure) for figure in (loss, prediction, density))


def draw(directory: str) -> None:
    st.header("4. The unregularised baseline", anchor="baseline")
    st.markdown(
        "First the network with no regularisation at all. Each view shows the three seeds: "
        "the loss as the mean with a band from the best to the worst seed, the prediction as "
        "one bold line with the other seeds faint behind it."
    )
    figures = _charts(directory, sweeps.kde_scale())
    if figures is None:
        show.missing("The baseline")
        return
    loss, prediction, density = figures
    show.three_views(prediction, loss, density)
    _story(directory)


def _story(directory: str) -> None:
    pre = resources.pretrained(directory)
    views = tables.seed_views(pre.runs, RunConfig())
    train, val = metric_stats(views, "train_mse"), metric_stats(views, "val_mse")
    hard, easy = metric_stats(views, "hard_region_mse"), metric_stats(views, "easy_region_mse")
    best = metric_stats(views, "best_epoch")
    floor = tables.noise_floor()
    gap = val.mean - train.mean
    if abs(gap) < 0.2 * val.mean:
        reading = (
            f"small: with {N_TRAIN:,} points on one input axis there is little room to memorise "
            "noise, so in the sweeps below the failures we see are mostly of the other kind, a "
            "model too stiff to follow the signal."
        )
    else:
        reading = "large: the network has learned some of the noise in its training points."
    text = (
        f"After {views[0].config.epochs} epochs the validation MSE is {val.format()} "
        f"(mean, with the range over {val.n} seeds), {val.mean / floor:.1f}× the noise floor, "
        f"and the training MSE is {train.format()}. The gap between them, {gap:+.3g}, is "
        f"{reading} The best validation loss came at epoch {best.format(3)}. "
        f"Near x = 11 the error is {hard.format()}, {hard.mean / easy.mean:.1f}× the "
        f"{easy.mean:.3g} elsewhere: the fast wiggle is what the network fits last and worst."
    )
    inits = [pre.inits[v.config.seed]["parameters"] for v in views if v.config.seed in pre.inits]
    after = [v.parameters for v in views if v.parameters is not None]
    if inits and after:
        spread_before = float(np.mean([np.std(p) for p in inits]))
        spread_after = float(np.mean([np.std(p) for p in after]))
        text += (
            f"\n\nTraining moves the parameters a long way from their uniform start: their "
            f"standard deviation goes from {spread_before:.3g} to {spread_after:.3g}, and the "
            "flat-topped block of the initialisation becomes a peak with long tails."
        )
    st.markdown(text)
