"""Two settings overlaid: losses, predictions, densities, and the difference in numbers.

Used by the comparison section and by the custom run (against its nearest stored
setting). A side is a canonical token ('l2:0.01') or 'custom', the reader's last
trained run, fetched from the training service's cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from regviz import lazy
from regviz.config import RunConfig
from regviz.ui import densities, findings, resources, settings, show, sweeps
from regviz.urlstate import CUSTOM
from regviz.views import RunView

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy.module("pandas")

CUSTOM_CONFIG = "custom_config"


@dataclass(frozen=True)
class PairCharts:
    loss: dict
    prediction: dict
    density: dict
    numbers: pd.DataFrame


class SideMissing(LookupError):
    """A side of the pair has no runs (missing checkpoint, or custom run not trained)."""


def custom_key() -> tuple[tuple[str, float | int], ...] | None:
    """The reader's last custom config as primitives (a cache key), if any."""
    config = st.session_state.get(CUSTOM_CONFIG)
    return tuple(sorted(config.to_dict().items())) if config is not None else None


def _side(directory: str, token: str, key: tuple | None, prefix: str) -> tuple[str, list[RunView]]:
    if token == CUSTOM:
        if key is None:
            raise SideMissing("custom run: none trained yet")
        config = RunConfig(**dict(key))
        view = resources.training_service(resources.max_trainings()).cached(config)
        if view is None:
            raise SideMissing("custom run: no longer in the server's cache, train it again")
        return f"{prefix} · your run ({settings.describe_config(config)})", [view]
    setting = settings.setting_from_token(token)
    views = settings.seed_views(resources.pretrained(directory).runs, setting.config)
    if not views:
        raise SideMissing(f"{setting.label}: no stored runs")
    return f"{prefix} · {setting.label}", views


@st.cache_resource(show_spinner=False, max_entries=64)
def pair_charts(
    directory: str, a: str, b: str, key: tuple | None, options: densities.DensityOptions
) -> PairCharts:
    """Charts of A against B; raises SideMissing (never cached) when a side has no runs."""
    groups = [_side(directory, a, key, "A"), _side(directory, b, key, "B")]
    prediction, loss, density = sweeps.group_charts(
        directory,
        groups,
        options,
        title="Predictions",
        subtitle="bold: first seed; faint: the other seeds; shaded: the hard region",
    )
    (a_label, a_views), (b_label, b_views) = groups
    numbers = findings.comparison_table(a_label, a_views, b_label, b_views)
    return PairCharts(loss, prediction, density, numbers)


def draw(directory: str, a: str, b: str) -> bool:
    """Draw the pair; False (with a message) when a side cannot be shown."""
    key = custom_key() if CUSTOM in (a, b) else None
    try:
        figures = pair_charts(directory, a, b, key, sweeps.density_options())
    except SideMissing as error:
        st.info(f"Nothing to compare yet: {error}.", icon=":material/info:")
        return False
    show.three_views(figures.prediction, figures.loss, figures.density)
    st.dataframe(figures.numbers, hide_index=True, width="stretch")
    return True
