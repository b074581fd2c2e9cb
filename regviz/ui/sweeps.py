"""The three views of a sweep (losses, predictions, parameter densities) with its pickers.

The L2, dropout, L1 and AdamW sections show a sweep the same way: a focus picker
and an epoch control (both in the URL), then the three views. Each chart's static
part is built once per (sweep, epoch, density options) and cached; the focused
setting's rows are dropped into it per reader (`charts.with_datasets`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import streamlit as st

from regviz import charts
from regviz.data import HARD_REGION
from regviz.registry import SWEEPS, Sweep, sweep_by_key
from regviz.store import Pretrained
from regviz.ui import densities, ready, resources, settings, show, tables, url
from regviz.views import SNAPSHOT_EPOCHS, RunView

Groups = list[tuple[str, list[RunView]]]


@dataclass(frozen=True)
class SweepCharts:
    """Static specs plus, per setting label, the tables of its focus layers."""

    loss: dict
    prediction: dict
    density: dict
    focus: dict[str, dict[str, dict]]
    missing: tuple[str, ...]
    bandwidth: float
    peaks: dict[str, float]


def groups_of(pre: Pretrained, sweep: Sweep) -> tuple[Groups, tuple[str, ...]]:
    """(label, seed views) for every setting with at least one run, and the labels without."""
    groups, missing = [], []
    for value in sweep.values:
        views = settings.seed_views(pre.runs, sweep.config(value))
        if views:
            groups.append((sweep.label(value), views))
        else:
            missing.append(sweep.label(value))
    return groups, tuple(missing)


def reference_views(pre: Pretrained, sweep: Sweep) -> tuple[list[RunView], str]:
    """The runs whose parameters set a sweep's density bandwidth, and how to name them."""
    base = sweep.baseline
    views = settings.seed_views(pre.runs, base) if base is not None else []
    if views:
        return views, "its unregularised runs"
    return settings.seed_views(pre.runs, SWEEPS["l2"].config(0.0)), "the unregularised runs"


def final_epoch(groups: Groups, epoch: int | None) -> int | None:
    """None (draw the end of training) unless `epoch` is a snapshot before the last one."""
    if epoch is None or not groups:
        return None
    stored = groups[0][1][0].snapshot_epochs
    if epoch not in stored or epoch == max(stored):
        return None
    return epoch


def density_part(
    groups: Groups,
    reference: Sequence[RunView],
    options: densities.DensityOptions,
    epoch: int | None,
) -> tuple[dict, dict[str, dict], float, dict[str, float], str]:
    """Density spec, per-label focus tables, bandwidth, peaks and subtitle for some groups."""
    width = densities.bandwidth(reference, options)
    curves = {
        label: densities.setting_density(views, options, width, epoch) for label, views in groups
    }
    table = densities.density_table(curves, options, width)
    chart = charts.sweep_density_chart(
        table.table,
        order=[label for label, _ in groups],
        x_title=densities.AXIS_TITLES[options.axis],
        x_domain=table.x_domain,
        log_y=options.scale == "log",
        floor=densities.DENSITY_FLOOR,
        title="Parameter density",
    )
    focus = {
        label: {"main": table.table[table.table["setting"] == label].reset_index(drop=True)}
        for label, _ in groups
    }
    return charts.to_spec(chart), focus, width, table.peaks, ""


@ready.cached(max_entries=48)
def sweep_charts(
    directory: str, kind: str, epoch: int | None, options: densities.DensityOptions
) -> SweepCharts | None:
    """The sweep's charts at `epoch` (None: end of training); None when no run is stored."""
    pre = resources.pretrained(directory)
    sweep = sweep_by_key(kind)
    groups, missing = groups_of(pre, sweep)
    if not groups:
        return None
    epoch = final_epoch(groups, epoch)
    order = [label for label, _ in groups]
    loss_context, loss_focus = tables.loss_tables(groups)
    loss = charts.sweep_loss_chart(
        loss_context,
        order=order,
        floor=tables.noise_floor(),
        epoch=epoch,
        title="Loss per epoch",
        subtitle="bold: the focus, band: its seeds; dashed: training; dotted: noise floor σ²"
        + (f"; vertical: epoch {epoch}" if epoch is not None else ""),
    )
    points, clean = sample_and_clean(directory)
    pred_context, pred_focus = tables.prediction_tables(groups, epoch)
    when = "after training" if epoch is None else f"after epoch {epoch}"
    prediction = charts.sweep_prediction_chart(
        points,
        pred_context,
        order=order,
        hard=HARD_REGION,
        clean=clean,
        title=f"Predictions {when}",
        subtitle=f"bold: the focus (faint: its other seeds); thin: the other values of "
        f"{sweep.symbol}; dotted: the clean signal; shaded: the hard region",
    )
    reference, named = reference_views(pre, sweep)
    density, dens_focus, width, peaks, _ = density_part(groups, reference, options, epoch)
    density["title"] = {
        "text": f"Parameter density {when}",
        "subtitle": densities.describe_bandwidth(options, width, named),
    }
    focus = {
        label: {
            "loss": _arrow(loss_focus[label]),
            "prediction": _arrow(pred_focus[label]),
            "density": _arrow(dens_focus[label]),
        }
        for label in order
    }
    return SweepCharts(
        charts.to_spec(loss),
        charts.to_spec(prediction),
        density,
        focus,
        missing,
        width,
        peaks,
    )


