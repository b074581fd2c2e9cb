"""The three views of a sweep (losses, predictions, parameter densities) with a picker.

The L2, dropout, L1 and AdamW sections all show a sweep the same way; this module
builds their charts once per (sweep, density axis) and sets the focused value on
each rerun by changing one parameter of the cached specs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from regviz import charts
from regviz.store import Pretrained
from regviz.ui import resources, show, tables, url
from regviz.urlstate import SWEEPS
from regviz.views import RunView


@dataclass(frozen=True)
class SweepCharts:
    loss: dict
    prediction: dict
    density: dict
    missing: tuple[str, ...]


def groups_of(
    pre: Pretrained, settings: list[tables.Setting]
) -> tuple[list[tuple[str, list[RunView]]], tuple[str, ...]]:
    """(label, seed views) for every setting with at least one run, and the labels without."""
    groups, missing = [], []
    for setting in settings:
        views = tables.seed_views(pre.runs, setting.config)
        if views:
            groups.append((setting.label, views))
        else:
            missing.append(setting.label)
    return groups, tuple(missing)


#: Chart titles; "{focus}" becomes the focused setting's label.
TITLES = {
    "loss": "Loss per epoch, {focus} in bold",
    "prediction": "Predictions, {focus} in bold",
    "density": "Parameter density, {focus} in bold",
}


@st.cache_resource(show_spinner=False, max_entries=16)
def sweep_charts(directory: str, kind: str, kde_scale: str) -> SweepCharts | None:
    """The sweep's charts, built once; the focus is set per reader by `focused`.

    None when no run of the sweep is stored.
    """
    pre = resources.pretrained(directory)
    groups, missing = groups_of(pre, tables.sweep(kind))
    if not groups:
        return None
    order = [label for label, _ in groups]
    first = order[0]
    loss, prediction = loss_and_prediction(
        directory,
        groups,
        title=TITLES["prediction"].format(focus=first),
        subtitle=f"faint: its other seeds and the other values of {tables.SYMBOL[kind]}",
        loss_title=TITLES["loss"].format(focus=first),
        focus=first,
        ordered=True,
    )
    density = density_chart(
        [(label, [view.kde["all"] for view in views]) for label, views in groups],
        order=order,
        focus=first,
        kde_scale=kde_scale,
        legend=False,
        title=TITLES["density"].format(focus=first),
    )
    return SweepCharts(
        charts.to_spec(loss), charts.to_spec(prediction), charts.to_spec(density), missing
    )


def focused(figures: SweepCharts, label: str) -> SweepCharts:
    """The same charts with `label` emphasised: a parameter change, no rebuilding."""
    return SweepCharts(
        *(
            charts.with_focus(getattr(figures, name), label, title.format(focus=label))
            for name, title in TITLES.items()
        ),
        figures.missing,
    )


def loss_and_prediction(
    directory: str,
    groups: list[tuple[str, list[RunView]]],
    title: str,
    subtitle: str,
    *,
    loss_title: str = "Loss per epoch",
    focus: str | None = None,
    ordered: bool = False,
):
    """The loss and prediction charts of some groups of runs (`title`, `subtitle`: the
    prediction's). The sweeps pass a `focus` and an ordered palette; the baseline (one
    group) and the comparisons (two) draw every group alike."""
    order = [label for label, _ in groups]
    loss = charts.loss_chart(
        tables.loss_table(groups),
        order=order,
        ordered=ordered,
        focus=focus,
        floor=tables.noise_floor(),
        title=loss_title,
        legend=False,
        subtitle="band: range over seeds; dashed: training",
    )
    points, clean = sample_and_clean(directory)
    prediction = charts.prediction_chart(
        points,
        tables.prediction_table(groups),
        order=order,
        ordered=ordered,
        focus=focus,
        hard=tables.HARD_REGION,
        clean=clean,
        title=title,
        subtitle=subtitle,
    )
    return loss, prediction


def sample_and_clean(directory: str):
    """The scatter subsample and the clean curve, or empty/None without the data file."""
    pre = resources.pretrained(directory)
    if pre.data is None:
        return tables.sample_table({"sample/x": [], "sample/y": [], "sample/is_train": []}), None
    return tables.sample_table(pre.data), tables.clean_table(pre.data)


def density_chart(
    groups, *, kde_scale, title, order, focus=None, references=(), ordered=True, legend=True
):
    """A KDE chart of (label, per-seed densities) groups; says when peaks are clipped."""
    dens = tables.kde_table(groups, references)
    clipped = kde_scale == "clip" and dens.clip < float(dens.table["density"].max())
    note = "tall peaks clipped at the top" if clipped else "all parameters, seeds pooled"
    return charts.kde_chart(
        dens.table,
        order=order,
        ordered=ordered,
        focus=focus,
        legend=legend,
        scale=kde_scale,
        clip=dens.clip if clipped else None,
        floor=dens.floor,
        x_domain=dens.x_domain,
        title=title,
        subtitle=note,
    )


def picker(kind: str, label: str) -> float:
    """A slider over the sweep's canonical values, kept in the URL."""
    symbol = tables.SYMBOL[kind]
    return st.select_slider(
        label,
        options=list(SWEEPS[kind][0]),
        format_func=lambda value: f"{symbol} = {value:g}",
        key=url.KEYS[kind],
        on_change=url.write,
    )


def draw_views(directory: str, kind: str, focus: float) -> SweepCharts | None:
    """The sweep's three views for the focused value; says so when the runs are missing."""
    figures = sweep_charts(directory, kind, kde_scale())
    if figures is None:
        show.missing(f"The {tables.SWEEP_NAME[kind]} sweep")
        return None
    figures = focused(figures, tables.canonical(kind, focus).label)
    if figures.missing:
        st.info(
            f"No stored runs for {', '.join(figures.missing)}; the charts show the rest.",
            icon=":material/info:",
        )
    show.three_views(figures.prediction, figures.loss, figures.density)
    return figures


def kde_scale() -> str:
    return st.session_state.get(url.KEYS["kde"], "clip")


def section(directory: str, kind: str, label: str, story: Callable[[float], None]) -> None:
    """Picker, the three views, then `story(focus)`: the prose about the measured numbers."""
    focus = picker(kind, label)
    draw_views(directory, kind, focus)
    story(focus)
