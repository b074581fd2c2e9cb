"""The article's claims, checked on the shipped checkpoints.

Each test states a claim and a threshold with the reason for it. Where our
reproduction disagrees with the article, the test pins down what we measured and
says so: thresholds are never bent to make the article right.
"""

import itertools

import numpy as np
import pytest

from regviz import store
from regviz.config import CANONICAL_DROPOUT, CANONICAL_L2, SEEDS, RunConfig
from regviz.model import N_PARAMETERS, PARAMETER_LAYOUT, weight_mask
from regviz.summary import metric_stats
from regviz.verdict import FUZZY_RATIO, hard_region, roughness, seed_spread_ratio
from regviz.views import PREDICTION_GRID


@pytest.fixture(scope="module")
def shipped():
    pretrained = store.load_views()
    assert pretrained.problems == []
    return pretrained


def runs(shipped, **setting):
    config = RunConfig(**setting)
    views = [shipped.runs[config.with_seed(seed).run_id] for seed in SEEDS]
    assert len(views) == len(SEEDS)
    return views


def values(views, metric):
    return np.array([v.metrics[metric] for v in views])


def mean(views, metric):
    return metric_stats(views, metric).mean


def test_unregularised_model_fits_close_to_the_noise_floor(shipped):
    """No regularisation: the validation MSE sits near the noise floor σ² = 0.0625.

    Measured against Var(y): the error above the floor is under 5 % of the
    variance the signal itself explains (a conventional "R² > 0.95"), for every
    seed. And no run can beat the floor: 2,000 validation points estimate it to
    ±3 % (one standard deviation), so 0.9 × floor is three of them below.
    """
    data = shipped.manifest["data"]
    floor, var = data["noise_floor_mse"], data["val_variance"]
    assert floor == pytest.approx(0.0625)
    val = values(runs(shipped), "val_mse")
    assert np.all((val - floor) / (var - floor) < 0.05)
    assert np.all(val > 0.9 * floor)
    # The clean curve is matched just as closely (error against the noise-free signal).
    signal_var = float(np.var(shipped.data["signal"]))
    assert np.all(values(runs(shipped), "prediction_error_vs_signal") / signal_var < 0.05)


def test_no_run_beats_the_noise_floor(shipped):
    floor = shipped.manifest["data"]["noise_floor_mse"]
    assert min(v.metrics["val_mse"] for v in shipped.runs.values()) > 0.9 * floor


def test_unregularised_fit_is_worst_in_the_hard_region(shipped):
    """What we built the data for: the fast wiggle at x = 11 is where the fit errs most.

    The hard-region MSE is several times the rest for every seed (measured:
    about 3×); the noise alone would make both equal to the floor.
    """
    views = runs(shipped)
    assert np.all(values(views, "hard_region_mse") > 2 * values(views, "easy_region_mse"))


def test_small_l2_is_flat_within_seed_noise(shipped):
    """For λ ≤ 1e-3 the validation MSE does not grow: each mean lies inside the λ = 0 seeds' range.

    The article's curves suggest a steady rise; ours are flat within the luck of
    the initialisation (the λ = 0 seeds alone span 0.094–0.148).
    """
    base = metric_stats(runs(shipped), "val_mse")
    for l2 in (1e-5, 1e-4, 1e-3):
        assert base.low <= mean(runs(shipped, l2=l2), "val_mse") <= base.high


@pytest.mark.parametrize("metric", ["val_mse", "train_mse"])
def test_losses_grow_with_l2_from_the_turning_point_on(shipped, metric):
    """From λ = 0.01 on each tenfold λ raises the mean loss; from λ = 0.1 every seed is above
    every λ = 0 seed."""
    strong = [lam for lam in CANONICAL_L2 if lam >= 0.01]
    means = [mean(runs(shipped, l2=lam), metric) for lam in strong]
    assert all(a < b for a, b in itertools.pairwise(means))
    base = values(runs(shipped), metric)
    for lam in (0.1, 1.0):
        assert values(runs(shipped, l2=lam), metric).min() > base.max()


@pytest.mark.parametrize("metric", ["val_mse", "train_mse"])
def test_losses_grow_with_dropout(shipped, metric):
    """Every step up in p raises the mean loss over the seeds, from p = 0 to p = 1.

    (The training MSE is measured with dropout on, as it is trained; see train.py.)
    """
    means = [mean(runs(shipped, dropout=p), metric) for p in CANONICAL_DROPOUT]
    assert all(a < b for a, b in itertools.pairwise(means))


def test_dropout_training_loss_sits_above_its_validation_loss(shipped):
    """Training MSE is taken with units dropped, validation with all units on: for p ≥ 0.1
    the training curve lies above the validation curve, the reverse of overfitting."""
    for p in CANONICAL_DROPOUT[1:-1]:
        views = runs(shipped, dropout=p)
        assert np.all(values(views, "train_mse") > values(views, "val_mse"))


def test_l2_1_prediction_is_a_flat_line_at_the_mean(shipped):
    """λ = 1: the curve keeps under 5 % of the signal's variation (a flat line on the chart),
    and its validation MSE is within 5 % of Var(y), which a constant only scores when it is
    within 0.22 σ_y of the mean."""
    views = runs(shipped, l2=1.0)
    assert np.all(values(views, "prediction_std_ratio") < 0.05)
    assert np.all(np.abs(values(views, "val_mse_over_var") - 1) < 0.05)
    for view in views:
        assert np.ptp(view.prediction) < 0.05 * np.ptp(shipped.data["signal"])


