"""One measured number across the settings of a sweep, one line per series, with a seed band."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from regviz.charts.base import CATEGORICAL, PAIR, _finish


def metric_lines(
    table: pd.DataFrame,
    *,
    x_order: Sequence[str],
    series_order: Sequence[str],
    x_title: str,
    y_title: str,
    log_y: bool = False,
    percent: bool = False,
    title: str = "",
    subtitle: str | None = None,
    height: int = 240,
) -> alt.LayerChart:
    """`table`: x (a setting's label, drawn in `x_order`), series, mean, low, high.

    The x axis is ordinal: canonical values are decades apart and include 0, which a
    log axis cannot place. The band is the range over seeds.
    """
    palette = PAIR if len(series_order) <= 2 else CATEGORICAL
    color = alt.Color(
        "series:N",
        scale=alt.Scale(domain=list(series_order), range=list(palette[: len(series_order)])),
        title=None,
    )
    fmt = ".0%" if percent else ".3g"
    y_scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    x = alt.X("x:O", sort=list(x_order), title=x_title, axis=alt.Axis(labelAngle=0))
    base = alt.Chart(table).encode(x=x, color=color)
    band = base.mark_area(opacity=0.15).encode(
        y=alt.Y("low:Q", scale=y_scale, title=y_title, axis=alt.Axis(format=fmt)),
        y2=alt.Y2("high:Q"),
    )
    line = base.mark_line(point=True, strokeWidth=2).encode(
        y=alt.Y("mean:Q", scale=y_scale),
        tooltip=[
            alt.Tooltip("series:N"),
            alt.Tooltip("x:O", title=x_title),
            alt.Tooltip("mean:Q", format=fmt, title="mean over seeds"),
            alt.Tooltip("low:Q", format=fmt, title="lowest seed"),
            alt.Tooltip("high:Q", format=fmt, title="highest seed"),
        ],
    )
    return _finish([band, line], None, height, title, subtitle)
