"""The look every chart shares, and turning a chart into a spec the page can cache.

One Altair theme, `regviz`, enabled on import; fixed palettes; data travel as
named Arrow datasets, so a chart is converted once, cached as a dict, and a
reader's focus only swaps a few small named datasets in (`charts.sweep`).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd
import pyarrow as pa

from regviz.charts.datasets import arrow_table

THEME = "regviz"
FONT = '"Source Sans", "Source Sans Pro", sans-serif'
HEIGHT = 260
#: Colour of everything that is data rather than model: samples, the clean curve.
INK = "#4a4a4a"
MUTED = "#9a9a9a"
HARD_FILL = "#f2b134"
#: Two settings side by side (comparisons, custom against canonical, before against after).
PAIR = ("#1f6fb4", "#d9541e")
#: Four layers, or weights against biases.
CATEGORICAL = ("#1f6fb4", "#d9541e", "#2a9d5c", "#8e5bb5", "#c4a21b", "#5a5a5a")
#: Ordered sweeps (λ, p, ...): viridis without its pale yellow end, which vanishes on white.
ORDERED_SCHEME = {"name": "viridis", "extent": [0.0, 0.88]}
SPLIT_DASH = {"validation": [1, 0], "training": [5, 3]}
#: Altair's data transformers are process-wide; one conversion at a time.
_CONVERT_LOCK = threading.Lock()
_TRANSFORMER = "regviz-arrow"


@alt.theme.register(THEME, enable=True)
def regviz_theme() -> alt.theme.ThemeConfig:
    """Quiet axes, readable type on a phone, legends under the plot."""
    return {
        "config": {
            "font": FONT,
            "view": {"stroke": None, "continuousHeight": HEIGHT},
            "axis": {
                "labelFontSize": 12,
                "titleFontSize": 13,
                "titleFontWeight": "normal",
                "titleColor": INK,
                "labelColor": INK,
                "gridColor": "#ececec",
                "domainColor": MUTED,
                "tickColor": MUTED,
            },
            "legend": {
                "orient": "bottom",
                "direction": "horizontal",
                "labelFontSize": 12,
                "titleFontSize": 12,
                "titleFontWeight": "normal",
                "symbolStrokeWidth": 3,
                "columns": 4,
                "labelLimit": 160,
            },
            "title": {
                "fontSize": 14,
                "fontWeight": "normal",
                "anchor": "start",
                "color": INK,
                "subtitleFontSize": 12,
                "subtitleColor": "#6b6b6b",
            },
            "range": {"category": list(CATEGORICAL)},
            "line": {"strokeWidth": 2},
            "circle": {"size": 9},
        }
    }


def _to_named_arrow(data: Any, datasets: dict[str, pa.Table]) -> Any:
    """Altair data transformer: a DataFrame becomes a named Arrow dataset, named by content."""
    if not isinstance(data, pd.DataFrame):
        return data
    table = arrow_table(data)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    name = "d" + hashlib.sha1(sink.getvalue().to_pybytes()).hexdigest()[:16]
    datasets.setdefault(name, table)
    return {"name": name}


alt.data_transformers.register(_TRANSFORMER, _to_named_arrow)


def to_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart as a Vega-Lite dict whose data sit in `datasets` as Arrow tables.

    The page converts each chart once, caches the dict, and hands that to the
    browser on every rerun; Arrow tables travel as compact binary instead of JSON
    rows. Schema validation is skipped here (it costs several times the rest of the
    conversion): every builder in this module is validated by the test suite.
    """
    datasets: dict[str, pa.Table] = {}
    with _CONVERT_LOCK, alt.data_transformers.enable(_TRANSFORMER, datasets=datasets):
        spec = chart.to_dict(validate=False)
    spec["datasets"] = {**spec.get("datasets", {}), **datasets}
    return spec


def color_scale(order: Sequence[str], ordered: bool) -> alt.Scale:
    """Ordered sweeps get a sequential palette in sweep order; anything else fixed hues."""
    if ordered:
        return alt.Scale(domain=list(order), scheme=ORDERED_SCHEME)
    palette = PAIR if len(order) <= 2 else CATEGORICAL
    return alt.Scale(domain=list(order), range=list(palette[: len(order)]))


def _color(order: Sequence[str], ordered: bool, legend: bool = True) -> alt.Color:
    """Colour by setting; charts that sit under a chart with the same legend leave theirs off."""
    return alt.Color(
        "setting:N",
        scale=color_scale(order, ordered),
        sort=list(order),
        title=None,
        legend=alt.Undefined if legend else None,
    )


def _hard_region(hard: tuple[float, float], label: bool = False) -> alt.Chart | alt.LayerChart:
    """The hard region as a shaded band; `label` writes "hard region" in it (the data chart).

    The other charts name the shading in their subtitle: every extra mark is work for
    the reader's browser, twelve charts over.
    """
    region = pd.DataFrame(
        {"x0": [hard[0]], "x1": [hard[1]], "mid": [sum(hard) / 2], "label": ["hard region"]}
    )
    base = alt.Chart(region)
    shade = base.mark_rect(color=HARD_FILL, opacity=0.16).encode(x=alt.X("x0:Q"), x2=alt.X2("x1:Q"))
    if not label:
        return shade
    text = base.mark_text(
        align="center", baseline="top", dy=4, fontSize=11, color="#8a5a00"
    ).encode(x=alt.X("mid:Q"), y=alt.YValue(0), text=alt.Text("label:N"))
    return shade + text


def _samples(points: pd.DataFrame, color: str = MUTED, opacity: float = 0.35) -> alt.Chart:
    return (
        alt.Chart(points)
        .mark_circle(color=color, opacity=opacity)
        .encode(x=alt.X("x:Q", title="x"), y=alt.Y("y:Q", title="y"))
    )


def floor_rule(floor: float | None) -> list[alt.Chart]:
    """The noise floor σ² as a dotted line (nothing when `floor` is None); subtitles name it."""
    if floor is None:
        return []
    rule = alt.Chart(pd.DataFrame({"y": [floor]}))
    return [rule.mark_rule(color=MUTED, strokeDash=[2, 2]).encode(y=alt.Y("y:Q"))]


def _finish(
    layers: Sequence[alt.TopLevelMixin],
    param: alt.Parameter | None,
    height: int,
    title: str,
    subtitle: str | None,
) -> alt.LayerChart:
    """Layer the parts with height, title and any parameter set in one step.

    (Chaining `.properties()` and `.add_params()` deep-copies the whole chart each
    time; on the page's larger charts that was most of their build time.)
    """
    extra: dict[str, Any] = {"height": height}
    if param is not None:
        extra["params"] = [param.param]
    if title or subtitle:
        extra["title"] = alt.Title(title, subtitle=subtitle or alt.Undefined)
    return alt.layer(*layers, **extra)
