"""The page in a real browser: `streamlit run` on a free port, Debian's headless Chromium.

AppTest runs the script but never draws it; only a browser shows a chart that
Vega could not render, a front-end error in the console, or a page that never
finishes loading. These tests also save the README's screenshot.

A missing Chromium or playwright skips them locally, and fails them where
REGVIZ_REQUIRE_BROWSER=1 (set by .ci/run), so CI can never pass without them.
"""

from __future__ import annotations

import os
import re
import struct

import pytest

from benchmarks import page as pagebench
from tests.support import appserver

#: The full-page screenshot of every run; docs/screenshot.png in the README is cut from it.
SCREENSHOT = appserver.REPO_ROOT / "build" / "screenshot.png"
#: Time for the first script run of a cold server on a busy 2-core machine; not a goal.
LOAD_TIMEOUT = 180.0


@pytest.fixture(scope="module")
def browser():
    reason = appserver.browser_unavailable()
    if reason:
        if os.environ.get("REGVIZ_REQUIRE_BROWSER") == "1":
            pytest.fail(f"REGVIZ_REQUIRE_BROWSER=1 but the browser cannot run: {reason}")
        pytest.skip(f"headless Chromium unavailable: {reason}")
    with appserver.chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def server():
    with appserver.serve(timeout=120) as running:
        yield running


@pytest.fixture(scope="module")
def reader(browser, server):
    """One reader who has opened the page and waited until every chart has drawn."""
    page, collector = appserver.new_reader(browser)
    page.goto(server.url, timeout=LOAD_TIMEOUT * 1000)
    appserver.wait_until_drawn(page, timeout=LOAD_TIMEOUT)
    yield page, collector
    page.context.close()


@pytest.mark.browser
@pytest.mark.slow
def test_every_chart_draws_with_no_exception_box_and_no_browser_error(reader):
    page, collector = reader
    assert appserver.chart_count(page) >= 10
    assert page.locator('[data-testid="stException"]').count() == 0
    assert collector.errors == []


@pytest.mark.browser
@pytest.mark.slow
def test_full_page_screenshot_is_saved_for_the_readme(reader):
    page, _ = reader
    appserver.full_page_screenshot(page, SCREENSHOT)
    header = SCREENSHOT.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert width == appserver.VIEWPORT["width"]
    assert height > 3 * appserver.VIEWPORT["height"], "the screenshot shows only the first screen"
    page.set_viewport_size(appserver.VIEWPORT)


@pytest.mark.browser
@pytest.mark.slow
def test_every_part_beyond_the_article_draws_its_charts_when_opened(reader):
    """Nothing beyond the article runs at load; opening each part draws its charts cleanly."""
    from regviz.ui.beyond import TABS

    page, collector = reader
    at_load = appserver.chart_count(page)
    added = {}
    for label in TABS:
        pill = page.locator('[data-testid="stButtonGroup"] button').filter(
            has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")
        )
        pill.first.click()
        page.wait_for_timeout(300)
        appserver.wait_until_drawn(page, timeout=LOAD_TIMEOUT)
        added[label] = appserver.chart_count(page) - at_load
    assert added == {
        "Train your own": 0,  # no chart until a run is trained
        "Compare two settings": 3,
        "L1": 3,
        "AdamW (decoupled decay)": 3,
        "Layer by layer": 1,
        "Take it away": 0,
    }
    assert page.locator('[data-testid="stException"]').count() == 0
    assert collector.errors == []


@pytest.mark.browser
@pytest.mark.slow
def test_switching_lambda_redraws_the_charts_without_errors(reader):
    page, collector = reader
    samples = pagebench.browser_reruns(page, collector, count=2)
    assert len({sample["option"] for sample in samples}) == 2
    assert page.locator('[data-testid="stException"]').count() == 0
    assert collector.errors == []
    assert "l2=" in page.url, "the focused λ is not in the address bar"


