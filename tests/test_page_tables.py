"""The page's tables, quoted numbers and form checks, tested without Streamlit."""

from __future__ import annotations

import numpy as np
import pytest

from regviz import layout, store
from regviz.config import CANONICAL_DROPOUT, CANONICAL_L2, SEEDS, RunConfig
from regviz.data import HARD_CENTRE, HARD_HALF_WIDTH
from regviz.summary import curve_stats
from regviz.ui import findings, forms, tables
from regviz.views import KDE_GRID, PREDICTION_GRID, RunView


@pytest.fixture(scope="module")
def pretrained() -> store.Pretrained:
    return store.load_views()


def fake_view(config: RunConfig, val_mse: float, **metrics: float) -> RunView:
    """A RunView with flat histories: enough for the numbers the prose quotes."""
    flat = np.full(5, val_mse)
    return RunView(
        config=config,
        train_loss=flat,
        val_loss=flat,
        prediction=np.zeros_like(PREDICTION_GRID),
        kde={},
        metrics={"val_mse": val_mse, **metrics},
    )


# --- settings -----------------------------------------------------------------------


def test_each_sweep_lists_its_canonical_values_with_readable_labels():
    assert [s.label for s in tables.sweep("l2")][:3] == ["λ = 0", "λ = 1e-05", "λ = 0.0001"]
    assert tables.canonical("p", 0.3).config == RunConfig(dropout=0.3)
    assert tables.canonical("wd", 3.0).config == RunConfig(weight_decay=3.0)
    assert tables.canonical("l1", 0.0).config == RunConfig(), "zero is the shared baseline"


def test_comparable_settings_list_the_baseline_once():
    settings = tables.comparable_settings()
    configs = [s.config for s in settings]
    assert len(configs) == len(set(configs))
    assert tables.normalise_token("p:0") == "l2:0" == tables.normalise_token("l2:0")
    assert tables.setting_from_token("wd:0").config == RunConfig()


@pytest.mark.parametrize(
    ("config", "token"),
    [
        (RunConfig(l2=0.002), "l2:0.001"),
        (RunConfig(l2=0.05), "l2:0.1"),
        (RunConfig(dropout=0.33), "p:0.3"),
        (RunConfig(l2=1e-8), "l2:0"),
        (RunConfig(weight_decay=2.5), "wd:3"),
    ],
)
def test_a_custom_run_is_set_beside_the_nearest_stored_setting(config, token):
    assert tables.nearest_setting(config).token == token


# --- tables for charts ----------------------------------------------------------------


def test_loss_table_holds_mean_and_range_over_seeds(pretrained):
    views = tables.seed_views(pretrained.runs, RunConfig(l2=0.01))
    assert len(views) == len(SEEDS)
    table = tables.loss_table([("λ = 0.01", views)])
    val = table[table["split"] == "validation"]
    mean, low, high = curve_stats([v.val_loss for v in views])
    np.testing.assert_allclose(val["mean"], mean, rtol=1e-6)
    np.testing.assert_allclose(val["low"], low, rtol=1e-6)
    np.testing.assert_allclose(val["high"], high, rtol=1e-6)
    assert list(val["epoch"]) == list(range(1, len(mean) + 1))


def test_long_histories_are_thinned_but_keep_their_last_epoch():
    view = fake_view(RunConfig(epochs=1000), 0.1)
    view = RunView(view.config, np.arange(1000.0), np.arange(1000.0), view.prediction, {}, {})
    table = tables.loss_table([("long", [view])])
    epochs = table[table["split"] == "training"]["epoch"]
    assert len(epochs) <= tables.MAX_CURVE_POINTS + 1
    assert epochs.iloc[-1] == 1000


def test_prediction_table_keeps_every_seed_on_at_most_201_points(pretrained):
    groups = [(s.label, tables.seed_views(pretrained.runs, s.config)) for s in tables.sweep("p")]
    table = tables.prediction_table(groups)
    per_line = table.groupby("line", observed=True).size()
    assert per_line.max() <= tables.MAX_CURVE_POINTS
    assert len(per_line) == len(CANONICAL_DROPOUT) * len(SEEDS)
    assert set(table["rank"]) == {0, 1, 2}
    assert str(table["setting"].dtype) == "category", "labels travel dictionary-encoded"


