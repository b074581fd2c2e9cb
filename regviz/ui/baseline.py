"""Section 4: the unregularised network, the reference every other setting is read against."""

from __future__ import annotations

import numpy as np
import streamlit as st

from regviz.config import RunConfig
from regviz.data import N_TRAIN, hard_region
from regviz.summary import metric_stats
from regviz.ui import densities, findings, ready, resources, settings, show, sweeps, tables
from regviz.views import SNAPSHOT_GRID, RunView

LABEL = "no regularisation"
BEFORE, AFTER = "before training", "after training"
#: The snapshot at which the prose compares how far each region has come.
PROGRESS_EPOCH = 50


@ready.cached
def _charts(directory: str, options: densities.DensityOptions):
    pre = resources.pretrained(directory)
    views = settings.seed_views(pre.runs, RunConfig())
    if not views:
        return None
    groups = [(AFTER, views)]
    if all(0 in v.snapshot_epochs for v in views):
        groups.append((BEFORE, [densities.at_epoch(v, 0) for v in views]))
    return sweeps.group_charts(
        directory,
        groups,
        options,
        title="Prediction over the data",
        subtitle="bold: seed 0; faint: the other seeds; dotted: the clean signal; shaded: the "
        "hard region",
        references=[BEFORE],
    )


def draw(directory: str) -> None:
    st.header("4. The unregularised baseline", anchor="baseline")
    st.markdown(
        "First the network with no regularisation at all. Each view shows the three seeds: "
        "the loss as the mean with a band from the best to the worst seed, the prediction as "
        "one bold line with the other seeds faint behind it, the density of the weights "
        "after training (solid) and at initialisation (dashed)."
    )
    figures = _charts(directory, sweeps.density_options())
    if figures is None:
        show.missing("The baseline")
        return
    show.three_views(*figures)
    _story(directory)


def region_errors(views: list[RunView], clean: np.ndarray) -> dict[str, np.ndarray] | None:
    """Squared error against the clean signal at each snapshot, smooth part and hard region.

    Averaged over the seeds; one value per entry of the runs' snapshot epochs.
    """
    if not views or not views[0].snapshot_epochs:
        return None
    hard = hard_region(SNAPSHOT_GRID)
    rows = range(len(views[0].snapshot_epochs))
    return {
        name: np.mean(
            [
                [np.mean((v.snapshots["prediction"][r][m] - clean[m]) ** 2) for r in rows]
                for v in views
            ],
            axis=0,
        )
        for name, m in (("smooth", ~hard), ("hard", hard))
    }


def _over_training(views: list[RunView], clean: np.ndarray) -> str:
    errors = region_errors(views, clean)
    if errors is None:
        return ""
    epochs = views[0].snapshot_epochs
    row = epochs.index(PROGRESS_EPOCH) if PROGRESS_EPOCH in epochs else len(epochs) // 2
    smooth, hard = errors["smooth"], errors["hard"]
    smooth_left, hard_left = smooth[row] / smooth[-1], hard[row] / hard[-1]
    later = hard_left > smooth_left
    return (
        f" Against the clean signal, the smooth part's squared error falls from "
        f"{smooth[0]:.3g} at initialisation to {smooth[-1]:.2g} after epoch {epochs[-1]}, the "
        f"hard region's from {hard[0]:.3g} to {hard[-1]:.2g}, {hard[-1] / smooth[-1]:.1f}× the "
        f"smooth part's. After epoch {epochs[row]} they were {smooth_left:.1f}× and "
        f"{hard_left:.1f}× their final values, "
        + (
            "so the fast wiggle is fitted last."
            if later
            else "so the fast wiggle is not fitted last: its error stops falling earlier, at a "
            "worse level."
        )
    )


def _story(directory: str) -> None:
    pre = resources.pretrained(directory)
    views = settings.seed_views(pre.runs, RunConfig())
    train = metric_stats(views, "final_train_mse")
    val = metric_stats(views, findings.FINAL)
    hard, easy = metric_stats(views, "hard_region_mse"), metric_stats(views, "easy_region_mse")
    best = metric_stats(views, "best_epoch")
    floor = tables.noise_floor()
    gap = val.mean - train.mean
    if abs(gap) < 0.2 * val.mean:
        reading = (
            f"small: with {N_TRAIN:,} points on one input axis there is little room to memorise "
            "noise, so in the sweeps below the failures we see are mostly of the other kind, a "
            "model too stiff to follow the signal (section 7 takes data away to see when that "
            "changes)."
        )
    else:
        reading = "large: the network has learned some of the noise in its training points."
    text = (
        f"Over the last 10 of its {views[0].config.epochs} epochs the validation MSE averages "
        f"{val.format()} (mean, with the range over {val.n} seeds), {val.mean / floor:.1f}× "
        f"the noise floor σ², and the training MSE {train.format()}. The gap between them, "
        f"{gap:+.3g}, is {reading} The best single epoch came at epoch {best.format(3)}. "
        f"Away from x = 11 the validation error is {easy.mean:.3g} ({easy.mean / floor:.1f}× "
        f"the floor); near x = 11 it is {hard.format()}, {hard.mean / easy.mean:.1f}× that."
    )
    if pre.data is not None and "signal" in pre.data:
        text += _over_training(views, np.asarray(pre.data["signal"], dtype=np.float64)[::2])
    before = [densities.at_epoch(v, 0) for v in views if 0 in v.snapshot_epochs]
    if before:
        spread_before = float(np.mean([np.std(_weights(v)) for v in before]))
        spread_after = float(np.mean([np.std(_weights(v)) for v in views]))
        text += (
            f"\n\nTraining moves the weights a long way from their uniform start: their "
            f"standard deviation goes from {spread_before:.3g} to {spread_after:.3g}."
        )
    st.markdown(text)


def _weights(view: RunView) -> np.ndarray:
    """The weights' values as binned (bin centres repeated by count): enough for a spread."""
    from regviz.density import VALUE_CENTRES

    return np.repeat(VALUE_CENTRES, np.asarray(view.weight_counts, dtype=np.int64))
