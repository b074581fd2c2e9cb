"""Section 7, the small-data regime: its numbers (on made-up and on stored runs) and its drawing."""

from __future__ import annotations

import json
from collections.abc import Callable

import altair as alt
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from regviz import charts, smalldata, store
from regviz.config import SEEDS, RunConfig
from regviz.registry import SMALL_DATA_N
from regviz.views import RunView

TIMEOUT = 120
FIELD = {"l2": "l2", "p": "dropout"}


def config_of(kind: str, n: int, value: float, seed: int = 0) -> RunConfig:
    """Written out by hand, not through the registry, so the registry is checked too."""
    return RunConfig(n_train=n, seed=seed, **{FIELD[kind]: value})


def fake_view(config: RunConfig, val: float, train: float) -> RunView:
    empty = np.zeros(1, dtype=np.float32)
    return RunView(
        config=config,
        train_loss=empty,
        val_loss=empty,
        prediction=np.zeros(401, dtype=np.float32),
        weight_counts=empty,
        log_weight_counts=empty,
        biases=empty,
        metrics={smalldata.VAL: val, smalldata.TRAIN: train},
    )


def fake_runs(
    val: Callable[[str, int, float, int], float | None], kinds=smalldata.KINDS
) -> dict[str, RunView]:
    """Every (kind, n, value, seed) whose `val` is not None, training MSE = val / 2."""
    runs = {}
    for kind in kinds:
        for n in SMALL_DATA_N:
            for value in smalldata.values(kind):
                for seed in SEEDS:
                    number = val(kind, n, value, seed)
                    if number is not None:
                        config = config_of(kind, n, value, seed)
                        runs[config.run_id] = fake_view(config, number, number / 2)
    return runs


# -- the rules, on made-up runs -------------------------------------------------------------------


def test_paired_counts_strict_wins_over_shared_seeds_only():
    assert smalldata.paired({0: 1.0, 1: 2.0, 2: 3.0}, {0: 1.5, 1: 2.0, 2: 2.0}) == (1, 3)
    assert smalldata.paired({0: 1.0, 2: 1.0}, {0: 2.0, 1: 2.0, 2: 2.0}) == (2, 2)
    assert smalldata.paired({}, {0: 1.0}) == (0, 0)


def test_best_by_n_picks_the_lowest_mean_above_zero_and_measures_it_against_zero():
    # Validation MSE 1 without regularisation; λ = 1e-3 best at n = 100 (0.5, 0.6, 1.2),
    # everything else 1.1; p never helps.
    def val(kind, n, value, seed):
        if kind == "l2" and n == 100 and value == 1e-3:
            return (0.5, 0.6, 1.2)[seed]
        return 1.0 if value == 0 else 1.1

    best = {b.n: b for b in smalldata.best_by_n(fake_runs(val), "l2")}
    assert list(best) == list(SMALL_DATA_N)
    top = best[100]
    assert (top.kind, top.value, top.paired_wins, top.seeds) == ("l2", 1e-3, 2, 3)
    assert top.val.mean == pytest.approx(2.3 / 3) and top.baseline.mean == pytest.approx(1.0)
    assert top.improvement == pytest.approx(1 - 2.3 / 3)
    assert not top.beats_on_every_seed
    # Ties go to the smallest value above zero; a loss is a negative improvement.
    assert best[300].value == 1e-5 and best[300].improvement == pytest.approx(-0.1)
    assert best[300].paired_wins == 0
    assert all(b.value > 0 for b in smalldata.best_by_n(fake_runs(val), "p"))


def test_best_by_n_skips_an_n_without_its_baseline_and_pairs_only_shared_seeds():
    def val(kind, n, value, seed):
        if n == 300 and value == 0:
            return None
        if n == 1000 and value == 0 and seed == 2:
            return None
        return 1.0 if value == 0 else 0.9

    best = {b.n: b for b in smalldata.best_by_n(fake_runs(val, ("l2",)), "l2")}
    assert 300 not in best
    assert (best[1000].paired_wins, best[1000].seeds) == (2, 2)
    assert best[1000].beats_on_every_seed


@pytest.mark.parametrize(
    ("helped", "expected"),
    [
        ({100, 300}, 1000),
        ({100, 300, 1000, 8000}, None),
        (set(), SMALL_DATA_N[0]),
        ({100, 1000}, 8000),
    ],
)
def test_stops_helping_is_the_smallest_n_from_which_nothing_wins_on_every_seed(helped, expected):
    def val(kind, n, value, seed):
        if value == 0:
            return 1.0
        if n in helped and value == 1e-4:
            return 0.9
        return 0.9 if seed == 0 else 1.2  # wins on one seed only: not enough

    runs = fake_runs(val, ("l2",))
    assert smalldata.stops_helping(runs, "l2") == expected
    winners = smalldata.every_seed_winners(runs, "l2")
    assert {n for n, won in winners.items() if won} == helped
    assert all(won == [1e-4] for won in winners.values() if won)


