"""What we say about a trained model: parameter densities, summary numbers, MC-dropout bands.

Computed once per run (see `describe_run`) and stored, never per page rerun.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from regviz.data import HARD_CENTRE, HARD_HALF_WIDTH, Dataset, make_dataset
from regviz.layout import layer_of_parameter, weight_mask
from regviz.views import KDE_GRID, KDE_GROUPS, PREDICTION_GRID, RunView

if TYPE_CHECKING:
    from regviz.train import TrainedRun

#: |θ| below this counts as "collapsed to zero".
NEAR_ZERO = 1e-3
#: Forward passes with dropout active for the Monte Carlo band.
MC_PASSES = 100
MC_SEED = 7


def group_masks() -> dict[str, np.ndarray]:
    """Boolean selectors over the flat parameter vector, one per KDE group."""
    weights = weight_mask()
    layers = layer_of_parameter()
    masks = {"all": np.ones_like(weights), "weights": weights, "biases": ~weights}
    masks.update({f"layer {k}": layers == k for k in range(1, 5)})
    return masks


def parameter_kde(values: np.ndarray, grid: np.ndarray = KDE_GRID) -> np.ndarray:
    """Gaussian KDE (scipy, Scott's rule) of `values` evaluated on `grid`.

    The bandwidth is floored at one grid step: a run whose parameters have
    collapsed to an almost exact spike would otherwise have a peak narrower than
    the grid and could vanish between two grid points.
    """
    from scipy.stats import gaussian_kde

    values = np.asarray(values, dtype=np.float64)
    step = float(grid[1] - grid[0])
    spread = float(values.std())
    if values.size < 2 or spread == 0.0:
        centre = float(values.mean()) if values.size else 0.0
        return _gaussian(grid, centre, step)
    scott = values.size ** (-1 / 5)
    factor = max(scott, step / spread)
    return gaussian_kde(values, bw_method=factor)(grid)


def _gaussian(grid: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((grid - centre) / width) ** 2) / (width * np.sqrt(2 * np.pi))


def parameter_kdes(parameters: np.ndarray) -> dict[str, np.ndarray]:
    masks = group_masks()
    return {name: parameter_kde(parameters[masks[name]]) for name in KDE_GROUPS}


def parameter_metrics(parameters: np.ndarray, initial: np.ndarray) -> dict[str, float]:
    """Spread, collapse towards zero and distance from the initialisation."""
    weights = weight_mask()
    w = parameters[weights]
    q75, q25 = np.percentile(w, [75, 25])
    return {
        "param_std": float(parameters.std()),
        "weight_std": float(w.std()),
        "bias_std": float(parameters[~weights].std()),
        "weight_iqr": float(q75 - q25),
        "fraction_near_zero": float(np.mean(np.abs(parameters) < NEAR_ZERO)),
        "weight_fraction_near_zero": float(np.mean(np.abs(w) < NEAR_ZERO)),
        "fraction_exact_zero": float(np.mean(parameters == 0.0)),
        "weights_unchanged": float(np.mean(w == initial[weights])),
        "relative_change": float(np.linalg.norm(parameters - initial) / np.linalg.norm(initial)),
        "kde_mass_outside": float(
            np.mean((parameters < KDE_GRID[0]) | (parameters > KDE_GRID[-1]))
        ),
    }


def fit_metrics(
    train_loss: np.ndarray,
    val_loss: np.ndarray,
    val_prediction: np.ndarray,
    grid_prediction: np.ndarray,
    dataset: Dataset,
) -> dict[str, float]:
    """How well, and how flatly, the model fits."""
    hard = np.abs(dataset.x_val - HARD_CENTRE) <= HARD_HALF_WIDTH
    squared = (val_prediction - dataset.y_val) ** 2
    clean = dataset.signal(PREDICTION_GRID)
    val_loss = np.asarray(val_loss, dtype=np.float64)
    return {
        "train_mse": float(train_loss[-1]),
        "val_mse": float(val_loss[-1]),
        "best_val_mse": float(np.nanmin(val_loss)),
        "best_epoch": int(np.nanargmin(val_loss)) + 1,
        "val_mse_over_var": float(val_loss[-1] / np.var(dataset.y_val)),
        "hard_region_mse": float(squared[hard].mean()),
        "easy_region_mse": float(squared[~hard].mean()),
        "prediction_std_ratio": float(np.std(grid_prediction) / np.std(clean)),
        "prediction_error_vs_signal": float(np.mean((grid_prediction - clean) ** 2)),
    }


def mc_dropout(
    run: TrainedRun, x: np.ndarray, passes: int = MC_PASSES, seed: int = MC_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over `passes` forward passes with dropout left on.

    This is the spread that dropout's own noise puts on the prediction (Gal and
    Ghahramani's reading of dropout as approximate Bayesian inference); it is not
    a calibrated posterior and it does not include the data's noise.
    """
    import torch

    x = np.asarray(x, dtype=np.float32).reshape(-1)
    model = run.model
    inputs = torch.from_numpy(np.tile(x, passes)).unsqueeze(1)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        model.train()
        try:
            samples = model(inputs).reshape(passes, x.size).numpy().astype(np.float64)
        finally:
            model.eval()
    return samples.mean(0), samples.std(0)


def mc_metrics(run: TrainedRun, dataset: Dataset) -> dict[str, float]:
    """Share of validation points inside mean ± 2σ, and where the band is wide."""
    mean, std = mc_dropout(run, dataset.x_val)
    inside = np.abs(dataset.y_val - mean) <= 2 * std
    hard = np.abs(dataset.x_val - HARD_CENTRE) <= HARD_HALF_WIDTH
    return {
        "mc_coverage": float(inside.mean()),
        "mc_mean_std": float(std.mean()),
        "mc_hard_std": float(std[hard].mean()),
        "mc_easy_std": float(std[~hard].mean()),
    }


def describe_run(run: TrainedRun, dataset: Dataset | None = None) -> RunView:
    """Everything the page shows about one run, computed once."""
    dataset = dataset or make_dataset()
    parameters = run.parameters
    train_loss = np.asarray(run.history.train_loss)
    val_loss = np.asarray(run.history.val_loss)
    grid_prediction = run.predict(PREDICTION_GRID)
    metrics = fit_metrics(
        train_loss, val_loss, run.predict(dataset.x_val), grid_prediction, dataset
    )
    metrics.update(parameter_metrics(parameters, run.initial_parameters))
    metrics["initial_draws"] = run.initial_draws
    mc_mean = mc_std = None
    if run.config.dropout > 0:
        mc_mean, mc_std = mc_dropout(run, PREDICTION_GRID)
        metrics.update(mc_metrics(run, dataset))
    return RunView(
        config=run.config,
        train_loss=train_loss,
        val_loss=val_loss,
        prediction=grid_prediction,
        kde=parameter_kdes(parameters),
        metrics=metrics,
        mc_mean=mc_mean,
        mc_std=mc_std,
        parameters=parameters,
    )
