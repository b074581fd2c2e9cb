"""The page, driven headless through AppTest: it renders, links work, input is checked."""

from __future__ import annotations

import gc
import json
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from regviz import store
from regviz.config import CANONICAL_DROPOUT, CANONICAL_L2
from regviz.ui import beyond
from regviz.ui.resources import DIR_ENV

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")
TIMEOUT = 120
#: Upper bound for a custom run (a worker starting, importing torch, two epochs) on a busy machine.
CUSTOM_RUN_WAIT = 300
#: The whole default page's chart data (specs plus Arrow datasets) stays below this.
PAGE_CHART_BUDGET = 2_000_000
SECTIONS = [
    "1. Why regularise",
    "2. The data",
    "3. The model",
    "4. The unregularised baseline",
    "5. L2 regularisation",
    "6. Dropout",
    "7. When regularisation helps",
    "Beyond the article",
    "8. What we learned",
]
#: Charts a first visit draws: data, baseline 3, L2 3, dropout 3 + its band, small data 1.
DEFAULT_CHARTS = 12


def page(query: dict[str, str] | None = None, state: dict | None = None) -> AppTest:
    """The page as a reader opens it; `state` presets widgets (a tab or deep dive opened)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return at.run()


def specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def titles(at: AppTest) -> list[str]:
    out = []
    for spec in specs(at):
        title = spec.get("title")
        out.append(title.get("text", "") if isinstance(title, dict) else str(title or ""))
    return out


def dataset(chart, name: str) -> dict[str, list]:
    """One named Arrow dataset of a drawn chart, as columns."""
    import pyarrow as pa

    for entry in chart.proto.datasets:
        if entry.name == name:
            return pa.ipc.open_stream(entry.data.data).read_all().to_pydict()
    raise AssertionError(f"no dataset {name!r}")


def focus_of(at: AppTest, title_start: str, nth: int = 0) -> str:
    """The setting drawn bold (the "main" dataset) in the nth chart whose title starts so."""
    found = [
        chart
        for chart, title in zip(at.get("vega_lite_chart"), titles(at), strict=True)
        if title.startswith(title_start)
    ]
    assert len(found) > nth, f"no chart titled {title_start!r}…; titles: {titles(at)}"
    return set(dataset(found[nth], "main")["setting"]).pop()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture(scope="module")
def default_page() -> AppTest:
    return page()


def test_page_renders_every_section_in_reading_order_without_exception(default_page):
    assert_clean(default_page)
    assert [h.value for h in default_page.header] == SECTIONS
    pills = default_page.get("button_group")
    assert any(list(p.options) == list(beyond.TABS) for p in pills if hasattr(p, "options"))
    assert not default_page.error
    assert not default_page.warning


def test_page_draws_every_chart_and_stays_light(default_page):
    charts = default_page.get("vega_lite_chart")
    assert len(charts) == DEFAULT_CHARTS
    size = sum(len(c.proto.spec) + sum(len(d.data.data) for d in c.proto.datasets) for c in charts)
    assert size < PAGE_CHART_BUDGET
    assert all(c.proto.datasets for c in charts), "data travels as Arrow datasets"


def test_closed_tabs_and_deep_dives_do_not_run_on_a_first_visit(default_page):
    subheaders = [s.value for s in default_page.subheader]
    assert "Compare two settings" not in subheaders and "L1: a price on absolute size" not in (
        subheaders
    )
    text = " ".join(m.value for m in default_page.markdown)
    assert "Whose spike?" not in text, "the Adam-against-SGD view waits until it is asked for"


def test_the_server_does_not_force_a_full_collection_after_every_run():
    """Streamlit's default gc.collect(2) after each run walked ~150,000 long-lived objects
    (about 95 ms) on every rerun and every poll of a live training."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["runner"]["postScriptGC"] is False


def test_a_page_run_freezes_the_long_lived_objects(default_page):
    assert_clean(default_page)
    assert gc.get_freeze_count() > 0, "collections would walk the stored runs every time"


def test_prose_quotes_measured_numbers_and_credits_the_article(default_page):
    text = " ".join(m.value for m in default_page.markdown)
    assert "towardsdatascience.com/a-visual-intuition-for-regularization" in text
    assert "Kelvin Lee" in text
    assert "proceedings.mlr.press/v48/gal16" in text
    assert "Where it breaks." in text and "Why the spike appears at tiny λ." in text
    assert "Loshchilov and Hutter" in text
    assert "8,513 parameters" in text
    assert "Σₖ₌₁⁵ Aₖ·sin(Bₖx + Cₖ)" in text
    assert "λ Σₗ₌₁⁴ ‖Wₗ‖²" in text
    assert not default_page.latex, "formulas are Unicode: no LaTeX renderer to load"


def test_page_shows_the_verdict_and_coverage_tables(default_page):
    tables = [m.value for m in default_page.markdown if m.value.startswith("| ")]
    verdicts = [t for t in tables if t.startswith("| The article says")]
    assert verdicts and verdicts[0].count("\n") - 1 >= 11
    coverage = [t for t in tables if t.startswith("| p |")]
    assert coverage and coverage[0].count("\n") - 1 == len(CANONICAL_DROPOUT) - 1
    assert not default_page.dataframe and not default_page.table, (
        "no table renderer on a first visit: tables are Markdown"
    )


