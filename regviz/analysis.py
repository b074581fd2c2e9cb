"""What we say about a trained model: binned densities, summary numbers, MC-dropout bands.

Computed once per run (see `describe_run`) and stored, never per page rerun.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from regviz import density
from regviz.data import Dataset, control_region, hard_region, make_dataset
from regviz.layout import weight_mask
from regviz.views import PREDICTION_GRID, SNAPSHOT_GRID, RunView

if TYPE_CHECKING:
    from regviz.train import TrainedRun

#: |θ| below this counts as "collapsed to zero".
NEAR_ZERO = 1e-3
#: Forward passes with dropout active for the Monte Carlo band.
MC_PASSES = 100
MC_SEED = 7
#: The band's percentiles: the central 95 % of the passes, next to mean ± 2σ.
MC_PERCENTILES = (2.5, 97.5)
#: "Final" numbers average the last tenth of a run's records (the last 10 of 100
#: epochs): one epoch's validation MSE moves by ±20 % from epoch to epoch.
FINAL_SHARE = 0.1


def final_mean(values: np.ndarray) -> float:
    """Mean of the last FINAL_SHARE of a history (at least its last entry)."""
    values = np.asarray(values, dtype=np.float64)
    count = max(1, round(values.size * FINAL_SHARE))
    return float(values[-count:].mean())


def parameter_metrics(parameters: np.ndarray, initial: np.ndarray | None) -> dict[str, float]:
    """Spread, collapse towards zero and distance from the initialisation."""
    weights = weight_mask()
    w = parameters[weights]
    q75, q25 = np.percentile(w, [75, 25])
    metrics = {
        "param_std": float(parameters.std()),
        "weight_std": float(w.std()),
        "bias_std": float(parameters[~weights].std()),
        "weight_iqr": float(q75 - q25),
        "fraction_near_zero": float(np.mean(np.abs(parameters) < NEAR_ZERO)),
        "weight_fraction_near_zero": float(np.mean(np.abs(w) < NEAR_ZERO)),
        "fraction_exact_zero": float(np.mean(parameters == 0.0)),
        "mass_outside": float(np.mean(np.abs(parameters) > density.VALUE_LIMIT)),
        "weight_median_abs": float(np.median(np.abs(w))),
    }
    if initial is not None:
        metrics["weights_unchanged"] = float(np.mean(w == initial[weights]))
        metrics["relative_change"] = float(
            np.linalg.norm(parameters - initial) / np.linalg.norm(initial)
        )
    return metrics


def fit_metrics(
    train_loss: np.ndarray,
    val_loss: np.ndarray,
    epochs: np.ndarray,
    val_prediction: np.ndarray,
    grid_prediction: np.ndarray,
    dataset: Dataset,
) -> dict[str, float]:
    """How well, and how flatly, the model fits."""
    hard = hard_region(dataset.x_val)
    squared = (val_prediction - dataset.y_val) ** 2
    clean = dataset.signal(PREDICTION_GRID)
    val_loss = np.asarray(val_loss, dtype=np.float64)
    variance = float(np.var(dataset.y_val))
    return {
        "train_mse": float(train_loss[-1]),
        "val_mse": float(val_loss[-1]),
        "final_train_mse": final_mean(train_loss),
        "final_val_mse": final_mean(val_loss),
        "best_val_mse": float(np.nanmin(val_loss)),
        "best_epoch": int(epochs[int(np.nanargmin(val_loss))]),
        "val_mse_over_var": float(val_loss[-1] / variance),
        "final_val_mse_over_var": final_mean(val_loss) / variance,
        "hard_region_mse": float(squared[hard].mean()),
        "easy_region_mse": float(squared[~hard].mean()),
        "prediction_std_ratio": float(np.std(grid_prediction) / np.std(clean)),
        "prediction_error_vs_signal": float(np.mean((grid_prediction - clean) ** 2)),
    }


def mc_passes(
    run: TrainedRun, x: np.ndarray, passes: int = MC_PASSES, seed: int = MC_SEED
) -> np.ndarray:
    """`passes` forward passes with dropout left on, shape (passes, len(x)).

    Every x of every pass draws its own dropout mask. The spread is what dropout's
    own noise puts on the prediction (Gal and Ghahramani's reading of dropout as
    approximate Bayesian inference); it is not a calibrated posterior and it does
    not include the data's noise.
    """
    import torch

    x = np.asarray(x, dtype=np.float32).reshape(-1)
    model = run.model
    inputs = torch.from_numpy(np.tile(x, passes)).unsqueeze(1)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        model.train()
        try:
            return model(inputs).reshape(passes, x.size).numpy().astype(np.float64)
        finally:
            model.eval()


def mc_dropout(
    run: TrainedRun, x: np.ndarray, passes: int = MC_PASSES, seed: int = MC_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over `passes` forward passes with dropout left on."""
    samples = mc_passes(run, x, passes, seed)
    return samples.mean(0), samples.std(0)


def mc_band(run: TrainedRun) -> dict[str, np.ndarray]:
    """The band on the prediction grid: mean, std, percentiles, and one pass as drawn."""
    samples = mc_passes(run, PREDICTION_GRID)
    low, high = np.percentile(samples, MC_PERCENTILES, axis=0)
    return {
        "mean": samples.mean(0),
        "std": samples.std(0),
        "low": low,
        "high": high,
        "sample": samples[0],
    }


