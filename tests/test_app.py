"""The page, driven headless through AppTest: it renders, links work, input is checked."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from regviz import store
from regviz.config import CANONICAL_DROPOUT, CANONICAL_L1, CANONICAL_L2, CANONICAL_WEIGHT_DECAY
from regviz.ui import beyond
from regviz.ui.resources import DIR_ENV

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")
TIMEOUT = 120
#: The whole default page's chart data (specs plus Arrow datasets) stays below this.
PAGE_CHART_BUDGET = 2_000_000
SECTIONS = [
    "1. Why regularise",
    "2. The data",
    "3. The model",
    "4. The unregularised baseline",
    "5. L2 regularisation",
    "6. Dropout",
    "Beyond the article",
    "7. What we learned",
]


def page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    return at.run()


def specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def titles(at: AppTest) -> list[str]:
    out = []
    for spec in specs(at):
        title = spec.get("title")
        out.append(title.get("text", "") if isinstance(title, dict) else str(title or ""))
    return out


def focus_of(at: AppTest, title_start: str) -> str:
    """The `focus` parameter of the first chart whose title starts with `title_start`."""
    for spec, title in zip(specs(at), titles(at), strict=True):
        if title.startswith(title_start):
            return next(p["value"] for p in spec["params"] if p["name"] == "focus")
    raise AssertionError(f"no chart titled {title_start!r}…; titles: {titles(at)}")


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture(scope="module")
def default_page() -> AppTest:
    return page()


def test_page_renders_every_section_in_reading_order_without_exception(default_page):
    assert_clean(default_page)
    assert [h.value for h in default_page.header] == SECTIONS
    assert [t.label for t in default_page.tabs] == list(beyond.TABS)
    assert not default_page.error
    assert not default_page.warning


def test_page_draws_every_chart_and_stays_light(default_page):
    charts = default_page.get("vega_lite_chart")
    # data, 3 baseline, 3 × (L2, dropout, L1, AdamW), MC band, layers, 3 comparison
    assert len(charts) == 21
    size = sum(len(c.proto.spec) + sum(len(d.data.data) for d in c.proto.datasets) for c in charts)
    assert size < PAGE_CHART_BUDGET
    assert all(c.proto.datasets for c in charts), "data travels as Arrow datasets"


def test_prose_quotes_measured_numbers_and_credits_the_article(default_page):
    text = " ".join(m.value for m in default_page.markdown)
    assert "towardsdatascience.com/a-visual-intuition-for-regularization" in text
    assert "Kelvin Lee" in text
    assert "proceedings.mlr.press/v48/gal16" in text
    assert "The turning point." in text and "A spike at zero." in text
    assert "8,513 parameters" in text
    latex = [element.value for element in default_page.latex]
    assert any(r"\sum_{k=1}^{5}" in body for body in latex)
    assert any(r"\lVert W_l \rVert_F^2" in body for body in latex)


def test_page_shows_the_verdict_and_coverage_tables(default_page):
    verdicts = [t for t in default_page.table if "The article says" in str(t.value.columns)]
    assert verdicts and len(verdicts[0].value) >= 8
    coverage = [d for d in default_page.dataframe if "p" in d.value.columns]
    assert any(len(d.value) == len(CANONICAL_DROPOUT) - 1 for d in coverage)


@pytest.mark.parametrize(
    ("kind", "values", "title"),
    [
        ("l2", CANONICAL_L2, "Predictions, λ ="),
        ("p", CANONICAL_DROPOUT, "Predictions, p ="),
        ("l1", CANONICAL_L1, "Predictions, λ₁ ="),
        ("wd", CANONICAL_WEIGHT_DECAY, "Predictions, decay ="),
    ],
)
def test_every_canonical_value_can_be_selected_and_lands_in_the_url(kind, values, title):
    at = page()
    symbol = title.removeprefix("Predictions, ").removesuffix(" =")
    for value in values:
        at.select_slider(key=f"pick_{kind}").set_value(value).run()
        assert_clean(at)
        assert at.query_params[kind] == f"{value:g}"
        assert focus_of(at, title) == f"{symbol} = {value:g}"


def test_a_link_opens_the_view_it_names():
    at = page({"l2": "0.1", "p": "0.6", "l1": "0.01", "wd": "10", "kde": "log"})
    assert_clean(at)
    assert not at.warning
    assert at.select_slider(key="pick_l2").value == 0.1
    assert at.select_slider(key="pick_p").value == 0.6
    assert focus_of(at, "Predictions, λ =") == "λ = 0.1"
    assert focus_of(at, "Predictions, decay =") == "decay = 10"
    density = next(s for s, t in zip(specs(at), titles(at), strict=True) if "density" in t)
    scales = [layer["encoding"]["y"].get("scale", {}) for layer in density["layer"]]
    assert all(scale.get("type") == "log" for scale in scales)


@pytest.mark.parametrize(
    ("query", "mentions"),
    [
        ({"l2": "banana"}, "l2"),
        ({"l2": "0.5"}, "l2"),
        ({"l2": "nan"}, "l2"),
        ({"p": "1.5"}, "p"),
        ({"wd": "-1"}, "wd"),
        ({"a": "l2:0.02"}, "a"),
        ({"b": "sgd:1"}, "sgd"),
        ({"kde": "wide"}, "kde"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_query_parameters_warn_and_fall_back_to_the_default(query, mentions):
    at = page(query)
    assert_clean(at)
    assert at.warning, "a bad parameter must be reported"
    assert any(mentions in w.value for w in at.warning)
    assert len(at.get("vega_lite_chart")) == 21
    assert at.select_slider(key="pick_l2").value == 0.01


def test_changing_the_density_axis_redraws_every_density_on_a_log_scale():
    at = page()
    at.radio(key="pick_kde").set_value("log").run()
    assert_clean(at)
    assert at.query_params["kde"] == "log"
    densities = [s for s, t in zip(specs(at), titles(at), strict=True) if "density" in t]
    assert len(densities) >= 5
    for spec in densities:
        assert spec["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"


def test_comparison_overlays_two_settings_named_in_the_url():
    at = page({"a": "l1:0.01", "b": "p:0.3"})
    assert_clean(at)
    numbers = next(d.value for d in at.dataframe if "B − A" in d.value.columns)
    assert {"A · λ₁ = 0.01", "B · p = 0.3"} <= set(numbers.columns)
    assert "final validation MSE" in set(numbers["measure"])
    at.selectbox(key="pick_a").select("wd:3").run()
    assert at.query_params["a"] == "wd:3"


def test_comparing_with_a_custom_run_before_training_one_says_so():
    at = page({"b": "custom"})
    assert_clean(at)
    assert any("Nothing to compare yet" in i.value for i in at.info)


def test_a_custom_value_trains_with_progress_and_its_charts_appear():
    at = page()
    before = len(at.get("vega_lite_chart"))
    at.text_input(key="custom_l2").input("0.003")
    at.text_input(key="custom_p").input("0.1")
    at.text_input(key="custom_epochs").input("2")
    at.button(key="FormSubmitter:custom_form-Train").click().run()
    assert_clean(at)
    assert not at.error
    assert any(
        m.value.startswith("Trained on") and ("CPU" in m.value or "GPU" in m.value)
        for m in at.markdown
    )
    assert "Your run beside the nearest stored setting" in [s.value for s in at.subheader]
    pair = len(at.get("vega_lite_chart")) - before
    assert pair == 3  # the three views against λ = 0.001 (the live chart gave way to them)
    config = at.session_state["custom_config"]
    assert (config.l2, config.dropout, config.epochs) == (0.003, 0.1, 2)
    # later reruns show the cached run without training again, and it can be compared
    at.selectbox(key="pick_b").select("custom").run()
    assert_clean(at)
    assert at.query_params["b"] == "custom"
    numbers = [d.value for d in at.dataframe if "B − A" in d.value.columns]
    assert any(any("your run" in str(c) for c in frame.columns) for frame in numbers)


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("custom_l2", "-0.1", "cannot be negative"),
        ("custom_l2", "nan", "NaN"),
        ("custom_l2", "1e9", "teach nothing"),
        ("custom_p", "1.5", "probability"),
        ("custom_epochs", "zero", "not a number"),
        ("custom_seed", "2.5", "whole number"),
    ],
)
def test_bad_custom_inputs_give_a_message_and_change_nothing_else(field, text, message):
    at = page({"l2": "0.1"})
    charts = len(at.get("vega_lite_chart"))
    at.text_input(key=field).input(text)
    at.button(key="FormSubmitter:custom_form-Train").click().run()
    assert_clean(at)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert "custom_config" not in at.session_state
    assert len(at.get("vega_lite_chart")) == charts
    assert at.query_params["l2"] == "0.1"


def _copy_pretrained(tmp_path: Path) -> Path:
    target = tmp_path / "pretrained"
    shutil.copytree(store.PRETRAINED_DIR, target)
    return target


def test_a_corrupt_and_a_missing_file_are_named_with_their_rebuild_command(tmp_path, monkeypatch):
    directory = _copy_pretrained(tmp_path)
    manifest = store.read_manifest(directory)
    damaged = directory / manifest["runs"]["l2-0.01_p-0_s0"]["file"]
    damaged.write_bytes(damaged.read_bytes()[:-100] + b"\0" * 100)
    (directory / manifest["data"]["file"]).unlink()
    monkeypatch.setenv(DIR_ENV, str(directory))
    at = page()
    assert_clean(at)
    errors = " ".join(e.value for e in at.error)
    assert damaged.name in errors and "--only l2-0.01_p-0_s0" in errors
    assert manifest["data"]["file"] in errors and "python -m regviz pretrain" in errors
    assert any("data chart cannot be drawn" in i.value for i in at.info)
    assert [h.value for h in at.header] == SECTIONS
    assert len(at.get("vega_lite_chart")) == 20  # everything but the data chart


def test_a_missing_manifest_leaves_a_page_that_explains_itself(tmp_path, monkeypatch):
    directory = _copy_pretrained(tmp_path)
    (directory / store.MANIFEST_NAME).unlink()
    monkeypatch.setenv(DIR_ENV, str(directory))
    at = page()
    assert_clean(at)
    assert any("manifest.json" in e.value and store.REBUILD_ALL in e.value for e in at.error)
    assert [h.value for h in at.header] == SECTIONS
    assert any("cannot be drawn" in i.value for i in at.info)


def test_the_reading_path_imports_neither_torch_nor_scipy_nor_sklearn():
    code = (
        "import sys, regviz.charts, regviz.ui.resources, regviz.ui.sweeps, regviz.ui.pair, "
        "regviz.ui.learned, regviz.ui.custom, regviz.ui.dropout, regviz.ui.layers; "
        "print(sorted(m for m in ('torch', 'scipy', 'sklearn') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"


def _submit(at: AppTest, **fields: str) -> AppTest:
    for name, text in {"epochs": "2", **fields}.items():
        at.text_input(key=f"custom_{name}").input(text)
    return at.button(key="FormSubmitter:custom_form-Train").click().run()


def test_a_diverged_custom_run_says_so_and_leaves_nothing_behind(monkeypatch):
    from regviz.live import TrainingService
    from regviz.train import TrainingDiverged

    def diverge(self, config, progress, device):
        raise TrainingDiverged(config, 3)

    monkeypatch.setattr(TrainingService, "_train_now", diverge)
    at = _submit(page(), l2="0.0421")
    assert_clean(at)
    assert any("diverged at epoch 3" in e.value for e in at.error)
    assert "custom_config" not in at.session_state
    assert "Your run beside the nearest stored setting" not in [s.value for s in at.subheader]


def test_a_full_training_queue_is_a_message_not_an_error(monkeypatch):
    from regviz.live import ServiceBusy, TrainingService

    def busy(self, config, progress=None, on_wait=None, device=None):
        raise ServiceBusy("8 trainings are already waiting; please try again in a minute")

    monkeypatch.setattr(TrainingService, "train", busy)
    at = _submit(page(), l2="0.0422")
    assert_clean(at)
    assert any("busy" in w.value and "8 trainings" in w.value for w in at.warning)
    assert "custom_config" not in at.session_state


def test_a_reader_waiting_for_a_slot_is_told_so(monkeypatch):
    from regviz.live import ServiceBusy, TrainingService

    def wait_then_give_up(self, config, progress=None, on_wait=None, device=None):
        on_wait(3)
        raise ServiceBusy("the queue is full")

    monkeypatch.setattr(TrainingService, "train", wait_then_give_up)
    at = _submit(page(), l2="0.0423")
    assert_clean(at)
    assert any("3 waiting" in i.value for i in at.info)
    assert any("the queue is full" in w.value for w in at.warning)
    assert "custom_config" not in at.session_state


@pytest.mark.parametrize(("value", "expected"), [(None, 1), ("3", 3), ("0", 1), ("many", 1)])
def test_the_number_of_concurrent_trainings_comes_from_the_environment(
    monkeypatch, value, expected
):
    from regviz.ui import resources

    if value is None:
        monkeypatch.delenv(resources.MAX_TRAININGS_ENV, raising=False)
    else:
        monkeypatch.setenv(resources.MAX_TRAININGS_ENV, value)
    assert resources.max_trainings() == expected


def test_take_away_offers_downloads_and_shows_the_snippet_on_request():
    at = page()
    labels = [b.label for b in at.get("download_button")]
    assert "Loss histories (CSV)" in labels and "Predictions (CSV)" in labels
    assert any(label.startswith("Weights of l2-0.01_p-0_s0") for label in labels)
    assert not at.code  # drawn on request only: a code block is costly for a new browser
    at.toggle(key="show_snippet").set_value(True).run()
    assert_clean(at)
    (snippet,) = at.code
    assert "regviz.load_pretrained(l2=0.01" in snippet.value
    compile(snippet.value, "<snippet>", "exec")
