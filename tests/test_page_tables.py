"""The page's tables, settings and quoted numbers, tested without Streamlit."""

from __future__ import annotations

import numpy as np
import pytest

from regviz import density, store
from regviz.config import CANONICAL_DROPOUT, SEEDS, RunConfig
from regviz.layout import LEAKY_SLOPE
from regviz.registry import SWEEPS
from regviz.summary import curve_stats
from regviz.ui import densities, findings, forms, settings, tables
from regviz.views import PREDICTION_GRID, SNAPSHOT_EPOCHS, SNAPSHOT_GRID, RunView


@pytest.fixture(scope="module")
def pretrained() -> store.Pretrained:
    return store.load_views()


def fake_view(config: RunConfig, val_mse: float, length: int = 5, **metrics: float) -> RunView:
    """A RunView with flat histories: enough for the numbers the prose quotes."""
    flat = np.full(length, val_mse)
    return RunView(
        config=config,
        train_loss=flat,
        val_loss=flat,
        prediction=np.zeros_like(PREDICTION_GRID),
        weight_counts=np.zeros(density.VALUE_CENTRES.size, dtype=np.uint16),
        log_weight_counts=np.zeros(density.LOG_CENTRES.size, dtype=np.uint16),
        biases=np.zeros(193, dtype=np.float32),
        metrics={"val_mse": val_mse, "final_val_mse": val_mse, **metrics},
    )


def sweep_groups(pretrained, kind: str) -> list[tuple[str, list[RunView]]]:
    sweep = SWEEPS[kind]
    return [
        (sweep.label(v), settings.seed_views(pretrained.runs, sweep.config(v)))
        for v in sweep.values
    ]


# --- settings -----------------------------------------------------------------------


def test_each_sweep_lists_its_canonical_values_with_readable_labels():
    assert [s.label for s in settings.sweep("l2")][:3] == ["λ = 0", "λ = 1e-05", "λ = 0.0001"]
    assert settings.canonical("p", 0.3).config == RunConfig(dropout=0.3)
    assert settings.canonical("wd", 3.0).config == RunConfig(weight_decay=3.0)
    assert settings.canonical("l1", 0.0).config == RunConfig(), "zero is the shared baseline"
    sgd = settings.canonical("sgd", 0.01)
    assert sgd.config.optimizer == "sgd" and "SGD" in sgd.label


def test_comparable_settings_list_the_baseline_once():
    shown = settings.comparable_settings()
    configs = [s.config for s in shown]
    assert len(configs) == len(set(configs))
    assert settings.normalise_token("p:0") == "l2:0" == settings.normalise_token("l2:0")
    assert settings.setting_from_token("wd:0").config == RunConfig()
    assert settings.normalise_token("sgd:0") == "sgd:0", "SGD's baseline is a run of its own"


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
    assert settings.nearest_setting(config).token == token


def test_a_config_is_described_by_what_differs_from_no_regularisation():
    text = settings.describe_config(RunConfig(l2=0.003, dropout=0.1, n_train=300))
    assert text.startswith("λ = 0.003, p = 0.1, n = 300, seed 0")
    assert "2,500 epochs" in text


# --- tables for charts ----------------------------------------------------------------


def test_loss_table_holds_mean_and_range_over_seeds(pretrained):
    views = settings.seed_views(pretrained.runs, RunConfig(l2=0.01))
    assert len(views) == len(SEEDS)
    table = tables.loss_table([("λ = 0.01", views)])
    val = table[table["split"] == "validation"]
    mean, low, high = curve_stats([v.val_loss for v in views])
    np.testing.assert_allclose(val["mean"], mean, rtol=1e-6)
    np.testing.assert_allclose(val["low"], low, rtol=1e-6)
    np.testing.assert_allclose(val["high"], high, rtol=1e-6)
    assert list(val["epoch"]) == list(range(1, len(mean) + 1))


def test_a_long_history_is_thinned_but_keeps_its_last_epoch():
    view = fake_view(RunConfig(epochs=1000), 0.1, length=1000)
    table = tables.loss_table([("long", [view])])
    epochs = table[table["split"] == "training"]["epoch"]
    assert len(epochs) <= tables.MAX_CURVE_POINTS + 1
    assert epochs.iloc[-1] == 1000


