"""Beyond the article: the parameter density split by layer, and weights against biases."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from regviz import charts
from regviz.layout import HIDDEN, N_PARAMETERS
from regviz.ui import resources, show, sweeps, tables

SPLITS = {
    "by layer": ("layer 1", "layer 2", "layer 3", "layer 4"),
    "weights vs biases": ("weights", "biases"),
}
DEFAULT_TOKEN = "l2:0.01"


@st.cache_resource(show_spinner=False)
def _chart(directory: str, token: str, split: str, kde_scale: str):
    pre = resources.pretrained(directory)
    setting = tables.setting_from_token(token)
    views = tables.seed_views(pre.runs, setting.config)
    if not views:
        return None
    groups = SPLITS[split]
    after = [(group, [v.kde[group] for v in views]) for group in groups]
    inits = [pre.inits[v.config.seed] for v in views if v.config.seed in pre.inits]
    before = [(group, [i[f"kde/{group}"] for i in inits]) for group in groups] if inits else []
    dens = tables.paired_kde_table(after, before)
    clipped = kde_scale == "clip" and dens.clip < float(dens.table["density"].max())
    figure = charts.kde_chart(
        dens.table,
        order=list(groups),
        ordered=False,
        scale=kde_scale,
        clip=dens.clip if clipped else None,
        floor=dens.floor,
        x_domain=dens.x_domain,
        title=f"Parameter density {split}, {setting.label}",
        subtitle="solid: after training; dashed: the initialisation"
        + ("; tall peaks clipped at the top" if clipped else ""),
    )
    return charts.to_spec(figure)


def draw(directory: str) -> None:
    st.subheader("Layer by layer", anchor="layers")
    st.markdown(
        f"One density for all {N_PARAMETERS:,} parameters hides that the layers start and end "
        "in different places. The first layer has a single input, so its weights start spread "
        f"over ±1; the middle layers start within ±1/{math.isqrt(HIDDEN)} (±1/√fan-in). The "
        "biases are never penalised, so under L2 and L1 they tell a different story from the "
        "weights."
    )
    _focused(directory)


@st.fragment
def _focused(directory: str) -> None:
    left, right = st.columns(2)
    settings = {s.token: s.label for s in tables.comparable_settings()}
    token = left.selectbox(
        "Setting",
        list(settings),
        index=list(settings).index(DEFAULT_TOKEN),
        format_func=settings.__getitem__,
        key="layers_setting",
    )
    split = right.radio("Split", list(SPLITS), horizontal=True, key="layers_split")
    figure = _chart(directory, token, split, sweeps.kde_scale())
    if figure is None:
        show.missing(f"The layer view of {settings[token]}")
        return
    show.chart(figure)
    _story(directory, token)


def _story(directory: str, token: str) -> None:
    pre = resources.pretrained(directory)
    setting = tables.setting_from_token(token)
    views = [v for v in tables.seed_views(pre.runs, setting.config) if v.parameters is not None]
    inits = [pre.inits[v.config.seed]["parameters"] for v in views if v.config.seed in pre.inits]
    if not views or len(inits) != len(views):
        return
    rows = []
    for layer, (weights, _) in tables.layer_slices().items():
        before = float(np.mean([np.std(p[weights]) for p in inits]))
        after = float(np.mean([np.std(v.parameters[weights]) for v in views]))
        rows.append((layer, before, after))
    grew = [layer for layer, before, after in rows if after > before]
    text = ", ".join(f"{layer} {before:.3g} → {after:.3g}" for layer, before, after in rows)
    st.markdown(
        f"**Weight spread (std) at {setting.label}, before → after training:** {text}. "
        + (
            f"The spread grew in {', '.join(grew)} and shrank in the rest."
            if grew and len(grew) < len(rows)
            else "Every layer's spread grew."
            if grew
            else "Every layer's spread shrank."
        )
    )