@pytest.mark.browser
@pytest.mark.slow
def test_a_custom_run_answers_as_the_page_benchmark_expects(browser, server):
    """The page benchmark's contract with the custom-run tab: after Train, a progress bar,
    status or info element appears inside the tab, and later a text with "Trained on"."""
    page, collector = appserver.new_reader(browser)
    try:
        page.goto(server.url, timeout=LOAD_TIMEOUT * 1000)
        appserver.wait_until_drawn(page, timeout=LOAD_TIMEOUT)
        run = pagebench.custom_training(page, {"l2": "0.0029", "epochs": "2"}, timeout=300)
        assert run["first_feedback_s"] is not None
        assert 0 < run["first_feedback_s"] <= run["finished_s"]
        assert page.locator('[data-testid="stException"]').count() == 0
        assert collector.errors == []
    finally:
        page.context.close()


@pytest.mark.slow
def test_a_custom_run_without_a_browser_is_driven_to_its_result(server):
    """The page benchmark's browserless custom run: the websocket client presses Train,
    reruns the live view as the front end does and sees the finished run."""
    values = {"l2": "0.0031", "dropout": "0.15", "epochs": "3", "seed": "7"}
    run = pagebench.custom_without_browser(server, values, timeout=300)
    assert run["seed"] == "7" and 0 < run["finished_s"] < 300


@pytest.mark.browser
@pytest.mark.slow
def test_garbled_url_parameter_gives_a_warning_not_a_traceback(browser, server):
    page, collector = appserver.new_reader(browser)
    try:
        page.goto(server.url + "/?l2=banana&p=7", timeout=LOAD_TIMEOUT * 1000)
        appserver.wait_until_drawn(page, timeout=LOAD_TIMEOUT)
        warnings = page.locator('[data-testid="stAlert"]').filter(has_text="l2")
        assert warnings.count() >= 1
        assert page.locator('[data-testid="stException"]').count() == 0
        assert collector.errors == []
    finally:
        page.context.close()


@pytest.mark.slow
def test_app_server_is_stopped_with_its_process_group(tmp_path):
    app = tmp_path / "app.py"
    app.write_text("import streamlit as st\nst.write('hello')\n")
    with appserver.serve(app, timeout=120) as running:
        pid = running.pid
        memory = running.peak_memory()
        assert memory["server_hwm"] > 10_000_000
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # signal 0 only asks whether the group still exists


def test_a_missing_app_is_a_clear_error(tmp_path):
    with (
        pytest.raises(appserver.AppServerError, match="no app at"),
        appserver.serve(tmp_path / "missing.py"),
    ):
        pass


@pytest.mark.slow
def test_a_server_that_exits_early_is_reported_with_its_own_last_words(tmp_path):
    app = tmp_path / "app.py"
    app.write_text("")
    with (
        pytest.raises(appserver.AppServerError, match="No such option"),
        appserver.serve(app, extra_args=("--no-such-option",)),
    ):
        pass


def test_binary_websocket_frames_are_counted_in_decoded_bytes():
    collector = appserver.Collector()
    collector._on_ws_received({"response": {"opcode": 2, "payloadData": "AAECAwQ="}})  # 5 bytes
    collector._on_ws_sent({"response": {"opcode": 1, "payloadData": "λ"}})  # 2 bytes in UTF-8
    assert (collector.ws_received_bytes, collector.ws_sent_bytes) == (5, 2)


def test_framework_files_are_told_apart_from_what_the_app_sends():
    collector = appserver.Collector()
    collector._on_request({"requestId": "1", "request": {"url": "http://h/static/js/x.js"}})
    collector._on_request({"requestId": "2", "request": {"url": "http://h/_stcore/host-config"}})
    collector._on_loading_finished({"requestId": "1", "encodedDataLength": 1000})
    collector._on_loading_finished({"requestId": "2", "encodedDataLength": 30})
    collector._on_ws_received({"response": {"opcode": 1, "payloadData": "abc"}})
    assert collector.framework_http_bytes == 1000
    assert collector.app_bytes == 33
    assert collector.total_bytes == 1033
