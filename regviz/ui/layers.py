"""Beyond the article: the parameter density split by layer, and weights against biases."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from regviz import charts, density
from regviz.layout import HIDDEN, N_PARAMETERS, parameter_slices, weight_mask
from regviz.registry import SWEEPS
from regviz.ui import densities, resources, settings, show, sweeps

SPLITS = {
    "by layer": ("layer 1", "layer 2", "layer 3", "layer 4"),
    "weights vs biases": ("weights", "biases"),
}
DEFAULT_TOKEN = SWEEPS["l2"].token(0.01)
BEFORE_SUFFIX = " · before"


def layer_slices() -> dict[str, tuple[slice, slice]]:
    """'layer k' → (weights, biases) slices of the flat parameter vector."""
    where = list(parameter_slices().values())
    return {f"layer {k + 1}": (where[2 * k], where[2 * k + 1]) for k in range(len(where) // 2)}


def group_values(parameters: np.ndarray, group: str) -> np.ndarray:
    """The parameters of one group: a layer's weights, or all weights, or all biases."""
    parameters = np.asarray(parameters, dtype=np.float64)
    if group == "weights":
        return parameters[weight_mask()]
    if group == "biases":
        return parameters[~weight_mask()]
    return parameters[layer_slices()[group][0]]


def group_density(vectors: list[np.ndarray], group: str, width: float) -> np.ndarray:
    """Seed-averaged density of one group on the value grid, with a shared bandwidth."""
    grid = density.VALUE_CENTRES
    if group == "biases":
        return np.mean(
            [density.gaussian_kde(group_values(v, group), grid, width) for v in vectors], axis=0
        )
    return np.mean(
        [
            density.smooth(density.value_counts(group_values(v, group)), grid, width)
            for v in vectors
        ],
        axis=0,
    )


@st.cache_resource(show_spinner=False)
def _chart(directory: str, token: str, split: str):
    pre = resources.pretrained(directory)
    setting = settings.setting_from_token(token)
    views = [v for v in settings.seed_views(pre.runs, setting.config) if v.parameters is not None]
    if not views:
        return None
    groups = SPLITS[split]
    reference, named = sweeps.reference_views(pre, SWEEPS["l2"])
    options = densities.DensityOptions()
    width = densities.bandwidth(reference, options)
    bias_width = densities.bandwidth(reference, densities.DensityOptions(group="biases"))
    inits = [pre.inits[v.config.seed]["parameters"] for v in views if v.config.seed in pre.inits]
    curves = {}
    for group in groups:
        w = bias_width if group == "biases" else width
        curves[group] = group_density([v.parameters for v in views], group, w)
        if inits:
            curves[group + BEFORE_SUFFIX] = group_density(inits, group, w)
    table = densities.density_table(curves, options, width)
    frame = table.table.assign(
        line=table.table["setting"],
        role=[
            "reference" if str(s).endswith(BEFORE_SUFFIX) else "curve"
            for s in table.table["setting"]
        ],
        rank=0,
    )
    frame["setting"] = frame["setting"].astype(str).str.removesuffix(BEFORE_SUFFIX)
    figure = charts.kde_chart(
        frame,
        order=list(groups),
        ordered=False,
        scale="linear",
        floor=densities.DENSITY_FLOOR,
        x_domain=table.x_domain,
        title=f"Parameter density {split}, {setting.label}",
        subtitle=f"solid: after training; dashed: the initialisation; bandwidth {width:.3g} "
        f"(Scott's rule on {named})",
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
    shown = {s.token: s.label for s in settings.comparable_settings()}
    token = left.selectbox(
        "Setting",
        list(shown),
        index=list(shown).index(DEFAULT_TOKEN),
        format_func=shown.__getitem__,
        key="layers_setting",
    )
    split = right.radio("Split", list(SPLITS), horizontal=True, key="layers_split")
    figure = _chart(directory, token, split)
    if figure is None:
        show.missing(f"The layer view of {shown[token]}")
        return
    show.chart(figure)
    _story(directory, token)


def _story(directory: str, token: str) -> None:
    pre = resources.pretrained(directory)
    setting = settings.setting_from_token(token)
    views = [v for v in settings.seed_views(pre.runs, setting.config) if v.parameters is not None]
    inits = [pre.inits[v.config.seed]["parameters"] for v in views if v.config.seed in pre.inits]
    if not views or len(inits) != len(views):
        return
    rows = []
    for layer, (weights, _) in layer_slices().items():
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
