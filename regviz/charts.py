"""Altair chart builders: a plain table in, a chart out, one look for the whole page.

Every builder takes long-form pandas tables (the page's `regviz.ui.tables` makes
them from stored runs) and returns an Altair chart; nothing here knows about
Streamlit, torch or how a number was measured. The look lives in one Altair theme,
`regviz`, enabled on import, so every chart shares fonts, axes and palettes.

Tables name facts, not styles: a curve has a `rank` (0 for a setting's first
seed) and a `role` ("curve", or "reference" for a dashed comparison line). Which
setting is emphasised is a Vega-Lite parameter, `focus`: the focused setting's
first seed is drawn bold with its other seeds faint, the rest of the sweep thin.
Changing the focus is then a change of one value in the spec (`with_focus`), not
a new chart, so a reader's picker costs no chart building at all.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd
import pyarrow as pa

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
FOCUS = "focus"
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
    table = pa.Table.from_pandas(data, preserve_index=False)
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


def with_focus(spec: dict[str, Any], label: str, title: str | None = None) -> dict[str, Any]:
    """A copy of a `to_spec` dict with the `focus` parameter (and optionally the title) changed.

    Shallow: the datasets and layers are shared with `spec`, which stays unchanged.
    """
    out = dict(spec)
    out["params"] = [
        {**param, "value": label} if param.get("name") == FOCUS else param
        for param in spec.get("params", [])
    ]
    if title is not None:
        heading = spec.get("title")
        out["title"] = {**heading, "text": title} if isinstance(heading, dict) else title
    return out


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


def _hard_region(hard: tuple[float, float]) -> alt.LayerChart:
    region = pd.DataFrame({"x0": [hard[0]], "x1": [hard[1]], "label": ["hard region"]})
    base = alt.Chart(region)
    shade = base.mark_rect(color=HARD_FILL, opacity=0.16).encode(x="x0:Q", x2="x1:Q")
    label = base.mark_text(
        align="center", baseline="top", dy=4, fontSize=11, color="#8a5a00"
    ).encode(x=alt.X("mid:Q"), y=alt.value(0), text="label:N")
    return shade + label.transform_calculate(mid="(datum.x0 + datum.x1) / 2")


def _samples(points: pd.DataFrame, color: str = MUTED, opacity: float = 0.35) -> alt.Chart:
    return (
        alt.Chart(points)
        .mark_circle(color=color, opacity=opacity)
        .encode(x=alt.X("x:Q", title="x"), y=alt.Y("y:Q", title="y"))
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
        .encode(x="x:Q", y="y:Q")
    )
    return (_hard_region(hard) + dots + curve).properties(height=height)


def loss_chart(
    table: pd.DataFrame,
    *,
    order: Sequence[str],
    ordered: bool = True,
    focus: str | None = None,
    floor: float | None = None,
    legend: bool = True,
    title: str = "",
    subtitle: str | None = None,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Loss per epoch on a log axis: a line per setting and split, a seed band for `focus`.

    `table`: setting, split ("training"/"validation"), epoch, mean, low, high. With
    `focus` set (the `focus` parameter's first value), the other settings are drawn
    faint and only the focused one gets its min–max band over seeds; without it
    every setting gets a band.
    """
    y_scale = alt.Scale(type="log")
    param = alt.param(name=FOCUS, value=focus) if focus is not None else None
    base = alt.Chart(table).encode(
        x=alt.X("epoch:Q", title="epoch", scale=alt.Scale(nice=False)),
        color=_color(order, ordered, legend),
    )
    band_data = base.transform_filter(alt.datum.setting == param) if param is not None else base
    band = band_data.mark_area(opacity=0.18).encode(
        y=alt.Y("low:Q", scale=y_scale, title="MSE (log scale)"),
        y2="high:Q",
        detail="split:N",
    )
    dash = alt.StrokeDash(
        "split:N",
        scale=alt.Scale(domain=list(SPLIT_DASH), range=list(SPLIT_DASH.values())),
        title=None,
        legend=alt.Legend(symbolStrokeWidth=2),
    )
    opacity = (
        alt.condition(alt.datum.setting == param, alt.value(1.0), alt.value(0.3))
        if param is not None
        else alt.value(1.0)
    )
    lines = base.mark_line().encode(
        y=alt.Y("mean:Q", scale=y_scale),
        strokeDash=dash,
        opacity=opacity,
        detail="split:N",
        tooltip=[
            alt.Tooltip("setting:N"),
            alt.Tooltip("split:N"),
            alt.Tooltip("epoch:Q"),
            alt.Tooltip("mean:Q", title="MSE (mean of seeds)", format=".4g"),
            alt.Tooltip("low:Q", title="lowest seed", format=".4g"),
            alt.Tooltip("high:Q", title="highest seed", format=".4g"),
        ],
    )
    layers: list[alt.Chart] = [band, lines]
    if floor is not None:
        rule = alt.Chart(pd.DataFrame({"y": [floor], "label": ["noise floor σ²"]}))
        layers.append(rule.mark_rule(color=MUTED, strokeDash=[2, 2]).encode(y="y:Q"))
        layers.append(
            rule.mark_text(align="left", baseline="bottom", dx=4, dy=-2, color=MUTED).encode(
                y="y:Q", x=alt.value(0), text="label:N"
            )
        )
    return _finish(layers, param, height, title, subtitle)


