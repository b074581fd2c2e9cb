"""Densities, summary numbers and MC-dropout bands are computed the way the page describes them."""

import numpy as np
import pytest

from regviz.analysis import (
    group_masks,
    mc_dropout,
    parameter_kde,
    parameter_metrics,
)
from regviz.config import RunConfig
from regviz.data import Dataset, make_dataset
from regviz.train import fit
from regviz.views import KDE_GRID, KDE_GROUPS, PREDICTION_GRID


@pytest.fixture(scope="module")
def short_dropout_run():
    full = make_dataset()
    data = Dataset(
        full.x_train[:640], full.y_train[:640], full.x_val, full.y_val, full.signal, 0.25
    )
    return fit(RunConfig(dropout=0.3, epochs=2), dataset=data)


def test_kde_of_a_normal_sample_is_a_density_on_the_grid():
    values = np.random.default_rng(0).normal(0, 0.3, 5000)
    density = parameter_kde(values)
    step = KDE_GRID[1] - KDE_GRID[0]
    assert density.sum() * step == pytest.approx(1.0, abs=1e-3)
    truth = np.exp(-0.5 * (KDE_GRID / 0.3) ** 2) / (0.3 * np.sqrt(2 * np.pi))
    assert np.abs(density - truth).max() < 0.1 * truth.max()


def test_a_spike_of_collapsed_parameters_is_drawn_not_lost_between_grid_points():
    values = np.concatenate([np.full(8000, 2e-5), np.random.default_rng(1).normal(0, 0.5, 100)])
    density = parameter_kde(values)
    step = KDE_GRID[1] - KDE_GRID[0]
    assert density.sum() * step == pytest.approx(1.0, abs=1e-2)
    assert density.max() > 10
    assert parameter_kde(np.zeros(50)).max() > 10  # zero spread does not crash scipy


def test_groups_split_weights_from_biases_and_layers():
    masks = group_masks()
    assert set(masks) == set(KDE_GROUPS)
    assert masks["weights"].sum() + masks["biases"].sum() == masks["all"].sum() == 8513
    assert sum(masks[f"layer {k}"].sum() for k in range(1, 5)) == 8513


def test_parameter_metrics_measure_collapse_and_distance_from_init():
    initial = np.random.default_rng(2).uniform(-0.1, 0.1, 8513).astype(np.float32)
    metrics = parameter_metrics(np.zeros(8513, dtype=np.float32), initial)
    assert metrics["fraction_near_zero"] == 1.0
    assert metrics["relative_change"] == pytest.approx(1.0)
    same = parameter_metrics(initial, initial)
    assert same["weights_unchanged"] == 1.0 and same["relative_change"] == 0.0


def test_mc_dropout_is_seeded_and_leaves_the_model_in_eval_mode(short_dropout_run):
    mean_a, std_a = mc_dropout(short_dropout_run, PREDICTION_GRID, passes=20)
    mean_b, std_b = mc_dropout(short_dropout_run, PREDICTION_GRID, passes=20)
    np.testing.assert_array_equal(mean_a, mean_b)
    np.testing.assert_array_equal(std_a, std_b)
    assert std_a.mean() > 0
    assert not short_dropout_run.model.training


def test_describe_run_has_every_view_the_page_draws(short_dropout_run):
    from regviz.analysis import describe_run

    view = describe_run(short_dropout_run)
    assert set(view.kde) == set(KDE_GROUPS)
    assert view.prediction.shape == PREDICTION_GRID.shape
    assert view.mc_mean is not None and view.mc_std.shape == PREDICTION_GRID.shape
    for key in ("val_mse", "train_mse", "weight_std", "mc_coverage", "hard_region_mse"):
        assert np.isfinite(view.metrics[key])
    assert 0.0 <= view.metrics["mc_coverage"] <= 1.0
