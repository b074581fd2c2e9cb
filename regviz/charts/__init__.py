"""Altair chart builders: a plain table in, a chart out, one look for the whole page.

Every builder takes long-form pandas tables (the page's tables module makes them
from stored runs) and returns an Altair chart; nothing here knows about Streamlit,
torch or how a number was measured. The look lives in one Altair theme (`base`).
"""

from regviz.charts.band import band_chart, live_loss_chart
from regviz.charts.base import (
    CATEGORICAL,
    HEIGHT,
    INK,
    MUTED,
    ORDERED_SCHEME,
    PAIR,
    SPLIT_DASH,
    THEME,
    color_scale,
    regviz_theme,
    to_spec,
)
from regviz.charts.metrics import metric_lines
from regviz.charts.smalldata import gap_chart, ratio_heatmap
from regviz.charts.sweep import (
    sweep_density_chart,
    sweep_loss_chart,
    sweep_prediction_chart,
    with_datasets,
)
from regviz.charts.time import density_heatmap, norms_chart
from regviz.charts.views import data_chart, kde_chart, loss_chart, prediction_chart

__all__ = [
    "CATEGORICAL",
    "HEIGHT",
    "INK",
    "MUTED",
    "ORDERED_SCHEME",
    "PAIR",
    "SPLIT_DASH",
    "THEME",
    "band_chart",
    "color_scale",
    "data_chart",
    "density_heatmap",
    "gap_chart",
    "kde_chart",
    "live_loss_chart",
    "loss_chart",
    "metric_lines",
    "norms_chart",
    "prediction_chart",
    "ratio_heatmap",
    "regviz_theme",
    "sweep_density_chart",
    "sweep_loss_chart",
    "sweep_prediction_chart",
    "to_spec",
    "with_datasets",
]