@pytest.mark.parametrize(
    ("kind", "values", "nth"),
    [("l2", CANONICAL_L2, 0), ("p", CANONICAL_DROPOUT, 1)],
)
def test_every_canonical_value_can_be_selected_and_lands_in_the_url(kind, values, nth):
    at = page()
    symbol = "λ" if kind == "l2" else "p"
    for value in values:
        at.select_slider(key=f"pick_{kind}").set_value(value).run()
        assert_clean(at)
        assert at.query_params[kind] == f"{value:g}"
        assert focus_of(at, "Predictions after", nth) == f"{symbol} = {value:g}"


@pytest.mark.parametrize(("kind", "tab"), [("l1", "L1"), ("wd", "AdamW (decoupled decay)")])
def test_the_sweeps_beyond_the_article_follow_their_pickers(kind, tab):
    at = page({kind: "0.1"}, state={"beyond_tab": tab})
    assert_clean(at)
    symbol = "λ₁" if kind == "l1" else "decay"
    assert focus_of(at, "Predictions after", 2) == f"{symbol} = 0.1"


def test_the_epoch_control_moves_predictions_and_densities_and_lives_in_the_url():
    at = page({"l2e": "5"})
    assert_clean(at)
    assert not at.warning
    assert "Predictions after epoch 5" in titles(at)
    assert "Parameter density after epoch 5" in titles(at)
    at.select_slider(key="pick_l2e").set_value(0).run()
    assert at.query_params["l2e"] == "0"
    assert "Predictions after epoch 0" in titles(at)


def test_a_link_opens_the_view_it_names():
    at = page({"l2": "0.1", "p": "0.6", "kde": "log", "theta": "log10", "params": "weights"})
    assert_clean(at)
    assert not at.warning
    assert at.select_slider(key="pick_l2").value == 0.1
    assert at.select_slider(key="pick_p").value == 0.6
    assert focus_of(at, "Predictions after", 0) == "λ = 0.1"
    assert focus_of(at, "Predictions after", 1) == "p = 0.6"
    density = next(s for s, t in zip(specs(at), titles(at), strict=True) if "density" in t)
    scales = [layer["encoding"]["y"].get("scale", {}) for layer in density["layer"]]
    assert all(scale.get("type") == "log" for scale in scales)
    assert density["layer"][0]["encoding"]["x"]["title"] == "log10 |θ|"


