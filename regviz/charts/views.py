"""The article's three views of a sweep: losses, predictions over the data, parameter densities.

These draw a few groups alike (the baseline, two settings compared, the layers):
tables name facts, not styles. A curve has a `rank` (0 for a group's first seed,
drawn bold) and a `role` ("curve", or "reference" for a dashed comparison line).
The sweeps, with one setting in focus, are drawn by `regviz.charts.sweep`.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from regviz.charts.base import (
    HEIGHT,
    INK,
    PAIR,
    SPLIT_DASH,
    _color,
    _finish,
    _hard_region,
    _samples,
    floor_rule,
)


def data_chart(
    samples: pd.DataFrame, clean: pd.DataFrame, hard: tuple[float, float], *, height: int = HEIGHT
) -> alt.LayerChart:
    """The noisy samples coloured by split, with the clean curve drawn over them.

    `samples`: x, y, split ("training"/"validation"); `clean`: x, y.
    """
    splits = ["training", "validation"]
    dots = (
        alt.Chart(samples)
        .mark_circle(opacity=0.55)
        .encode(
            x=alt.X("x:Q", title="x", scale=alt.Scale(nice=False)),
            y=alt.Y("y:Q", title="y"),
            color=alt.Color(
                "split:N",
                scale=alt.Scale(domain=splits, range=list(PAIR)),
                title="sample",
            ),
        )
    )
    curve = (
        alt.Chart(clean.assign(setting="clean signal"))
        .mark_line(color=INK, strokeWidth=2)
        .encode(x=alt.X("x:Q"), y=alt.Y("y:Q"))
    )
    return (_hard_region(hard, label=True) + dots + curve).properties(height=height)


#: Loss tooltips: which setting, split and epoch, and the MSE over seeds.
LOSS_TOOLTIP = [
    alt.Tooltip("setting:N"),
    alt.Tooltip("split:N"),
    alt.Tooltip("epoch:Q"),
    alt.Tooltip("mean:Q", title="MSE (mean of seeds)", format=".4g"),
]


def split_dash() -> alt.StrokeDash:
    """Validation solid, training dashed, with its own small legend."""
    return alt.StrokeDash(
        "split:N",
        scale=alt.Scale(domain=list(SPLIT_DASH), range=list(SPLIT_DASH.values())),
        title=None,
        legend=alt.Legend(symbolStrokeWidth=2),
    )


def loss_chart(
    table: pd.DataFrame,
    *,
    order: Sequence[str],
    ordered: bool = False,
    floor: float | None = None,
    legend: bool = True,
    title: str = "",
    subtitle: str | None = None,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Loss per epoch on a log axis: a line per setting and split, each with its seed band.

    `table`: setting, split ("training"/"validation"), epoch, mean, low, high.
    """
    y_scale = alt.Scale(type="log")
    base = alt.Chart(table).encode(
        x=alt.X("epoch:Q", title="epoch", scale=alt.Scale(nice=False)),
        color=_color(order, ordered, legend),
    )
    band = base.mark_area(opacity=0.18).encode(
        y=alt.Y("low:Q", scale=y_scale, title="MSE (log scale)"),
        y2=alt.Y2("high:Q"),
        detail=alt.Detail("split:N"),
    )
    lines = base.mark_line().encode(
        y=alt.Y("mean:Q", scale=y_scale),
        strokeDash=split_dash(),
        detail=alt.Detail("split:N"),
        tooltip=[
            *LOSS_TOOLTIP,
            alt.Tooltip("low:Q", title="lowest seed", format=".4g"),
            alt.Tooltip("high:Q", title="highest seed", format=".4g"),
        ],
    )
    return _finish([band, lines, *floor_rule(floor)], None, height, title, subtitle)


#: How each kind of curve is drawn: a group's first seed bold, its other seeds faint,
#: reference curves (the initialisation, say) dashed.
_STYLE = {
    "seeds": {"strokeWidth": 1.2, "opacity": 0.45},
    "reference": {"strokeWidth": 1.8, "opacity": 0.9, "strokeDash": [4, 3]},
    "main": {"strokeWidth": 2.6, "opacity": 1.0},
}


def _kinds(curves: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rows of each kind of curve, as separate tables: no row filter runs in the browser."""
    reference = curves["role"] == "reference"
    first = curves["rank"] == 0
    parts = {
        "seeds": curves[~reference & ~first],
        "reference": curves[reference],
        "main": curves[~reference & first],
    }
    return {kind: rows.reset_index(drop=True) for kind, rows in parts.items() if len(rows)}


def _curves(
    curves: pd.DataFrame, order: Sequence[str], ordered: bool, x: alt.X, y: alt.Y, legend: bool
) -> list[alt.Chart]:
    """One layer per kind of curve (`_STYLE`), each with only its own rows.

    `curves` needs setting, line, role ("curve"/"reference") and rank (0: first seed).
    """
    color = _color(order, ordered, legend)
    return [
        alt.Chart(rows)
        .mark_line(**_STYLE[kind])
        .encode(
            x=x,
            y=y,
            color=color,
            detail=alt.Detail("line:N"),
            tooltip=[alt.Tooltip("setting:N"), alt.Tooltip("line:N")],
        )
        for kind, rows in _kinds(curves).items()
    ]


def prediction_chart(
    points: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    order: Sequence[str],
    hard: tuple[float, float],
    ordered: bool = False,
    clean: pd.DataFrame | None = None,
    legend: bool = True,
    title: str = "",
    subtitle: str | None = None,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Predictions over the data, with the hard region shaded.

    `points`: x, y (a subsample of the data); `curves`: setting, line, role, rank, x, y;
    `clean`: x, y of the noise-free signal. Every group's first seed is bold.
    """
    layers: list[alt.Chart] = [_hard_region(hard), _samples(points)]
    if clean is not None:
        layers.append(
            alt.Chart(clean)
            .mark_line(color=INK, strokeWidth=1, strokeDash=[2, 2], opacity=0.8)
            .encode(x=alt.X("x:Q"), y=alt.Y("y:Q"))
        )
    x = alt.X("x:Q", title="x", scale=alt.Scale(nice=False))
    layers += _curves(curves, order, ordered, x, alt.Y("y:Q", title="y"), legend)
    return _finish(layers, None, height, title, subtitle)


def density_y(log_y: bool, floor: float) -> alt.Y:
    """The density axis: linear from zero (every peak whole), or log with a floor."""
    if log_y:
        return alt.Y(
            "density:Q",
            scale=alt.Scale(type="log", domainMin=floor, clamp=True),
            title="density (log scale)",
        )
    return alt.Y("density:Q", scale=alt.Scale(zero=True), title="density")


def kde_chart(
    table: pd.DataFrame,
    *,
    order: Sequence[str],
    scale: str,
    floor: float,
    x_domain: tuple[float, float],
    x_title: str = "parameter value θ",
    ordered: bool = False,
    legend: bool = True,
    title: str = "",
    subtitle: str | None = None,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Parameter densities, a line per group, on a linear ("linear") or log ("log") y axis.

    `table`: setting, line, role, rank, value, density.
    """
    y = density_y(scale == "log", floor)
    x = alt.X("value:Q", title=x_title, scale=alt.Scale(domain=list(x_domain), nice=False))
    return _finish(_curves(table, order, ordered, x, y, legend), None, height, title, subtitle)
