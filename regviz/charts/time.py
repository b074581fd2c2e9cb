"""Training over time: a density against epoch (as TensorBoard's histograms do) and layer norms."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from regviz.charts.base import ORDERED_SCHEME, _color, _finish


def density_heatmap(
    table: pd.DataFrame,
    *,
    x_title: str,
    title: str = "",
    subtitle: str | None = None,
    height: int = 220,
) -> alt.LayerChart:
    """One setting's density (colour) at each stored epoch (rows), over θ or log10|θ|.

    `table`: epoch, x0, x1 (a bin's edges), density. The colour scale is a square
    root so that a tall spike does not wash out the broad shapes of early epochs.
    """
    epochs = sorted(int(e) for e in table["epoch"].unique())
    rect = (
        alt.Chart(table)
        .mark_rect()
        .encode(
            x=alt.X("x0:Q", title=x_title, scale=alt.Scale(nice=False)),
            x2=alt.X2("x1:Q"),
            y=alt.Y("epoch:O", title="after epoch", sort=epochs),
            color=alt.Color(
                "density:Q",
                scale=alt.Scale(type="sqrt", scheme=ORDERED_SCHEME["name"]),
                title="density",
                legend=alt.Legend(orient="right", direction="vertical"),
            ),
            tooltip=[
                alt.Tooltip("epoch:O"),
                alt.Tooltip("x0:Q", title="from", format=".3g"),
                alt.Tooltip("density:Q", format=".3g"),
            ],
        )
    )
    return _finish([rect], None, height, title, subtitle)


def norms_chart(
    table: pd.DataFrame,
    *,
    order: Sequence[str],
    y_title: str,
    title: str = "",
    subtitle: str | None = None,
    width: int = 250,
    height: int = 150,
) -> alt.FacetChart:
    """‖W_l‖_F (or a bias norm) against epoch, one panel per layer, one line per setting.

    `table`: setting, layer, epoch, norm (mean over seeds).
    """
    chart = (
        alt.Chart(table, width=width, height=height)
        .mark_line(strokeWidth=1.8)
        .encode(
            x=alt.X("epoch:Q", title="epoch", scale=alt.Scale(nice=False)),
            y=alt.Y("norm:Q", title=y_title, scale=alt.Scale(type="log")),
            color=_color(order, True),
            tooltip=[
                alt.Tooltip("setting:N"),
                alt.Tooltip("layer:N"),
                alt.Tooltip("epoch:Q"),
                alt.Tooltip("norm:Q", format=".3g"),
            ],
        )
        .facet(facet=alt.Facet("layer:N", title=None), columns=2)
        .resolve_scale(y="independent")
    )
    if title or subtitle:
        chart = chart.properties(title=alt.Title(title, subtitle=subtitle or alt.Undefined))
    return chart