def test_small_data_histories_are_drawn_at_their_recorded_epochs(pretrained):
    views = settings.seed_views(pretrained.runs, RunConfig(n_train=100))
    table = tables.loss_table([("n = 100", views)])
    assert table["epoch"].max() == views[0].config.epochs == 6250
    assert list(views[0].epoch_numbers[:2]) == [32, 64]


def test_the_focus_carries_the_detail_and_the_context_stays_light(pretrained):
    groups = sweep_groups(pretrained, "p")
    context, focus = tables.prediction_tables(groups)
    assert context.groupby("setting", observed=True).size().max() <= tables.FAINT_CURVE_POINTS
    assert set(context["setting"]) == {label for label, _ in groups}
    main, seeds = focus["p = 0.2"]["main"], focus["p = 0.2"]["seeds"]
    assert len(main) <= tables.MAX_CURVE_POINTS and set(main["setting"]) == {"p = 0.2"}
    assert seeds["line"].nunique() == len(SEEDS) - 1
    loss_context, loss_focus = tables.loss_tables(groups)
    assert loss_context.groupby(["setting", "split"], observed=True).size().max() <= (
        tables.LOSS_POINTS + 1
    )
    assert {"low", "high"} <= set(loss_focus["p = 0.2"]["band"].columns)


def test_predictions_at_a_stored_epoch_come_from_the_snapshots(pretrained):
    view = settings.seed_views(pretrained.runs, RunConfig(l2=0.01))[0]
    assert view.snapshot_epochs == SNAPSHOT_EPOCHS
    early = tables.curve_at(view, 5, tables.MAX_CURVE_POINTS)
    np.testing.assert_allclose(early["x"], SNAPSHOT_GRID.astype(np.float32))
    np.testing.assert_allclose(early["y"], view.snapshots["prediction"][3])
    last = tables.curve_at(view, 100, tables.MAX_CURVE_POINTS)
    np.testing.assert_allclose(last["y"], view.prediction[::2], rtol=1e-5, atol=1e-5)


def test_sample_table_subsamples_deterministically(pretrained):
    first = tables.sample_table(pretrained.data)
    assert len(first) == tables.SCATTER_POINTS
    assert first.equals(tables.sample_table(pretrained.data))
    everything = tables.sample_table(pretrained.data, n=None, with_split=True)
    assert len(everything) == pretrained.data["sample/x"].size
    assert set(everything["split"]) == {"training", "validation"}


def test_band_table_has_two_sigma_percentiles_one_pass_and_the_eval_curve(pretrained):
    dropout = settings.seed_views(pretrained.runs, RunConfig(dropout=0.2))[0]
    band = tables.band_table(dropout)
    np.testing.assert_allclose(band["high"] - band["mean"], band["mean"] - band["low"], atol=1e-5)
    assert (band["p_low"] <= band["p_high"]).all()
    assert not np.allclose(band["sample"], band["mean"]), "one pass is not the average"
    np.testing.assert_allclose(band["eval"], dropout.prediction[:: tables.stride(401)])
    assert tables.band_table(settings.seed_views(pretrained.runs, RunConfig())[0]) is None


def test_architecture_table_matches_the_model():
    from regviz.model import N_PARAMETERS, build_mlp

    table = tables.architecture_table()
    assert table["parameters"].sum() == N_PARAMETERS == 8513
    assert f"{LEAKY_SLOPE:g}" in table["activation"].iloc[0]
    model = build_mlp(0.3, seed=0)
    linear = [m for m in model if m.__class__.__name__ == "Linear"]
    assert list(table["weights"]) == [m.weight.numel() for m in linear]
    assert list(table["biases"]) == [m.bias.numel() for m in linear]


# --- densities that compare -------------------------------------------------------------


def l2_peaks(pretrained, options: densities.DensityOptions) -> dict[str, float]:
    groups = sweep_groups(pretrained, "l2")
    width = densities.bandwidth(groups[0][1], options)
    return {
        label: float(np.max(densities.setting_density(views, options, width)))
        for label, views in groups
    }


def test_with_one_bandwidth_the_lambda_1_spike_is_the_tallest_of_the_l2_sweep(pretrained):
    """The article's central L2 picture: at λ = 1 the weights collapse onto zero."""
    peaks = l2_peaks(pretrained, densities.DensityOptions())
    assert max(peaks, key=peaks.get) == "λ = 1"
    assert peaks["λ = 1"] > 2 * peaks["λ = 0"]


