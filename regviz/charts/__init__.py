"""Altair chart builders: a plain table in, a chart out, one look for the whole page.

Every builder takes long-form pandas tables (the page's tables module makes them
from stored runs) and returns an Altair chart; nothing here knows about Streamlit,
torch or how a number was measured. The look lives in one Altair theme (`base`).

Each name loads its module on first use (PEP 562), so `from regviz import charts`
costs nothing: a fresh server draws its ready-made first screen (`regviz.readymade`)
with `with_datasets` alone and never imports Altair (about 0.25 s).
"""

from __future__ import annotations

import importlib
from typing import Any

#: Where each public name lives.
_MODULES = {
    "band": ("band_chart", "live_loss_chart"),
    "base": (
        "CATEGORICAL",
        "HEIGHT",
        "INK",
        "MUTED",
        "ORDERED_SCHEME",
        "PAIR",
        "SPLIT_DASH",
        "THEME",
        "color_scale",
        "regviz_theme",
        "to_spec",
    ),
    "datasets": ("arrow_table", "with_datasets"),
    "metrics": ("metric_lines",),
    "smalldata": ("gap_chart", "ratio_heatmap"),
    "sweep": ("sweep_density_chart", "sweep_loss_chart", "sweep_prediction_chart"),
    "time": ("density_heatmap", "norms_chart"),
    "views": ("data_chart", "kde_chart", "loss_chart", "prediction_chart"),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
