"""Densities, summary numbers and MC-dropout bands are computed the way the page describes them."""

import numpy as np
import pytest

from regviz import density
from regviz.analysis import describe_run, final_mean, mc_dropout, parameter_metrics
from regviz.config import RunConfig
from regviz.data import Dataset, control_region, hard_region, make_dataset, make_signal
from regviz.train import fit
from regviz.views import PREDICTION_GRID, SNAPSHOT_GRID, RunView


@pytest.fixture(scope="module")
def short_dropout_run():
    full = make_dataset()
    data = Dataset(
        full.x_train[:640], full.y_train[:640], full.x_val, full.y_val, full.signal, 0.25
    )
    return fit(RunConfig(dropout=0.3, epochs=2), dataset=data, snapshots=(0, 1, 2), norms=True)


def test_a_binned_density_of_a_normal_sample_matches_the_normal():
    values = np.random.default_rng(0).normal(0, 0.3, 5000)
    counts = density.value_counts(values)
    curve = density.smooth(counts, density.VALUE_CENTRES, density.scott_bandwidth(values))
    assert curve.sum() * density.VALUE_STEP == pytest.approx(1.0, abs=1e-3)
    grid = density.VALUE_CENTRES
    truth = np.exp(-0.5 * (grid / 0.3) ** 2) / (0.3 * np.sqrt(2 * np.pi))
    assert np.abs(curve - truth).max() < 0.1 * truth.max()


def test_binning_matches_an_exact_kde_to_a_fraction_of_a_percent():
    values = np.random.default_rng(3).normal(0.1, 0.2, 3000)
    width = 0.03
    exact = density.gaussian_kde(values, density.VALUE_CENTRES, width)
    binned = density.smooth(density.value_counts(values), density.VALUE_CENTRES, width)
    assert np.abs(binned - exact).max() < 0.01 * exact.max()


def test_a_spike_of_collapsed_weights_is_as_tall_as_its_bandwidth_allows():
    """With one bandwidth h, a set squeezed onto zero peaks at 1/(h√2π): the tallest possible."""
    width = 0.03
    spike = density.smooth(density.value_counts(np.full(8000, 2e-9)), density.VALUE_CENTRES, width)
    spread = density.value_counts(np.random.default_rng(1).normal(0, 0.2, 8000))
    assert spike.max() == pytest.approx(1 / (width * np.sqrt(2 * np.pi)), rel=0.01)
    assert spike.max() > 5 * density.smooth(spread, density.VALUE_CENTRES, width).max()


def test_log_counts_put_each_weight_at_its_order_of_magnitude():
    counts = density.log_counts(np.array([1e-9, -1e-9, 0.1, 0.0, 1e-30]))
    assert counts.sum() == 5
    assert counts[np.argmin(np.abs(density.LOG_CENTRES + 9))] == 2
    assert counts[0] == 2, "zeros and anything below 1e-20 land in the first bin"


def test_values_beyond_the_bins_are_dropped_not_piled_at_the_edge():
    counts = density.value_counts(np.array([0.0, 10.0, -10.0]))
    assert counts.sum() == 1 and counts[0] == 0 and counts[-1] == 0


def test_the_control_region_matches_the_hard_regions_level():
    clean = make_signal()(PREDICTION_GRID)
    hard, control = hard_region(PREDICTION_GRID), control_region(PREDICTION_GRID, clean)
    assert not (hard & control).any() and control.sum() > 50
    assert abs(clean[control].mean() - clean[hard].mean()) < 0.25
    assert clean[~hard].mean() - clean[hard].mean() > 1


def test_parameter_metrics_measure_collapse_and_distance_from_init():
    initial = np.random.default_rng(2).uniform(-0.1, 0.1, 8513).astype(np.float32)
    metrics = parameter_metrics(np.zeros(8513, dtype=np.float32), initial)
    assert metrics["fraction_near_zero"] == 1.0
    assert metrics["relative_change"] == pytest.approx(1.0)
    same = parameter_metrics(initial, initial)
    assert same["weights_unchanged"] == 1.0 and same["relative_change"] == 0.0


def test_the_final_number_averages_the_last_tenth_of_a_history():
    assert final_mean(np.arange(100.0)) == pytest.approx(np.arange(90, 100).mean())
    assert final_mean(np.array([3.0, 5.0])) == 5.0


def test_mc_dropout_is_seeded_and_leaves_the_model_in_eval_mode(short_dropout_run):
    mean_a, std_a = mc_dropout(short_dropout_run, PREDICTION_GRID, passes=20)
    mean_b, std_b = mc_dropout(short_dropout_run, PREDICTION_GRID, passes=20)
    np.testing.assert_array_equal(mean_a, mean_b)
    np.testing.assert_array_equal(std_a, std_b)
    assert std_a.mean() > 0
    assert not short_dropout_run.model.training


def test_describe_run_has_every_view_the_page_draws(short_dropout_run):
    view = describe_run(short_dropout_run)
    assert view.prediction.shape == PREDICTION_GRID.shape
    assert view.weight_counts.sum() == 8320
    assert view.biases.shape == (193,)
    assert set(view.mc) == {"mean", "std", "low", "high", "sample"}
    assert (view.mc["low"] <= view.mc["high"]).all()
    assert view.snapshot_epochs == (0, 1, 2)
    assert view.snapshots["prediction"].shape == (3, SNAPSHOT_GRID.size)
    assert view.norms.shape == (3, 8)
    for key in (
        "val_mse",
        "final_val_mse",
        "train_mse_eval",
        "weight_std",
        "mc_coverage",
        "mc_relative_hard",
        "mc_relative_control",
        "clean_coverage_hard",
    ):
        assert np.isfinite(view.metrics[key]), key
    assert 0.0 <= view.metrics["mc_coverage"] <= 1.0


def test_a_view_survives_its_file_format(short_dropout_run):
    view = describe_run(short_dropout_run)
    again = RunView.from_arrays(view.config, view.metrics, view.arrays())
    for name, array in view.arrays().items():
        np.testing.assert_array_equal(again.arrays()[name], array, err_msg=name)


def test_a_small_data_view_keeps_densities_but_not_the_parameters(short_dropout_run):
    view = describe_run(short_dropout_run, keep_parameters=False)
    assert view.parameters is None and view.snapshots == {} and view.norms is None
    assert view.weight_counts.sum() > 0