@pytest.mark.parametrize(
    ("query", "mentions"),
    [
        ({"l2": "banana"}, "l2"),
        ({"l2": "0.5"}, "l2"),
        ({"l2": "nan"}, "l2"),
        ({"p": "1.5"}, "p"),
        ({"wd": "-1"}, "wd"),
        ({"l2e": "7"}, "l2e"),
        ({"a": "l2:0.02"}, "a"),
        ({"b": "sgd:5"}, "b"),
        ({"kde": "wide"}, "kde"),
        ({"n": "5"}, "n"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_query_parameters_warn_and_fall_back_to_the_default(query, mentions):
    at = page(query)
    assert_clean(at)
    assert at.warning, "a bad parameter must be reported"
    assert any(mentions in w.value for w in at.warning)
    assert len(at.get("vega_lite_chart")) == DEFAULT_CHARTS
    assert at.select_slider(key="pick_l2").value == 0.01


@pytest.mark.parametrize(
    ("key", "value", "check"),
    [
        ("pick_kde", "log", lambda y, x: y.get("scale", {}).get("type") == "log"),
        ("pick_theta", "log10", lambda y, x: x["title"] == "log10 |θ|"),
        ("pick_params", "biases", lambda y, x: True),
    ],
)
def test_the_density_pickers_redraw_every_density(key, value, check):
    at = page()
    at.radio(key=key).set_value(value).run()
    assert_clean(at)
    assert at.query_params[key.removeprefix("pick_")] == value
    found = [(s, t) for s, t in zip(specs(at), titles(at), strict=True) if "density" in t]
    assert len(found) >= 3
    for spec, _ in found:
        layer = spec["layer"][0]["encoding"]
        assert check(layer["y"], layer["x"])
    if value == "biases":
        assert all("biases" in s["title"]["subtitle"] for s, _ in found)


def test_the_old_clipped_density_link_still_opens_without_a_warning():
    at = page({"kde": "clip"})
    assert_clean(at)
    assert not at.warning


def test_comparison_overlays_two_settings_named_in_the_url():
    at = page({"a": "l1:0.01", "b": "p:0.3"}, state={"beyond_tab": "Compare two settings"})
    assert_clean(at)
    numbers = next(d.value for d in at.dataframe if "B − A" in d.value.columns)
    assert {"A · λ₁ = 0.01", "B · p = 0.3"} <= set(numbers.columns)
    assert "validation MSE (last 10 epochs)" in set(numbers["measure"])
    at.selectbox(key="pick_a").select("wd:3").run()
    assert at.query_params["a"] == "wd:3"


@pytest.mark.parametrize(
    ("dive", "shows"),
    [
        ("Over training", "Density of the weights during training"),
        ("Adam against SGD", "How many weights end near zero, Adam against SGD"),
        ("Biases penalised too", "Predictions"),
    ],
)
def test_each_l2_deep_dive_draws_when_asked_for(dive, shows):
    at = page(state={"l2_deep": dive})
    assert_clean(at)
    assert len(at.get("vega_lite_chart")) > DEFAULT_CHARTS
    assert any(t.startswith(shows) for t in titles(at)), titles(at)


def test_comparing_with_a_custom_run_before_training_one_says_so():
    at = page({"b": "custom"}, state={"beyond_tab": "Compare two settings"})
    assert_clean(at)
    assert any("Nothing to compare yet" in i.value for i in at.info)


def test_a_custom_value_trains_with_progress_and_its_charts_appear():
    """The real service: a worker process trains; each `run()` is one look of the polling view."""
    at = page(state={"beyond_tab": "Train your own"})
    at.text_input(key="custom_l2").input("0.003")
    at.text_input(key="custom_p").input("0.1")
    at.text_input(key="custom_epochs").input("2")
    at.button(key="FormSubmitter:custom_form-Train").click().run()
    assert_clean(at)
    assert not at.error
    assert at.get("progress"), "a progress bar is the first feedback"
    deadline = time.monotonic() + CUSTOM_RUN_WAIT
    while "custom_config" not in at.session_state:
        assert time.monotonic() < deadline, "the custom run never finished"
        time.sleep(0.1)
        at.run()
        assert_clean(at)
    assert not at.error and not at.get("progress")
    assert any(
        m.value.startswith("Trained on") and ("CPU" in m.value or "GPU" in m.value)
        for m in at.markdown
    )
    assert "Your run beside the nearest stored setting" in [s.value for s in at.subheader]
    config = at.session_state["custom_config"]
    assert (config.l2, config.dropout, config.epochs) == (0.003, 0.1, 2)
    assert at.select_slider(key=f"custom_epoch_{config.run_id}").options == ["0", "1", "2"]
    # later reruns show the cached run without training again, and it can be compared
    at.session_state["beyond_tab"] = "Compare two settings"  # what clicking the tab does
    at.run()
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
        ("custom_n", "99", "from 100 to 8,000"),
        ("custom_n", "text", "not a number"),
    ],
)
def test_bad_custom_inputs_give_a_message_and_change_nothing_else(field, text, message):
    at = page({"l2": "0.1"}, state={"beyond_tab": "Train your own"})
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
    data = damaged.read_bytes()
    damaged.write_bytes(data[:-100] + bytes(byte ^ 0xFF for byte in data[-100:]))
    (directory / manifest["data"]["file"]).unlink()
    monkeypatch.setenv(DIR_ENV, str(directory))
    at = page()
    assert_clean(at)
    errors = " ".join(e.value for e in at.error)
    assert damaged.name in errors and "--only l2-0.01_p-0_s0" in errors
    assert manifest["data"]["file"] in errors and "python -m regviz pretrain" in errors
    assert any("data chart cannot be drawn" in i.value for i in at.info)
    assert [h.value for h in at.header] == SECTIONS
    assert len(at.get("vega_lite_chart")) == DEFAULT_CHARTS - 1  # all but the data chart


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


def test_a_fresh_servers_first_page_run_loads_no_heavy_module():
    """Whole first run in a new interpreter: no torch, scipy or scikit-learn; not
    Streamlit's emoji table (0.2 s), which an emoji page icon would load; and neither
    Altair (0.25 s) nor pandas (0.2-0.3 s): the shipped first screen comes ready-made
    (`regviz.readymade`) as Arrow tables, Markdown and specs (`regviz.lazy`)."""
    code = (
        "import sys; from streamlit.testing.v1 import AppTest; "
        "at = AppTest.from_file('streamlit_app.py', default_timeout=120); at.run(); "
        "assert not at.exception, at.exception; "
        "heavy = ('torch', 'scipy', 'sklearn', 'streamlit.emojis', 'altair', 'pandas'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


# The custom tab's other states (queued, cancelled, diverged, a full queue, a failed
# worker) are driven on the tab alone, with a test service: tests/test_custom_tab.py.


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
    at = page(state={"beyond_tab": "Take it away"})
    labels = [b.label for b in at.get("download_button")]
    assert "Loss histories (CSV)" in labels and "Predictions (CSV)" in labels
    assert any(label.startswith("Weights of l2-0.01_p-0_s0") for label in labels)
    assert not at.code  # drawn on request only: a code block is costly for a new browser
    at.toggle(key="show_snippet").set_value(True).run()
    assert_clean(at)
    (snippet,) = at.code
    assert "regviz.load_pretrained(l2=0.01" in snippet.value
    compile(snippet.value, "<snippet>", "exec")
