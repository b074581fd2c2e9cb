"""What changes when the L2 penalty covers the biases too (stored runs at λ = 0.1 and 1)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from regviz.registry import SWEEPS
from regviz.ui import pair, resources, settings
from regviz.views import PREDICTION_GRID


def line_fit(prediction: np.ndarray) -> tuple[float, float]:
    """(slope per unit of x, R²) of a straight line fitted to a prediction on the grid."""
    y = np.asarray(prediction, dtype=np.float64)
    slope, intercept = np.polyfit(PREDICTION_GRID, y, 1)
    residual = y - (slope * PREDICTION_GRID + intercept)
    total = float(np.sum((y - y.mean()) ** 2))
    return float(slope), (1 - float(np.sum(residual**2)) / total) if total > 0 else float("nan")


def ramp_numbers(runs, value: float) -> dict[str, tuple[float, float, float]] | None:
    """Per variant: mean slope, mean R² and mean swing (max − min) over the seeds."""
    out = {}
    for kind in ("l2", "l2b"):
        views = settings.seed_views(runs, SWEEPS[kind].config(value))
        if not views:
            return None
        fits = [line_fit(v.prediction) for v in views]
        swing = float(np.mean([np.ptp(v.prediction) for v in views]))
        out[kind] = (
            float(np.mean([f[0] for f in fits])),
            float(np.mean([f[1] for f in fits])),
            swing,
        )
    return out


def draw(directory: str) -> None:
    runs = resources.pretrained(directory).runs
    strongest = max(SWEEPS["l2b"].values)
    st.markdown(
        "Our penalty leaves the biases free. Here the same runs at λ = 0.1 and 1 are repeated "
        "with the biases in the penalty too (λ·Σ‖b_l‖² added to the cost)."
    )
    numbers = ramp_numbers(runs, strongest)
    if numbers is not None:
        (_, r_w, swing_w), (s_b, r_b, swing_b) = numbers["l2"], numbers["l2b"]
        ramp = r_b > 0.9 and swing_b > 2 * swing_w
        st.markdown(
            f"**At λ = {strongest:g}.** Weights only: the prediction swings by {swing_w:.2g} "
            f"over x ∈ [0, 20] (a straight line explains R² = {r_w:.2f} of what is left). "
            f"Biases penalised too: it swings by {swing_b:.2g}, slope {s_b:.3g} per unit of x, "
            f"and a straight line explains R² = {r_b:.2f} of it. "
            + (
                "So penalising the biases turns the collapsed model from a constant into a "
                "ramp: once the biases cost as much as the weights, the cheapest way to reach "
                "the data's level is a little weight on the large input x."
                if ramp
                else "So the two collapsed models do not differ in kind here."
            )
        )
    pair.draw(directory, SWEEPS["l2"].token(strongest), SWEEPS["l2b"].token(strongest))