def test_the_bandwidth_is_scotts_rule_on_the_unregularised_weights(pretrained):
    base = settings.seed_views(pretrained.runs, RunConfig())
    weights = np.concatenate(
        [np.repeat(density.VALUE_CENTRES, v.weight_counts.astype(int)) for v in base]
    )
    expected = weights.std() * (weights.size / len(base)) ** (-1 / 5)
    width = densities.bandwidth(base, densities.DensityOptions())
    assert width == pytest.approx(expected, rel=1e-6)
    assert 5 * density.VALUE_STEP < width < 0.1


def test_a_density_integrates_to_one_on_either_axis(pretrained):
    view = settings.seed_views(pretrained.runs, RunConfig(dropout=0.3))[0]
    for axis, step in (("value", density.VALUE_STEP), ("log10", density.LOG_STEP)):
        options = densities.DensityOptions(axis=axis)
        curve = densities.run_density(view, options, 5 * step)
        assert curve.sum() * step == pytest.approx(1.0, abs=1e-3), axis


def test_the_density_table_keeps_every_peak_inside_its_visible_range(pretrained):
    options = densities.DensityOptions()
    groups = sweep_groups(pretrained, "l2")
    width = densities.bandwidth(groups[0][1], options)
    curves = {label: densities.setting_density(v, options, width) for label, v in groups}
    table = densities.density_table(curves, options, width)
    low, high = table.x_domain
    assert density.VALUE_CENTRES[0] <= low < high <= density.VALUE_CENTRES[-1]
    for label, curve in curves.items():
        rows = table.table[table.table["setting"] == label]
        assert rows["density"].max() == pytest.approx(curve.max(), rel=1e-6), label
        assert len(rows) <= density.DRAWN_POINTS + len(curves) + 1


def test_log10_view_separates_l2_collapse_by_orders_of_magnitude(pretrained):
    options = densities.DensityOptions(axis="log10")
    groups = dict(sweep_groups(pretrained, "l2"))
    width = densities.bandwidth(groups["λ = 0"], options)
    where = {
        label: float(
            density.LOG_CENTRES[np.argmax(densities.setting_density(views, options, width))]
        )
        for label, views in groups.items()
    }
    assert where["λ = 1"] < where["λ = 0"] - 2, "λ = 1 moves the typical weight 100× closer to 0"


def test_a_snapshot_density_is_the_run_at_that_epoch(pretrained):
    view = settings.seed_views(pretrained.runs, RunConfig(l2=1.0))[0]
    options = densities.DensityOptions()
    at_init = densities.run_density(view, options, 0.03, epoch=0)
    at_end = densities.run_density(view, options, 0.03)
    assert at_end.max() > 3 * at_init.max()
    before = densities.at_epoch(view, 0)
    np.testing.assert_array_equal(before.weight_counts, view.snapshots["weights"][0])


# --- numbers quoted in the prose --------------------------------------------------------


def test_learned_table_has_a_row_per_setting_with_seed_ranges(pretrained):
    shown = settings.comparable_settings()
    table = findings.learned_table(pretrained.runs, shown)
    assert len(table) == len(shown)
    assert (table["seeds"] == len(SEEDS)).all()
    column = findings.LEARNED_METRICS["final_val_mse"][0]
    assert all("(" in cell and "–" in cell for cell in table[column])


def test_comparison_table_gives_difference_and_ratio():
    a = [fake_view(RunConfig(), 0.2)]
    b = [fake_view(RunConfig(l2=0.1), 0.5)]
    table = findings.comparison_table("A", a, "B", b)
    row = table[table["measure"] == "validation MSE (last 10 epochs)"].iloc[0]
    assert (row["A"], row["B"], row["B − A"], row["B / A"]) == ("0.2", "0.5", "+0.3", "2.5")


def test_every_dropout_value_has_a_setting_on_the_page():
    assert [s.config.dropout for s in settings.sweep("p")] == list(CANONICAL_DROPOUT)


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
    assert forms.describe("epochs").startswith("a whole number from 1 to 20,000")
    assert forms.describe("l2") == "a number from 0 to 100"