def _arrow(tables_by_name: dict) -> dict:
    """Named focus tables as Arrow: a ready-made first screen then needs no pandas."""
    return {name: charts.arrow_table(table) for name, table in tables_by_name.items()}


def focused(figures: SweepCharts, label: str) -> tuple[dict, dict, dict]:
    """(prediction, loss, density) specs with `label`'s rows in the focus layers."""
    tables_of = figures.focus[label]
    return (
        charts.with_datasets(figures.prediction, tables_of["prediction"]),
        charts.with_datasets(figures.loss, tables_of["loss"]),
        charts.with_datasets(figures.density, tables_of["density"]),
    )


def group_charts(
    directory: str,
    groups: Groups,
    options: densities.DensityOptions,
    *,
    title: str,
    subtitle: str,
    references: Sequence[str] = (),
) -> tuple[dict, dict, dict]:
    """(prediction, loss, density) specs of a few groups drawn alike (baseline, comparisons).

    Every group's first seed is bold, its other seeds faint; `references` (labels)
    are drawn dashed in the density chart (the initialisation, for example).
    """
    pre = resources.pretrained(directory)
    order = [label for label, _ in groups]
    curves = [(label, views) for label, views in groups if label not in references]
    loss = charts.loss_chart(
        tables.loss_table(curves),
        order=order,
        ordered=False,
        floor=tables.noise_floor(),
        title="Loss per epoch",
        legend=False,
        subtitle="band: range over seeds; dashed: training; dotted: noise floor σ²",
    )
    points, clean = sample_and_clean(directory)
    prediction = charts.prediction_chart(
        points,
        tables.prediction_table(curves),
        order=order,
        ordered=False,
        hard=HARD_REGION,
        clean=clean,
        title=title,
        subtitle=subtitle,
    )
    reference, named = reference_views(pre, SWEEPS["l2"])
    width = densities.bandwidth(reference, options)
    table = densities.density_table(
        {label: densities.setting_density(views, options, width) for label, views in groups},
        options,
        width,
    )
    frame = table.table.assign(
        line=table.table["setting"],
        role=[("reference" if s in references else "curve") for s in table.table["setting"]],
        rank=0,
    )
    density = charts.kde_chart(
        frame,
        order=order,
        ordered=False,
        scale=options.scale,
        floor=densities.DENSITY_FLOOR,
        x_domain=table.x_domain,
        x_title=densities.AXIS_TITLES[options.axis],
        title="Parameter density",
        subtitle=densities.describe_bandwidth(options, width, named),
    )
    return charts.to_spec(prediction), charts.to_spec(loss), charts.to_spec(density)


def sample_and_clean(directory: str):
    """The scatter subsample and the clean curve, or empty/None without the data file."""
    pre = resources.pretrained(directory)
    if pre.data is None:
        return tables.sample_table({"sample/x": [], "sample/y": [], "sample/is_train": []}), None
    return tables.sample_table(pre.data), tables.clean_table(pre.data)


def density_options() -> densities.DensityOptions:
    """What the sidebar's density pickers say now."""
    state = st.session_state
    return densities.DensityOptions(
        group=state.get(url.KEYS["params"], "weights"),
        axis=state.get(url.KEYS["theta"], "value"),
        scale=state.get(url.KEYS["kde"], "linear"),
    )


def picker(kind: str, label: str) -> float:
    """A slider over the sweep's canonical values, kept in the URL."""
    sweep = SWEEPS[kind]
    return st.select_slider(
        label,
        options=list(sweep.values),
        format_func=sweep.label,
        key=url.KEYS[sweep.url_key],
        on_change=url.write,
    )


def epoch_control(kind: str) -> int:
    """A slider over the stored snapshot epochs: every setting's prediction and density move."""
    sweep = SWEEPS[kind]
    return st.select_slider(
        "Show the state after epoch",
        options=list(SNAPSHOT_EPOCHS),
        format_func=lambda e: f"{e} (initialisation)" if e == 0 else str(e),
        key=url.KEYS[url.epoch_key(sweep.url_key)],
        on_change=url.write,
        help="Predictions and densities were stored at these epochs during training; "
        "the loss chart marks the one shown.",
    )


def draw_views(directory: str, kind: str, focus: float, epoch: int | None) -> SweepCharts | None:
    """The sweep's three views for the focused value; says so when the runs are missing."""
    sweep = sweep_by_key(kind)
    figures = sweep_charts(directory, kind, epoch, density_options())
    if figures is None:
        show.missing(f"The {sweep.name} sweep")
        return None
    label = sweep.label(focus)
    if label not in figures.focus:
        show.missing(f"The {sweep.name} run at {label}")
        return figures
    if figures.missing:
        st.info(
            f"No stored runs for {', '.join(figures.missing)}; the charts show the rest.",
            icon=":material/info:",
        )
    show.three_views(*focused(figures, label))
    return figures


def section(
    directory: str, kind: str, label: str, story: Callable[[float, int], None]
) -> tuple[float, int]:
    """Pickers, the three views, then `story(focus, epoch)`; returns (focus, epoch)."""
    left, right = st.columns([3, 2])
    with left:
        focus = picker(kind, label)
    with right:
        epoch = epoch_control(kind)
    draw_views(directory, kind, focus, epoch)
    story(focus, epoch)
    return focus, epoch
