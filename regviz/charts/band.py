"""The Monte Carlo dropout band, and the loss curve that grows while a custom run trains."""

from __future__ import annotations

import altair as alt
import pandas as pd

from regviz.charts.base import HEIGHT, INK, PAIR, SPLIT_DASH, _finish, _hard_region, _samples

#: What each line of the dropout chart is, in the legend's words.
BAND_LINES = {
    "mean": "mean of 100 passes with dropout on",
    "eval": "dropout off (how the views above predict)",
    "sample": "one pass with dropout on (a new mask at every x)",
}
BAND_COLORS = {"mean": PAIR[0], "eval": INK, "sample": PAIR[1]}


def band_chart(
    points: pd.DataFrame,
    band: pd.DataFrame,
    *,
    hard: tuple[float, float],
    title: str = "",
    subtitle: str | None = None,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Monte Carlo dropout over the data: mean ± 2σ, the 2.5–97.5 % band, one pass, eval curve.

    `band`: x, mean, low, high (mean ∓ 2σ), p_low, p_high (percentiles), sample, eval.
    """
    color = PAIR[0]
    base = alt.Chart(band).encode(x=alt.X("x:Q", title="x", scale=alt.Scale(nice=False)))
    area = base.mark_area(color=color, opacity=0.22).encode(
        y=alt.Y("low:Q", title="y"),
        y2=alt.Y2("high:Q"),
        tooltip=[
            alt.Tooltip("x:Q", format=".2f"),
            alt.Tooltip("mean:Q", format=".3f"),
            alt.Tooltip("low:Q", title="mean − 2σ", format=".3f"),
            alt.Tooltip("high:Q", title="mean + 2σ", format=".3f"),
            alt.Tooltip("p_low:Q", title="2.5 % of passes", format=".3f"),
            alt.Tooltip("p_high:Q", title="97.5 % of passes", format=".3f"),
        ],
    )
    edges = [
        base.mark_line(color=color, strokeWidth=1, strokeDash=[4, 3]).encode(y=f"{edge}:Q")
        for edge in ("p_low", "p_high")
    ]
    long = band.melt(id_vars="x", value_vars=list(BAND_LINES), var_name="line", value_name="y")
    long["line"] = long["line"].map(BAND_LINES).astype("category")
    lines = (
        alt.Chart(long)
        .mark_line()
        .encode(
            x=alt.X("x:Q"),
            y=alt.Y("y:Q"),
            color=alt.Color(
                "line:N",
                scale=alt.Scale(
                    domain=list(BAND_LINES.values()),
                    range=[BAND_COLORS[k] for k in BAND_LINES],
                ),
                title=None,
                legend=alt.Legend(columns=1, labelLimit=0),
            ),
            strokeWidth=alt.condition(
                alt.datum.line == BAND_LINES["sample"], alt.value(1.0), alt.value(2.0)
            ),
        )
    )
    layers = [_hard_region(hard), _samples(points), area, *edges, lines]
    return _finish(layers, None, height, title, subtitle)


def live_loss_chart(table: pd.DataFrame, *, height: int = 220) -> alt.Chart:
    """A loss curve that grows while a custom run trains. `table`: epoch, split, loss."""
    return (
        alt.Chart(table)
        .mark_line(point=alt.OverlayMarkDef(size=14))
        .encode(
            x=alt.X("epoch:Q", title="epoch", scale=alt.Scale(nice=False)),
            y=alt.Y("loss:Q", title="MSE (log scale)", scale=alt.Scale(type="log")),
            color=alt.Color(
                "split:N", scale=alt.Scale(domain=list(SPLIT_DASH), range=list(PAIR)), title=None
            ),
        )
        .properties(height=height)
    )