def test_tables_hold_one_row_per_setting_and_the_heatmap_is_relative_to_each_n():
    def val(kind, n, value, seed):
        return 100 / n * (1 + value) + 0.01 * seed

    runs = fake_runs(val)
    for kind in smalldata.KINDS:
        table = smalldata.settings_table(runs, kind)
        assert len(table) == len(SMALL_DATA_N) * len(smalldata.values(kind))
        assert (table["seeds"] == len(SEEDS)).all()
        assert np.allclose(table["train_mean"], table["val_mean"] / 2)
        assert (table["val_low"] <= table["val_mean"]).all()
        assert (table["val_mean"] <= table["val_high"]).all()
        heat = smalldata.heatmap_table(runs, kind)
        zero = heat["x"] == smalldata.value_label(kind, 0.0)
        assert np.allclose(heat.loc[zero, "ratio"], 1.0)
        assert set(heat.loc[zero, "wins"]) == {"baseline"}
        curves = smalldata.curve_table(runs, kind)
        assert set(curves["split"]) == {"validation", "training"}
        assert len(curves) == 2 * len(table)
    assert 1.0 not in smalldata.values("p")  # p = 1 exists for the full data only


# -- the stored runs ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs() -> dict[str, RunView]:
    pre = store.load_views()
    assert not pre.problems, [str(p) for p in pre.problems]
    return pre.runs


def by_hand(runs, kind, n, value) -> dict[int, float]:
    out = {}
    for seed in SEEDS:
        view = runs.get(config_of(kind, n, value, seed).run_id)
        if view is not None:
            out[seed] = view.metrics["final_val_mse"]
    return out