#: How each kind of curve is drawn.
_STYLE = {
    "context": {"strokeWidth": 1.2, "opacity": 0.35},
    "seed": {"strokeWidth": 1.2, "opacity": 0.45},
    "reference": {"strokeWidth": 1.8, "opacity": 0.9, "strokeDash": [4, 3]},
    "main": {"strokeWidth": 2.6, "opacity": 1.0},
}


def _curve_filters(param: alt.Parameter | None) -> dict[str, Any]:
    """Which rows each kind of curve draws, as Vega-Lite predicates."""
    curve, first = alt.datum.role == "curve", alt.datum.rank == 0
    if param is None:
        return {
            "seed": curve & ~first,
            "reference": alt.datum.role == "reference",
            "main": curve & first,
        }
    mine = alt.datum.setting == param
    return {
        "context": curve & ~mine & first,
        "seed": curve & mine & ~first,
        "reference": alt.datum.role == "reference",
        "main": curve & mine & first,
    }


def _curves(
    curves: pd.DataFrame,
    order: Sequence[str],
    ordered: bool,
    x: alt.X,
    y: alt.Y,
    legend: bool = True,
    param: alt.Parameter | None = None,
) -> alt.LayerChart:
    """Context lines thin and faint, other seeds faint, references dashed, the main line bold.

    `curves` needs setting, line, role ("curve"/"reference") and rank (0: first seed).
    The layers share one data set and one encoding, and differ only in mark and filter.
    """
    present = {
        "context": len(curves) > 0,
        "seed": len(curves) > 0 and int(curves["rank"].max()) > 0,
        "reference": bool((curves["role"] == "reference").any()),
        "main": bool((curves["role"] == "curve").any()),
    }
    layers = [
        alt.Chart().mark_line(**_STYLE[kind]).transform_filter(predicate)
        for kind, predicate in _curve_filters(param).items()
        if present[kind]
    ]
    return alt.layer(*layers, data=curves).encode(
        x=x,
        y=y,
        color=_color(order, ordered, legend),
        detail="line:N",
        tooltip=["setting:N", "line:N"],
    )