def test_kde_table_shows_only_the_visible_range_and_keeps_every_peak(pretrained):
    groups = [
        (s.label, [v.kde["all"] for v in tables.seed_views(pretrained.runs, s.config)])
        for s in tables.sweep("l2")
    ]
    dens = tables.kde_table(groups)
    low, high = dens.x_domain
    assert KDE_GRID[0] <= low < high <= KDE_GRID[-1]
    assert high - low < KDE_GRID[-1] - KDE_GRID[0]
    for label, arrays in groups:
        curve = np.mean(arrays, axis=0)
        rows = dens.table[dens.table["setting"] == label]
        assert len(rows) <= tables.MAX_CURVE_POINTS + len(groups)
        assert rows["density"].max() == pytest.approx(curve.max(), rel=1e-6), label
    assert dens.table["density"].min() >= dens.floor


def test_clip_height_is_twice_the_lowest_peak_unless_nothing_stands_out():
    assert tables.clip_height([np.array([1.0, 2.0]), np.array([40.0])]) == pytest.approx(4.2)
    assert tables.clip_height([np.array([2.0]), np.array([3.0])]) == pytest.approx(3.15)


def test_sample_table_subsamples_deterministically(pretrained):
    first = tables.sample_table(pretrained.data)
    assert len(first) == tables.SCATTER_POINTS
    assert first.equals(tables.sample_table(pretrained.data))
    everything = tables.sample_table(pretrained.data, n=None, with_split=True)
    assert len(everything) == pretrained.data["sample/x"].size
    assert set(everything["split"]) == {"training", "validation"}


def test_band_table_is_two_sigma_either_side_and_absent_without_dropout(pretrained):
    dropout = tables.seed_views(pretrained.runs, RunConfig(dropout=0.2))[0]
    band = tables.band_table(dropout)
    np.testing.assert_allclose(band["high"] - band["mean"], band["mean"] - band["low"], atol=1e-5)
    assert tables.band_table(tables.seed_views(pretrained.runs, RunConfig())[0]) is None


def test_hard_region_is_the_one_the_metrics_use():
    assert tables.HARD_REGION == (HARD_CENTRE - HARD_HALF_WIDTH, HARD_CENTRE + HARD_HALF_WIDTH)


def test_architecture_table_matches_the_model():
    from regviz.model import LEAKY_SLOPE, N_PARAMETERS, build_mlp

    table = tables.architecture_table()
    assert table["parameters"].sum() == N_PARAMETERS == 8513
    assert tables.LEAKY_SLOPE == LEAKY_SLOPE
    model = build_mlp(0.3, seed=0)
    linear = [m for m in model if m.__class__.__name__ == "Linear"]
    assert list(table["weights"]) == [m.weight.numel() for m in linear]
    assert list(table["biases"]) == [m.bias.numel() for m in linear]


def test_layer_slices_cover_each_layer_of_the_flat_vector():
    layers = layout.layer_of_parameter()
    mask = layout.weight_mask()
    for index, (weights, biases) in enumerate(tables.layer_slices().values(), start=1):
        assert (layers[weights] == index).all() and mask[weights].all()
        assert (layers[biases] == index).all() and not mask[biases].any()


# --- numbers quoted in the prose --------------------------------------------------------


def l2_sweep(per_seed_mse: list[tuple[float, float, float]]) -> dict:
    runs = {}
    for value, seeds in zip(CANONICAL_L2, per_seed_mse, strict=True):
        for seed, mse in zip(SEEDS, seeds, strict=True):
            view = fake_view(RunConfig(l2=value, seed=seed), mse)
            runs[view.config.run_id] = view
    return runs