def mc_metrics(band: dict[str, np.ndarray], dataset: Dataset) -> dict[str, float]:
    """How wide the band is near x = 11 and elsewhere, and what it covers.

    `mc_coverage`: share of validation points inside mean ± 2σ, the band read off the
    prediction grid (a step of 0.05 in x, far finer than the band's changes; 100 more
    passes at all 2,000 validation points cost a custom run half a second). On the
    grid: σ relative to the output level (σ / mean) near x = 11 and in the
    level-matched control region (`regviz.data.control_region`), and the share of the
    *clean* signal inside mean ± 2σ and inside the 2.5–97.5 percentile band, near
    x = 11 and elsewhere.
    """
    mean = np.interp(dataset.x_val, PREDICTION_GRID, band["mean"])
    std = np.interp(dataset.x_val, PREDICTION_GRID, band["std"])
    inside = np.abs(dataset.y_val - mean) <= 2 * std
    hard_val = hard_region(dataset.x_val)
    clean = dataset.signal(PREDICTION_GRID)
    hard, control = hard_region(PREDICTION_GRID), control_region(PREDICTION_GRID, clean)
    relative = band["std"] / np.maximum(np.abs(band["mean"]), 1e-6)
    in_sigma = np.abs(clean - band["mean"]) <= 2 * band["std"]
    in_percentiles = (clean >= band["low"]) & (clean <= band["high"])
    return {
        "mc_coverage": float(inside.mean()),
        "mc_mean_std": float(std.mean()),
        "mc_hard_std": float(std[hard_val].mean()),
        "mc_easy_std": float(std[~hard_val].mean()),
        "mc_relative_hard": float(relative[hard].mean()),
        "mc_relative_control": float(relative[control].mean()),
        "mc_relative_elsewhere": float(relative[~hard].mean()),
        "clean_coverage_hard": float(in_sigma[hard].mean()),
        "clean_coverage_elsewhere": float(in_sigma[~hard].mean()),
        "clean_coverage_pct_hard": float(in_percentiles[hard].mean()),
        "clean_coverage_pct_elsewhere": float(in_percentiles[~hard].mean()),
    }


def _snapshot_arrays(run: TrainedRun) -> dict[str, np.ndarray]:
    from regviz.model import vector_to_model

    if not run.snapshots:
        return {}
    import torch

    epochs = sorted(run.snapshots)
    vectors = [run.snapshots[epoch] for epoch in epochs]
    weights = weight_mask()
    grid = torch.from_numpy(np.asarray(SNAPSHOT_GRID, dtype=np.float32).reshape(-1, 1))
    # One model, loaded with each snapshot in turn: building a module per snapshot (its
    # throwaway initialisation) cost a custom run 60 ms of its 100 ms description.
    model = vector_to_model(vectors[0])
    predictions = []
    with torch.no_grad():
        for vector in vectors:
            flat = torch.as_tensor(np.asarray(vector, dtype=np.float32))
            torch.nn.utils.vector_to_parameters(flat, model.parameters())
            predictions.append(model(grid).numpy().reshape(-1).copy())
    return {
        "epoch": np.asarray(epochs, dtype=np.int32),
        "prediction": np.vstack(predictions).astype(np.float32),
        "weights": np.vstack([density.value_counts(v[weights]) for v in vectors]),
        "log_weights": np.vstack([density.log_counts(v[weights]) for v in vectors]),
        "biases": np.vstack([v[~weights] for v in vectors]).astype(np.float32),
    }


def describe_run(
    run: TrainedRun, dataset: Dataset | None = None, *, keep_parameters: bool = True
) -> RunView:
    """Everything the page shows about one run, computed once.

    `keep_parameters=False` stores the densities but not the 8,513 parameters (the
    small-data sweeps: their pages draw densities only).
    """
    dataset = dataset or make_dataset()
    parameters = run.parameters
    weights = weight_mask()
    train_loss = np.asarray(run.history.train_loss)
    val_loss = np.asarray(run.history.val_loss)
    epochs = np.asarray(run.history.epoch_numbers)
    grid_prediction = run.predict(PREDICTION_GRID)
    metrics = fit_metrics(
        train_loss, val_loss, epochs, run.predict(dataset.x_val), grid_prediction, dataset
    )
    x_train, y_train = dataset.training_points(run.config.n_train)
    metrics["train_mse_eval"] = float(np.mean((run.predict(x_train) - y_train) ** 2))
    metrics.update(parameter_metrics(parameters, run.initial_parameters))
    metrics["initial_draws"] = run.initial_draws
    band: dict[str, np.ndarray] = {}
    if run.config.dropout > 0:
        band = mc_band(run)
        metrics.update(mc_metrics(band, dataset))
    return RunView(
        config=run.config,
        train_loss=train_loss,
        val_loss=val_loss,
        prediction=grid_prediction,
        weight_counts=density.value_counts(parameters[weights]),
        log_weight_counts=density.log_counts(parameters[weights]),
        biases=parameters[~weights].astype(np.float32),
        metrics=metrics,
        epochs=np.asarray(run.history.epochs) if run.history.epochs else None,
        mc=band,
        snapshots=_snapshot_arrays(run) if keep_parameters else {},
        norms=run.norms if keep_parameters else None,
        parameters=parameters if keep_parameters else None,
    )
