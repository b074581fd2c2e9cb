"""A sweep over training time: the focused setting's density against epoch, and layer norms.

In the spirit of TensorBoard's histogram dashboard: the distribution of the weights
after each stored epoch, one row per epoch, so a reader sees when a spike forms.
Beside it, ‖W_l‖_F of each layer against epoch for every setting of the sweep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from regviz import charts, lazy
from regviz.layout import PARAMETER_LAYOUT
from regviz.registry import SWEEPS
from regviz.ui import densities, resources, settings, show, sweeps
from regviz.views import RunView

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy.module("pandas")

#: Columns of `RunView.norms` for each layer's weights and biases.
WEIGHT_COLUMNS = {
    f"layer {i // 2 + 1}": i
    for i, (name, _) in enumerate(PARAMETER_LAYOUT)
    if name.endswith("weight")
}
BIAS_COLUMNS = {
    f"layer {i // 2 + 1}": i
    for i, (name, _) in enumerate(PARAMETER_LAYOUT)
    if name.endswith("bias")
}


def norm_table(groups: list[tuple[str, list[RunView]]], group: str) -> pd.DataFrame:
    """setting, layer, epoch, norm: each layer's norm per recorded epoch, mean over seeds."""
    columns = WEIGHT_COLUMNS if group == "weights" else BIAS_COLUMNS
    frames = []
    for label, views in groups:
        stored = [v for v in views if v.norms is not None]
        if not stored:
            continue
        norms = np.mean([v.norms for v in stored], axis=0)
        epochs = stored[0].norm_epochs
        for layer, column in columns.items():
            frames.append(
                pd.DataFrame(
                    {"setting": label, "layer": layer, "epoch": epochs, "norm": norms[:, column]}
                )
            )
    if not frames:
        return pd.DataFrame({"setting": [], "layer": [], "epoch": [], "norm": []})
    return pd.concat(frames, ignore_index=True)


def heatmap_table(
    views: list[RunView], options: densities.DensityOptions, width: float
) -> pd.DataFrame:
    """epoch, x0, x1, density: the setting's density at each snapshot, as rectangles."""
    epochs = list(views[0].snapshot_epochs)
    table = densities.over_time_table(views, options, width, epochs)
    grid = densities.centres(options)
    values = np.sort(table["value"].unique())
    half = np.diff(values, prepend=values[0] - (grid[1] - grid[0])) / 2
    edges = dict(
        zip(
            values, zip(values - half, values + np.r_[half[1:], half[-1]], strict=True), strict=True
        )
    )
    table["x0"] = [edges[v][0] for v in table["value"]]
    table["x1"] = [edges[v][1] for v in table["value"]]
    return table[["epoch", "x0", "x1", "density"]]


@st.cache_resource(show_spinner=False, max_entries=32)
def _charts(directory: str, kind: str, focus: float, options: densities.DensityOptions):
    pre = resources.pretrained(directory)
    sweep = SWEEPS[kind]
    groups, _ = sweeps.groups_of(pre, sweep)
    views = settings.seed_views(pre.runs, sweep.config(focus))
    if not groups or not views or not views[0].snapshot_epochs:
        return None
    reference, named = sweeps.reference_views(pre, sweep)
    width = densities.bandwidth(reference, options)
    heat = charts.density_heatmap(
        heatmap_table(views, options, width),
        x_title=densities.AXIS_TITLES[options.axis],
        title=f"Density of the {options.group} during training, {sweep.label(focus)}",
        subtitle=densities.describe_bandwidth(options, width, named),
    )
    norms = charts.norms_chart(
        norm_table(groups, options.group),
        order=[label for label, _ in groups],
        y_title="‖W‖ (Frobenius)" if options.group == "weights" else "‖b‖",
        title=f"Norm of each layer's {options.group} during training, every {sweep.symbol}",
        subtitle="mean over seeds; log scale, each panel its own",
    )
    return charts.to_spec(heat), charts.to_spec(norms)


def draw(directory: str, kind: str, focus: float) -> None:
    sweep = SWEEPS[kind]
    st.markdown(
        f"How the picture above came about. The heatmap shows the density of the focused "
        f"setting ({sweep.label(focus)}) after each stored epoch, from the initialisation "
        "(epoch 0) down to the end; the panels below give each layer's size for every "
        f"value of {sweep.symbol}, epoch by epoch."
    )
    figures = _charts(directory, kind, focus, sweeps.density_options())
    if figures is None:
        show.missing(f"The training history of {sweep.label(focus)}")
        return
    heat, norms = figures
    show.chart(heat)
    st.vega_lite_chart(norms, theme=None)