def test_turning_point_is_the_first_value_whose_every_seed_beats_every_unregularised_one():
    runs = l2_sweep(
        [
            (0.10, 0.12, 0.14),  # λ = 0
            (0.09, 0.11, 0.13),
            (0.10, 0.12, 0.15),  # overlaps λ = 0: not clearly worse, although its mean is higher
            (0.13, 0.16, 0.20),
            (0.15, 0.19, 0.30),  # lowest seed 0.15 > highest unregularised 0.14: clearly worse
            (0.70, 0.80, 0.90),
            (2.0, 2.1, 2.2),
        ]
    )
    turn = findings.turning_point(runs, "l2")
    assert (turn.last_good, turn.first_bad) == (0.001, 0.01)
    assert turn.unregularised_mse.high == pytest.approx(0.14)
    assert turn.jump == pytest.approx(turn.first_bad_mse.mean / turn.last_good_mse.mean)


def test_turning_point_is_none_when_the_fit_never_breaks_or_runs_are_missing():
    assert findings.turning_point(l2_sweep([(0.1, 0.11, 0.12)] * 7), "l2") is None
    assert findings.turning_point({}, "l2") is None


def test_page_and_verdict_place_the_shipped_l2_turning_point_alike(pretrained):
    from regviz.verdict import CLAIMS, article_verdicts

    turn = findings.turning_point(pretrained.runs, "l2")
    (verdict,) = [v for v in article_verdicts(pretrained) if v.claim == CLAIMS["turning_point"]]
    assert verdict.evidence["last flat λ"] == turn.last_good
    assert verdict.evidence["first clearly worse λ"] == turn.first_bad


def test_learned_table_has_a_row_per_setting_with_seed_ranges(pretrained):
    settings = tables.comparable_settings()
    table = findings.learned_table(pretrained.runs, settings)
    assert len(table) == len(settings)
    assert (table["seeds"] == len(SEEDS)).all()
    assert all("(" in cell and "–" in cell for cell in table["final validation MSE"])


def test_comparison_table_gives_difference_and_ratio():
    a = [fake_view(RunConfig(), 0.2)]
    b = [fake_view(RunConfig(l2=0.1), 0.5)]
    table = findings.comparison_table("A", a, "B", b)
    row = table[table["measure"] == "final validation MSE"].iloc[0]
    assert (row["A"], row["B"], row["B − A"], row["B / A"]) == ("0.2", "0.5", "+0.3", "2.5")


# --- the custom-run form ----------------------------------------------------------------


def test_valid_form_text_becomes_a_run_config():
    config, errors = forms.read_form({"l2": " 3e-3 ", "p": "0.25", "epochs": "2", "seed": "7"})
    assert errors == []
    assert config == RunConfig(l2=0.003, dropout=0.25, epochs=2, seed=7)


@pytest.mark.parametrize(
    ("field", "text", "phrase"),
    [
        ("l2", "-1", "cannot be negative"),
        ("l2", "nan", "NaN"),
        ("l2", "inf", "Infinity"),
        ("l2", "101", "teach nothing"),
        ("p", "1.01", "probability"),
        ("p", "-0.2", "probability"),
        ("epochs", "0", "at least 1"),
        ("epochs", "2.5", "whole number"),
        ("seed", "seven", "not a number"),
    ],
)
def test_bad_form_text_gets_a_message_naming_the_field_and_its_range(field, text, phrase):
    fields = {"l2": "0", "p": "0", "epochs": "2", "seed": "0", field: text}
    config, errors = forms.read_form(fields)
    assert config is None
    assert len(errors) == 1
    reader_name = forms.FIELDS[field][1]
    assert errors[0].startswith(reader_name)
    assert phrase in errors[0]
    assert forms.describe(forms.FIELDS[field][0]) in errors[0]


def test_every_bad_field_is_reported_at_once():
    config, errors = forms.read_form({"l2": "x", "p": "2", "epochs": "-1", "seed": "0.5"})
    assert config is None and len(errors) == 4


def test_range_descriptions_read_as_plain_words():
    assert forms.describe("dropout") == "a number from 0 to 1"
    assert forms.describe("epochs") == "a whole number from 1 to 1,000"
    assert forms.describe("l2") == "a number from 0 to 100"
