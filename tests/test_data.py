"""The signal and its split: fixed, reachable by a ReLU output, hard near x = 11."""

import subprocess
import sys

import numpy as np
import pytest

from regviz.data import (
    HARD_CENTRE,
    N_POINTS,
    N_TRAIN,
    NOISE_STD,
    X_MAX,
    X_MIN,
    make_dataset,
    make_signal,
)


def test_dataset_has_the_articles_size_and_an_80_20_split():
    data = make_dataset()
    assert data.x_train.shape == data.y_train.shape == (N_TRAIN,)
    assert data.x_val.shape == data.y_val.shape == (N_POINTS - N_TRAIN,)
    assert N_TRAIN == 8000
    for array in (data.x_train, data.y_train, data.x_val, data.y_val):
        assert array.dtype == np.float32 and array.ndim == 1


def test_dataset_arrays_are_read_only_so_a_cached_copy_cannot_be_altered():
    data = make_dataset()
    with pytest.raises(ValueError):
        data.y_train[0] = 0.0


def test_dataset_is_the_same_every_time_and_splits_disjoint_x():
    fresh = make_dataset.__wrapped__()
    cached = make_dataset()
    np.testing.assert_array_equal(fresh.x_val, cached.x_val)
    np.testing.assert_array_equal(fresh.y_train, cached.y_train)
    assert not set(fresh.x_train.tolist()) & set(fresh.x_val.tolist())
    assert fresh.x_train.min() >= X_MIN and fresh.x_train.max() <= X_MAX


def test_clean_signal_stays_four_noise_sigmas_above_zero_for_the_relu_output():
    grid = np.linspace(X_MIN, X_MAX, 20_001)
    assert make_signal()(grid).min() >= 4 * NOISE_STD - 1e-9


def test_noise_is_the_documented_level_which_sets_the_mse_floor():
    data = make_dataset()
    residual = np.concatenate(
        [data.y_train - data.signal(data.x_train), data.y_val - data.signal(data.x_val)]
    )
    assert residual.std() == pytest.approx(NOISE_STD, rel=0.03)
    assert data.noise_floor == pytest.approx(NOISE_STD**2)


def test_curvature_is_largest_around_the_hard_region_near_x_11():
    grid = np.linspace(X_MIN, X_MAX, 4001)
    curvature = np.abs(np.gradient(np.gradient(make_signal()(grid), grid), grid))
    hard = np.abs(grid - HARD_CENTRE) <= 1.0
    assert curvature[hard].max() > 3 * curvature[~hard].max()


def test_signal_formula_names_its_parts_and_coefficients():
    signal = make_signal()
    formula = signal.formula()
    for symbol in ("Σₖ₌₁⁵", "Aₖ", "Bₖ", "Cₖ", "ε", "x₀", "ω"):
        assert symbol in formula
    coefficients = signal.coefficients()
    assert len(coefficients["A"]) == len(coefficients["B"]) == len(coefficients["C"]) == 5
    assert coefficients["sigma"] == NOISE_STD


def test_reading_the_formula_does_not_import_scikit_learn():
    code = (
        "import sys, regviz.data as d; d.make_signal().formula(); print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_split_is_scikit_learns_train_test_split_to_the_index():
    """We split in numpy (a training worker should not load scikit-learn); it must agree."""
    from sklearn.model_selection import train_test_split

    from regviz.data import N_POINTS, SPLIT_SEED, VAL_FRACTION, split_indices

    points = np.arange(N_POINTS)
    train, val = train_test_split(points, test_size=VAL_FRACTION, random_state=SPLIT_SEED)
    ours_train, ours_val = split_indices(N_POINTS, VAL_FRACTION, SPLIT_SEED)
    np.testing.assert_array_equal(ours_train, train)
    np.testing.assert_array_equal(ours_val, val)
