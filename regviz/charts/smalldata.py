"""The small-data section's charts: error against strength per training-set size, and a heatmap."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from regviz.charts.base import INK, MUTED, ORDERED_SCHEME, SPLIT_DASH, _finish

#: Splits in legend order; validation solid, training dashed, as in every loss chart.
SPLITS = ("validation", "training")


def gap_chart(
    table: pd.DataFrame,
    *,
    x_order: Sequence[str],
    n_order: Sequence[str],
    x_title: str,
    y_title: str = "MSE (log scale)",
    floor: float | None = None,
    title: str = "",
    subtitle: str | None = None,
    height: int = 380,
) -> alt.LayerChart:
    """Validation (solid) and training (dashed) MSE against a sweep's values, one colour per n.

    `table`: x (a value's label, drawn in `x_order`), n (a size's label, in `n_order`),
    split ("validation" or "training"), mean, low, high (the band: range over seeds).
    The vertical distance between a colour's two lines is that n's overfitting gap.
    `floor`: the noise variance, drawn as a dotted rule; a training MSE below it means
    the network fits noise.
    """
    n_scale = alt.Scale(domain=list(n_order), scheme=ORDERED_SCHEME)
    color = alt.Color(
        "n:N",
        scale=n_scale,
        sort=list(n_order),
        title="training points",
        legend=alt.Legend(symbolType="stroke", symbolOpacity=1, symbolStrokeWidth=3),
    )
    dash = alt.StrokeDash(
        "split:N",
        scale=alt.Scale(domain=list(SPLITS), range=[SPLIT_DASH[s] for s in SPLITS]),
        title=None,
        legend=alt.Legend(symbolType="stroke", symbolStrokeColor=INK, symbolStrokeWidth=2),
    )
    x = alt.X("x:O", sort=list(x_order), title=x_title, axis=alt.Axis(labelAngle=0))
    y_scale = alt.Scale(type="log", nice=False)
    base = alt.Chart(table).encode(x=x)
    band = base.mark_area(opacity=0.12).encode(
        color=color,
        y=alt.Y("low:Q", scale=y_scale, title=y_title, axis=alt.Axis(format=".2g")),
        y2=alt.Y2("high:Q"),
        detail=alt.Detail("split:N"),
    )
    line = base.mark_line(point=True, strokeWidth=2).encode(
        color=color,
        y=alt.Y("mean:Q", scale=y_scale),
        strokeDash=dash,
        tooltip=[
            alt.Tooltip("n:N", title="training points"),
            alt.Tooltip("x:O", title=x_title),
            alt.Tooltip("split:N"),
            alt.Tooltip("mean:Q", format=".3g", title="mean over seeds"),
            alt.Tooltip("low:Q", format=".3g", title="lowest seed"),
            alt.Tooltip("high:Q", format=".3g", title="highest seed"),
        ],
    )
    layers: list[alt.TopLevelMixin] = [band, line]
    if floor is not None:
        rule = pd.DataFrame({"floor": [floor], "label": [f"noise σ² = {floor:.3g}"]})
        rule_base = alt.Chart(rule)
        layers.append(
            rule_base.mark_rule(color=MUTED, strokeDash=[2, 3]).encode(y=alt.Y("floor:Q"))
        )
        layers.append(
            rule_base.mark_text(align="left", baseline="top", dx=4, dy=3, color=MUTED).encode(
                y=alt.Y("floor:Q"), x=alt.XValue(0), text=alt.Text("label:N")
            )
        )
    return _finish(layers, None, height, title, subtitle)


def ratio_heatmap(
    table: pd.DataFrame,
    *,
    x_order: Sequence[str],
    y_order: Sequence[str],
    x_title: str,
    title: str = "",
    subtitle: str | None = None,
    row_height: int = 36,
    spread: float = 1.25,
) -> alt.LayerChart:
    """Validation MSE relative to no regularisation, one cell per (n, value).

    `table`: x (value label), y (n label), ratio, mse, base, wins, every (True where
    the value beats no regularisation on every seed: outlined), text. Blue cells (ratio
    below 1) beat the unregularised network of the same n, orange ones lose to it. The
    colour is logarithmic around 1 and saturates at ÷ and × `spread`: the differences
    that matter here are a few per cent, the collapse at strong settings is written in
    the cells.
    """
    x = alt.X("x:O", sort=list(x_order), title=x_title, axis=alt.Axis(labelAngle=0))
    y = alt.Y("y:O", sort=list(y_order), title="training points")
    base = alt.Chart(table).encode(x=x, y=y)
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color(
            "ratio:Q",
            scale=alt.Scale(
                type="log",
                scheme={"name": "blueorange", "extent": [0.1, 0.9]},
                domain=[1 / spread, spread],
                domainMid=1,
                clamp=True,
            ),
            title="÷ unregularised",
            legend=alt.Legend(
                orient="right",
                direction="vertical",
                format=".2f",
                values=[1 / spread, 1 / spread**0.5, 1.0, spread**0.5, spread],
            ),
        ),
        tooltip=[
            alt.Tooltip("y:O", title="training points"),
            alt.Tooltip("x:O", title=x_title),
            alt.Tooltip("mse:Q", format=".3g", title="validation MSE"),
            alt.Tooltip("base:Q", format=".3g", title="without regularisation"),
            alt.Tooltip("ratio:Q", format=".3g", title="ratio"),
            alt.Tooltip("wins:N", title="seeds it beats"),
        ],
    )
    winners = base.transform_filter("datum.every").mark_rect(fill=None, stroke=INK, strokeWidth=2)
    text = base.mark_text(fontSize=11, color=INK).encode(text=alt.Text("text:N"))
    #: Room for the title, subtitle and x axis: the height covers the whole chart.
    height = 100 + row_height * max(1, len(y_order))
    return _finish([cells, winners, text], None, height, title, subtitle)