def test_l2_1_weights_collapse_to_zero_but_unpenalised_biases_do_not(shipped):
    """λ = 1: over 95 % of the weights are within 1e-3 of zero (under 1 % are at λ = 0).

    Our penalty leaves the biases alone (train.py), and they stay away from zero.
    Checked on the stored parameter vectors, not only the stored metric.
    """
    mask = weight_mask()
    for view in runs(shipped, l2=1.0):
        weights, biases = view.parameters[mask], view.parameters[~mask]
        near = np.mean(np.abs(weights) < 1e-3)
        assert near > 0.95
        assert near == pytest.approx(view.metrics["weight_fraction_near_zero"])
        assert np.mean(np.abs(biases) < 1e-3) < 0.5
    assert np.all(values(runs(shipped), "weight_fraction_near_zero") < 0.01)


@pytest.mark.parametrize("seed", SEEDS)
def test_p1_weights_are_bit_identical_to_their_initialisation(shipped, seed):
    """p = 1 drops every hidden unit in training, so no weight gets a gradient.

    Compared bit for bit with the shipped init file and through `load_pretrained`.
    Only the output bias (the last parameter) can move: the output is then
    ReLU(bias), which learns the data's level unless it starts negative.
    """
    view = shipped.runs[RunConfig(dropout=1.0, seed=seed).run_id]
    init = shipped.inits[seed]["parameters"]
    mask = weight_mask()
    assert view.metrics["weights_unchanged"] == 1.0
    assert np.array_equal(view.parameters[mask], init[mask])
    moved = np.flatnonzero(view.parameters != init)
    assert set(moved) <= {N_PARAMETERS - 1}
    assert PARAMETER_LAYOUT[-1][0] == "9.bias"

    run = store.load_pretrained(dropout=1.0, seed=seed)
    np.testing.assert_array_equal(run.parameters[mask], run.initial_parameters[mask])
    np.testing.assert_array_equal(run.initial_parameters, init)


def test_p1_eval_mode_curve_is_an_untrained_networks(shipped):
    """What the article does not show: with dropout off at prediction time, a p = 1 model is
    its untrained network. One seed (its output ReLU starts closed) predicts about zero, far
    below the data, so its validation MSE is several times Var(y)."""
    vov = values(runs(shipped, dropout=1.0), "val_mse_over_var")
    assert vov.min() > 0.95
    assert vov.max() > 3


def test_dropout_spreads_the_weights_wider_than_strong_l2(shipped):
    """Every trained dropout run (p = 0.1–0.9) has a larger weight std and IQR than every run
    with λ ≥ 0.01 (measured: at least 2× the std, about 1000× the IQR)."""
    dropout = [v for p in CANONICAL_DROPOUT if 0 < p < 1 for v in runs(shipped, dropout=p)]
    strong = [v for lam in CANONICAL_L2 if lam >= 0.01 for v in runs(shipped, l2=lam)]
    for metric in ("weight_std", "weight_iqr"):
        assert values(dropout, metric).min() > 1.5 * values(strong, metric).max()


def test_light_dropout_widens_the_weights_beyond_no_regularisation(shipped):
    """Not in the article: p ≤ 0.3 leaves the weights wider than no regularisation at all."""
    base = values(runs(shipped), "weight_std").max()
    for p in (0.1, 0.2, 0.3):
        assert values(runs(shipped, dropout=p), "weight_std").min() > base


def test_p01_curve_is_shakier_than_the_unregularised_fit(shipped):
    """Where the signal is smooth (away from x = 11), every p = 0.1 curve bends more than every
    unregularised one: its mean squared second difference on the grid is larger."""
    smooth = ~hard_region(PREDICTION_GRID)
    shaky = [roughness(v.prediction, smooth) for v in runs(shipped, dropout=0.1)]
    plain = [roughness(v.prediction, smooth) for v in runs(shipped)]
    assert min(shaky) > max(plain)
    assert np.mean(shaky) > 1.5 * np.mean(plain)


@pytest.mark.parametrize("p", [0.2, 0.3])
def test_dropout_band_is_not_wider_near_x11_at_p_02_03(shipped, p):
    """Disagreement with the article: at p = 0.2–0.3 we find no fuzzier region at x = 11.

    The Monte Carlo dropout band is no wider there than elsewhere (measured
    σ ratio 0.99 at p = 0.2 and 0.50 at p = 0.3), and the seeds disagree there
    barely more than elsewhere (1.1×), below the 25 % the verdict asks for. The
    fit's error is larger there (about 2×): the band does not show it.
    """
    views = runs(shipped, dropout=p)
    band = mean(views, "mc_hard_std") / mean(views, "mc_easy_std")
    assert band < 1.1
    assert seed_spread_ratio(views) < FUZZY_RATIO
    assert mean(views, "hard_region_mse") > 1.5 * mean(views, "easy_region_mse")


def test_p06_prediction_is_not_the_mean(shipped):
    """Disagreement with the article: p = 0.6 does not predict the mean in our data.

    Measured: the curve keeps about half the signal's variation (std ratio
    0.51–0.57) and explains about half the variance (val MSE / Var(y) 0.45–0.60);
    a line at the mean would give 0 and 1.
    """
    views = runs(shipped, dropout=0.6)
    assert np.all(values(views, "prediction_std_ratio") > 0.4)
    assert np.all(values(views, "val_mse_over_var") < 0.7)


def test_no_dropout_below_1_gives_a_flat_line(shipped):
    """Even p = 0.9 keeps over 10 % of the signal's variation (measured: about 18 %)."""
    for p in CANONICAL_DROPOUT[1:-1]:
        assert mean(runs(shipped, dropout=p), "prediction_std_ratio") > 0.1