@pytest.mark.parametrize("kind", smalldata.KINDS)
def test_every_small_data_setting_is_stored_with_three_seeds_and_both_numbers(runs, kind):
    table = smalldata.settings_table(runs, kind)
    assert len(table) == len(SMALL_DATA_N) * len(smalldata.values(kind))
    assert (table["seeds"] == len(SEEDS)).all()
    for column in ("val_mean", "train_mean", "base_mean"):
        assert np.isfinite(table[column]).all(), column
    for row in table.itertuples():
        view = runs[config_of(kind, row.n, row.value).run_id]
        assert view.config.n_train == row.n
        assert view.config.epochs * -(-row.n // view.config.batch_size) >= 12_500


@pytest.mark.parametrize("kind", smalldata.KINDS)
def test_best_by_n_on_the_stored_runs_matches_a_computation_by_hand(runs, kind):
    best = smalldata.best_by_n(runs, kind)
    assert [b.n for b in best] == list(SMALL_DATA_N)
    for b in best:
        base = by_hand(runs, kind, b.n, 0.0)
        means = {
            v: np.mean(list(by_hand(runs, kind, b.n, v).values()))
            for v in smalldata.values(kind)
            if v > 0
        }
        assert b.value == min(means, key=lambda v: (means[v], v))
        assert b.val.mean == pytest.approx(means[b.value])
        assert b.baseline.mean == pytest.approx(np.mean(list(base.values())))
        mine = by_hand(runs, kind, b.n, b.value)
        assert b.paired_wins == sum(mine[s] < base[s] for s in SEEDS)
        assert b.seeds == len(SEEDS)
        assert b.improvement == pytest.approx(1 - means[b.value] / b.baseline.mean)


@pytest.mark.parametrize("kind", smalldata.KINDS)
def test_where_regularisation_stops_helping_on_the_stored_runs(runs, kind):
    won = {
        n: [
            v
            for v in smalldata.values(kind)
            if v > 0
            and all(by_hand(runs, kind, n, v)[s] < by_hand(runs, kind, n, 0.0)[s] for s in SEEDS)
        ]
        for n in SMALL_DATA_N
    }
    assert smalldata.every_seed_winners(runs, kind) == won
    later_clean = [
        n for i, n in enumerate(SMALL_DATA_N) if not any(won[m] for m in SMALL_DATA_N[i:])
    ]
    assert smalldata.stops_helping(runs, kind) == (later_clean[0] if later_clean else None)


def test_the_prose_names_what_the_numbers_say(runs):
    from regviz.ui import small_data

    for kind in smalldata.KINDS:
        text = small_data._findings(runs, kind)
        for b in smalldata.best_by_n(runs, kind):
            assert (
                f"at n = {b.n:,}, {b.label}: {b.val.mean:.3f} against {b.baseline.mean:.3f}" in text
            )
            assert f"{b.paired_wins} of {b.seeds} seeds" in text
        winners = smalldata.every_seed_winners(runs, kind)
        stops = smalldata.stops_helping(runs, kind)
        if not any(winners.values()):
            assert "At no stored n does" in text
        elif stops is not None:
            assert f"From n = {stops:,} on" in text
        else:
            assert f"Even at n = {max(winners):,}" in text
    budget = small_data._budget(runs)
    assert "6,250 epochs of 2 minibatches (12,500 steps)" in budget


def test_the_charts_are_valid_vega_lite(runs):
    for kind in smalldata.KINDS:
        order = [smalldata.value_label(kind, v) for v in smalldata.values(kind)]
        sizes = [smalldata.n_label(n) for n in SMALL_DATA_N]
        gap = charts.gap_chart(
            smalldata.curve_table(runs, kind),
            x_order=order,
            n_order=sizes,
            x_title=kind,
            floor=0.06,
        )
        heat = charts.ratio_heatmap(
            smalldata.heatmap_table(runs, kind), x_order=order, y_order=sizes, x_title=kind
        )
        for chart in (gap, heat):
            assert isinstance(chart, alt.TopLevelMixin)
            chart.to_dict(validate=True)


# -- the section on a page ------------------------------------------------------------------------


def _section_page() -> None:
    from regviz.ui import resources, small_data, url

    url.start()
    small_data.draw(resources.pretrained_dir())


def section(query: dict[str, str] | None = None, tab: str | None = None) -> AppTest:
    at = AppTest.from_function(_section_page, default_timeout=TIMEOUT)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    if tab is not None:
        at.session_state["small_data_tabs"] = tab
    return at.run()


def title_of(chart) -> str:
    title = json.loads(chart.proto.spec).get("title", "")
    return title.get("text", "") if isinstance(title, dict) else str(title)


def chart_titles(at: AppTest) -> list[str]:
    return [title_of(chart) for chart in at.get("vega_lite_chart")]


def markdown_of(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def test_the_section_draws_its_prose_table_and_first_chart(runs):
    at = section()
    assert not at.exception, [e.value for e in at.exception]
    assert [h.value for h in at.header] == ["7. When regularisation helps"]
    assert not at.warning
    (table,) = [m.value for m in at.markdown if m.value.startswith("| regulariser")]
    rows = [line.split(" | ") for line in table.splitlines()[2:]]
    assert [row[0].strip("| ") for row in rows] == ["L2"] * len(SMALL_DATA_N) + ["dropout"] * len(
        SMALL_DATA_N
    )
    assert [row[1] for row in rows] == [f"{n:,}" for n in SMALL_DATA_N] * 2
    titles = chart_titles(at)
    assert titles == ["Validation and training MSE against λ, per training-set size"]


@pytest.mark.parametrize(
    ("tab", "expected"),
    [
        ("Against p", ["Validation and training MSE against p, per training-set size"]),
        ("Heatmaps", ["L2: validation MSE", "dropout: validation MSE"]),
    ],
)
def test_each_tab_draws_its_charts(runs, tab, expected):
    at = section(tab=tab)
    assert not at.exception, [e.value for e in at.exception]
    titles = chart_titles(at)
    assert len(titles) == len(expected)
    assert all(t.startswith(e) for t, e in zip(titles, expected, strict=True))


def test_the_url_picks_n_regulariser_and_focus_and_opens_the_up_close_tab(runs):
    at = section({"n": "1000", "nreg": "p", "nfocus": "0.3"})
    assert not at.exception, [e.value for e in at.exception]
    assert not at.warning
    assert at.radio(key="pick_n").value == 1000
    assert at.radio(key="pick_nreg").value == "p"
    assert at.select_slider(key="pick_nfocus").value == "0.3"
    titles = chart_titles(at)
    for view in ("Predictions", "Loss per epoch", "Parameter density"):
        assert any(t.startswith(view) for t in titles), titles
    assert "**n = 1,000, p = 0.3.**" in markdown_of(at)


def test_best_focus_follows_the_picked_n_and_a_foreign_focus_falls_back_to_best(runs):
    at = section({"n": "100", "nreg": "p", "nfocus": "0.001"})
    assert not at.exception, [e.value for e in at.exception]
    assert at.select_slider(key="pick_nfocus").value == "best"
    best = next(b for b in smalldata.best_by_n(runs, "p") if b.n == 100)
    assert f"**n = 100, p = {best.value:g}.**" in markdown_of(at)


def test_switching_the_regulariser_keeps_a_shared_focus_and_resets_a_foreign_one(runs):
    at = section({"n": "300", "nreg": "l2", "nfocus": "0.001"})
    assert at.select_slider(key="pick_nfocus").value == "0.001"
    assert "**n = 300, λ = 0.001.**" in markdown_of(at)
    at.radio(key="pick_nreg").set_value("p").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.select_slider(key="pick_nfocus").value == "best"
    assert (at.query_params["nreg"], at.query_params["nfocus"]) == ("p", "best")
    at.select_slider(key="pick_nfocus").set_value("0.1").run()
    at.radio(key="pick_nreg").set_value("l2").run()
    assert at.select_slider(key="pick_nfocus").value == "0.1"  # λ = 0.1 exists too
    assert "**n = 300, λ = 0.1.**" in markdown_of(at)
    assert at.query_params["n"] == "300"