def prediction_chart(
    points: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    order: Sequence[str],
    hard: tuple[float, float],
    ordered: bool = True,
    focus: str | None = None,
    clean: pd.DataFrame | None = None,
    legend: bool = True,
    title: str = "",
    subtitle: str | None = None,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Predictions over the data, with the hard region shaded.

    `points`: x, y (a subsample of the data); `curves`: setting, line, role, rank, x, y;
    `clean`: x, y of the noise-free signal. With `focus`, that setting is bold (see
    the module docstring); without, every setting's first seed is.
    """
    layers: list[alt.Chart] = [_hard_region(hard), _samples(points)]
    if clean is not None:
        layers.append(
            alt.Chart(clean)
            .mark_line(color=INK, strokeWidth=1, strokeDash=[2, 2], opacity=0.8)
            .encode(x="x:Q", y="y:Q")
        )
    x = alt.X("x:Q", title="x", scale=alt.Scale(nice=False))
    param = alt.param(name=FOCUS, value=focus) if focus is not None else None
    layers.append(_curves(curves, order, ordered, x, alt.Y("y:Q", title="y"), legend, param))
    return _finish(layers, param, height, title, subtitle)


def _finish(
    layers: Sequence[alt.TopLevelMixin],
    param: alt.Parameter | None,
    height: int,
    title: str,
    subtitle: str | None,
) -> alt.LayerChart:
    """Layer the parts with height, title and the focus parameter set in one step.

    (Chaining `.properties()` and `.add_params()` deep-copies the whole chart each
    time; on the page's larger charts that was most of their build time.)
    """
    extra: dict[str, Any] = {"height": height}
    if param is not None:
        extra["params"] = [param.param]
    if title or subtitle:
        extra["title"] = alt.Title(title, subtitle=subtitle or alt.Undefined)
    return alt.layer(*layers, **extra)


def kde_chart(
    table: pd.DataFrame,
    *,
    order: Sequence[str],
    scale: str,
    clip: float | None,
    floor: float,
    x_domain: tuple[float, float],
    ordered: bool = True,
    focus: str | None = None,
    legend: bool = True,
    title: str = "",
    subtitle: str | None = None,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Parameter densities: a line per setting, with tall peaks clipped or on a log axis.

    `table`: setting, line, role, rank, value, density; `focus` as in `prediction_chart`.
    `scale="clip"` cuts the y axis at `clip` (clamped peaks run flat along the top;
    None: nothing to clip); `scale="log"` shows every peak, with densities below
    `floor` pinned to it.
    """
    if scale == "log":
        y_scale = alt.Scale(type="log", domainMin=floor, clamp=True)
        y_title = "density (log scale)"
    elif clip is None:
        y_scale = alt.Scale(zero=True)
        y_title = "density"
    else:
        y_scale = alt.Scale(domain=[0, clip], clamp=True, nice=False)
        y_title = f"density (clipped at {clip:.3g})"
    y = alt.Y("density:Q", scale=y_scale, title=y_title)
    x = alt.X("value:Q", title="parameter value", scale=alt.Scale(domain=list(x_domain)))
    param = alt.param(name=FOCUS, value=focus) if focus is not None else None
    curves = _curves(table, order, ordered, x, y, legend, param)
    return _finish([curves], param, height, title, subtitle)


def band_chart(
    points: pd.DataFrame,
    band: pd.DataFrame,
    *,
    hard: tuple[float, float],
    label: str,
    title: str = "",
    subtitle: str | None = None,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """A prediction with its ±2σ band over the data.

    `band`: x, mean, low, high.
    """
    color = PAIR[0]
    base = alt.Chart(band).encode(x=alt.X("x:Q", title="x", scale=alt.Scale(nice=False)))
    area = base.mark_area(color=color, opacity=0.25).encode(
        y=alt.Y("low:Q", title="y"),
        y2="high:Q",
        tooltip=[
            alt.Tooltip("x:Q", format=".2f"),
            alt.Tooltip("mean:Q", format=".3f"),
            alt.Tooltip("low:Q", title="mean − 2σ", format=".3f"),
            alt.Tooltip("high:Q", title="mean + 2σ", format=".3f"),
        ],
    )
    line = base.mark_line(color=color, strokeWidth=2.2).encode(y="mean:Q")
    key = (
        alt.Chart(pd.DataFrame({"label": [label]}))
        .mark_text(align="right", baseline="top", dx=-4, dy=4, color=color, fontSize=12)
        .encode(x=alt.value("width"), y=alt.value(0), text="label:N")
    )
    layers = [_hard_region(hard), _samples(points), area, line, key]
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
