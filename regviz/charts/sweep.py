"""A sweep's three views with a focused setting, built so a chart carries only what it draws.

Each chart has a static part (every setting of the sweep drawn thin and faint, the
data, the clean signal) and focus layers that read *named* datasets ("main",
"seeds", "band"). The page builds the static spec once, and for the reader's focus
drops in that setting's small tables (`charts.with_datasets`): no per-row filter runs in
the browser, and no row travels that is not drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from regviz.charts.base import (
    HEIGHT,
    INK,
    _color,
    _finish,
    _hard_region,
    _samples,
    floor_rule,
)
from regviz.charts.views import LOSS_TOOLTIP, density_y, split_dash

MAIN, SEEDS, BAND = "main", "seeds", "band"
_THIN = {"strokeWidth": 1.2, "opacity": 0.35}
_FAINT = {"strokeWidth": 1.2, "opacity": 0.5}
_BOLD = {"strokeWidth": 2.6, "opacity": 1.0}


def _focus_line(x: alt.X, y: alt.Y, color: alt.Color, tooltip: list, **extra) -> alt.Chart:
    """The focused setting's bold line, read from the named dataset "main"."""
    return (
        alt.Chart(alt.NamedData(MAIN))
        .mark_line(**_BOLD)
        .encode(x=x, y=y, color=color, tooltip=tooltip, **extra)
    )


def _epoch_rule(epoch: int | None) -> list[alt.Chart]:
    """A dashed line at the epoch the other two views show (the subtitle names it)."""
    if epoch is None:
        return []
    mark = pd.DataFrame({"epoch": [epoch]})
    return [alt.Chart(mark).mark_rule(color=INK, strokeDash=[3, 3]).encode(x=alt.X("epoch:Q"))]


def sweep_loss_chart(
    context: pd.DataFrame,
    *,
    order: Sequence[str],
    floor: float | None,
    epoch: int | None = None,
    title: str = "",
    subtitle: str | None = None,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Loss per epoch, log axis: every setting faint, the focus bold with its seed band.

    `context`: setting, split, epoch, mean (all settings); the focus layers read the
    named datasets "main" (setting, split, epoch, mean) and "band" (… low, high).
    `epoch` marks the epoch the other two views show.
    """
    y = alt.Y("mean:Q", scale=alt.Scale(type="log"), title="MSE (log scale)")
    x = alt.X("epoch:Q", title="epoch", scale=alt.Scale(nice=False))
    color = _color(order, True, legend=False)
    thin = (
        alt.Chart(context)
        .mark_line(**_THIN)
        .encode(x=x, y=y, color=color, detail=alt.Detail("split:N"))
    )
    band = (
        alt.Chart(alt.NamedData(BAND))
        .mark_area(opacity=0.18)
        .encode(
            x=x,
            y=alt.Y("low:Q", scale=alt.Scale(type="log")),
            y2=alt.Y2("high:Q"),
            color=color,
            detail=alt.Detail("split:N"),
        )
    )
    main = _focus_line(x, y, color, LOSS_TOOLTIP, strokeDash=split_dash())
    layers = [thin, band, main, *_epoch_rule(epoch), *floor_rule(floor)]
    return _finish(layers, None, height, title, subtitle)


def sweep_prediction_chart(
    points: pd.DataFrame,
    context: pd.DataFrame,
    *,
    order: Sequence[str],
    hard: tuple[float, float],
    clean: pd.DataFrame | None,
    title: str = "",
    subtitle: str | None = None,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Predictions over the data: every setting's first seed thin, the focus bold, its seeds faint.

    `context`: setting, x, y (first seed of each setting); named datasets "main"
    (setting, x, y) and "seeds" (setting, line, x, y).
    """
    x = alt.X("x:Q", title="x", scale=alt.Scale(nice=False))
    y = alt.Y("y:Q", title="y")
    color = _color(order, True, legend=True)
    layers: list[alt.Chart] = [_hard_region(hard), _samples(points)]
    if clean is not None:
        layers.append(
            alt.Chart(clean)
            .mark_line(color=INK, strokeWidth=1, strokeDash=[2, 2], opacity=0.8)
            .encode(x=alt.X("x:Q"), y=alt.Y("y:Q"))
        )
    layers += [
        alt.Chart(context)
        .mark_line(**_THIN)
        .encode(x=x, y=y, color=color, detail=alt.Detail("setting:N")),
        alt.Chart(alt.NamedData(SEEDS))
        .mark_line(**_FAINT)
        .encode(x=x, y=y, color=color, detail=alt.Detail("line:N")),
        _focus_line(x, y, color, [alt.Tooltip("setting:N")]),
    ]
    return _finish(layers, None, height, title, subtitle)


def sweep_density_chart(
    context: pd.DataFrame,
    *,
    order: Sequence[str],
    x_title: str,
    x_domain: tuple[float, float],
    log_y: bool,
    floor: float,
    title: str = "",
    subtitle: str | None = None,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Parameter densities: every setting thin, the focus bold (named dataset "main").

    `context` and "main": setting, value, density. The y axis shows every peak: linear
    from zero, or logarithmic with densities below `floor` drawn at it.
    """
    x = alt.X("value:Q", title=x_title, scale=alt.Scale(domain=list(x_domain), nice=False))
    y = density_y(log_y, floor)
    color = _color(order, True, legend=False)
    layers = [
        alt.Chart(context)
        .mark_line(**_THIN)
        .encode(x=x, y=y, color=color, detail=alt.Detail("setting:N")),
        _focus_line(
            x,
            y,
            color,
            [
                alt.Tooltip("setting:N"),
                alt.Tooltip("value:Q", format=".3g"),
                alt.Tooltip("density:Q", format=".3g"),
            ],
        ),
    ]
    return _finish(layers, None, height, title, subtitle)
