"""`python -m regviz bench --page`: how fast and how heavy the page is for a reader.

What it measures, against a real `streamlit run` (see `regviz.appserver`):

* **cold load**: the first reader of a freshly started server, from navigation
  start until the page is drawn (`appserver.DRAWN_JS` defines "drawn": the script
  run finished and every chart holds a drawn canvas or svg); then a second
  reader in a fresh browser context (empty cache) on the now warm server;
* **bytes** for one full page: every HTTP response (Chromium's wire size) and
  every websocket frame, split into Streamlit's own front end (the same files for
  every Streamlit app) and what this app sends (its elements and chart data);
* **canonical rerun**: switching the focused λ. Precisely, with Streamlit's
  AppTest: the server time of `at.run()` after changing the λ widget, once per
  canonical value (first visits) and again (revisits). Roughly, in the browser:
  from the click to the page drawn again;
* the server's **peak memory** over all of the above.

The widgets are found by their labels (the λ picker is the first choice widget
whose label contains "λ"), so the benchmark follows the page as it changes.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import importlib.util
import json
import math
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from regviz.config import CANONICAL_L2
from tests.support import appserver

GOALS = {
    "cold_load_s": 4.0,
    "fresh_server_load_s": 4.0,
    "rerun_ms": 300.0,
    "page_mb": 2.0,
    "custom_feedback_ms": 500.0,
}
DEFAULT_JSON = Path("docs/bench_page.json")
LAMBDA = "λ"
#: The L2 picker's label: a λ that is not L1's λ₁.
LAMBDA_LABEL = re.compile(r"λ(?![₁1])")
#: Options that are not a canonical value (the custom-value entry of a picker).
NOT_CANONICAL = re.compile(r"custom|own|other|type", re.IGNORECASE)
MB = 1_000_000


# --------------------------------------------------------------------------- browser


#: Which kinds of choice widget the λ picker may be, as Streamlit marks them in the DOM.
PICKER_KINDS = ("stSlider", "stRadio", "stButtonGroup", "stSelectbox")

#: Arms the rerun timer: the moment of the next pointer or key press, the websocket
#: message count then, and the time of the last DOM change from now on.
ARM_JS = """
() => {
  if (window.__regvizObserver) window.__regvizObserver.disconnect();
  const state = { actionAt: null, received: window.__regvizWs.received, lastChangeAt: null };
  window.__regvizRerun = state;
  const mark = () => { if (state.actionAt === null) state.actionAt = performance.now(); };
  for (const type of ['pointerdown', 'keydown'])
    document.addEventListener(type, mark, { capture: true, once: true });
  window.__regvizObserver = new MutationObserver(() => { state.lastChangeAt = performance.now(); });
  window.__regvizObserver.observe(document, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
}
"""

#: When the page has settled after the armed interaction: the server answered (a
#: websocket message after the press), the page is drawn (`appserver.IS_DRAWN_JS`), and
#: neither the DOM nor the websocket changed for `quietMs`. Resolves to the ms from the
#: press to the last DOM change; throws after `timeoutMs`.
SETTLED_JS = (
    """
async ([quietMs, timeoutMs]) => {
  const isDrawn = """
    + appserver.IS_DRAWN_JS
    + """;
  const state = window.__regvizRerun, ws = window.__regvizWs;
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    if (state.actionAt === null || ws.received === state.received) continue;
    if (ws.lastAt < state.actionAt) continue;
    const last = Math.max(state.lastChangeAt ?? 0, ws.lastAt);
    if (performance.now() - last < quietMs || !isDrawn(1)) continue;
    return Math.max(state.lastChangeAt ?? state.actionAt, state.actionAt) - state.actionAt;
  }
  throw new Error(`the page did not settle within ${timeoutMs} ms of the λ switch`);
}
"""
)
#: How long the page must stay unchanged to count as settled.
QUIET_MS = 400


#: Installed before the page loads: when the first script run starts and ends (ms since
#: navigation), to split a load into front-end start-up, server run and drawing.
TIMELINE_JS = """
window.__regvizTimeline = { runStarted: null, runFinished: null };
new MutationObserver((mutations) => {
  const timeline = window.__regvizTimeline;
  for (const m of mutations) {
    const state = m.target.dataset && m.target.dataset.testScriptState;
    const now = performance.now();
    if (state === 'running' && timeline.runStarted === null) timeline.runStarted = now;
    if (state === 'notRunning' && timeline.runStarted !== null && timeline.runFinished === null)
      timeline.runFinished = now;
  }
}).observe(document, {
  subtree: true, attributes: true, attributeFilter: ['data-test-script-state'],
});
"""


def _lambda_picker(page: Any) -> tuple[str, Any]:
    """The first choice widget whose label contains λ: (kind, locator)."""
    for kind in PICKER_KINDS:
        widgets = page.locator(f'[data-testid="{kind}"]').filter(
            has=page.locator('[data-testid="stWidgetLabel"]', has_text=LAMBDA_LABEL)
        )
        if widgets.count():
            return kind, widgets.first
    raise LookupError(f"no slider, radio, pills or selectbox with {LAMBDA!r} in its label")


def _choose_next(page: Any, kind: str, widget: Any, step: int, sweep: dict) -> str:
    """Pick another canonical option in the picker; return its text.

    A slider walks one step at a time to one end and back (`sweep` remembers the
    direction); lists cycle through their canonical options.
    """
    if kind == "stSlider":
        thumb = widget.locator('input[type="range"]').first
        value = thumb.get_attribute("value")
        if value == thumb.get_attribute("max"):
            sweep["key"] = "ArrowLeft"
        elif value == thumb.get_attribute("min"):
            sweep["key"] = "ArrowRight"
        thumb.press(sweep.setdefault("key", "ArrowRight"))
        return thumb.get_attribute("aria-valuetext") or ""
    if kind == "stSelectbox":
        widget.click()
        options = page.locator('[role="option"]')
        texts = [options.nth(i).inner_text() for i in range(options.count())]
        candidates = [i for i, text in enumerate(texts) if not NOT_CANONICAL.search(text)]
        choice = options.nth(candidates[(step + 1) % len(candidates)])
        text = choice.inner_text()
        choice.click()
        return text
    if kind == "stRadio":
        options = widget.locator('[data-testid="stRadioOption"]')
    else:
        options = widget.locator("button")
    texts = [options.nth(i).inner_text() for i in range(options.count())]
    candidates = [i for i, text in enumerate(texts) if not NOT_CANONICAL.search(text)]
    index = candidates[(step + 1) % len(candidates)]
    options.nth(index).click()
    return texts[index]


def browser_reruns(
    page: Any,
    collector: appserver.Collector,
    count: int,
    settle: Callable[[], object] | None = None,
) -> list[dict]:
    """Switch the λ picker `count` times; each: ms from the press until the page settled.

    `settle` is called before each switch (the benchmark waits for an idle server).
    """
    kind, widget = _lambda_picker(page)
    samples, sweep = [], {}
    for step in range(count):
        if settle is not None:
            settle()
        page.evaluate(ARM_JS)
        before = collector.websocket_bytes
        chosen = _choose_next(page, kind, widget, step, sweep)
        ms = page.evaluate(SETTLED_JS, [QUIET_MS, 60_000])
        samples.append(
            {"option": chosen, "ms": ms, "websocket_bytes": collector.websocket_bytes - before}
        )
    return samples


#: A custom setting no reader has trained, so the server really trains it.
CUSTOM_L2, CUSTOM_EPOCHS = "0.0031", "20"
NOW_WHEN_JS = "(selector) => document.querySelector(selector) ? performance.now() : false"
RESULT_JS = """() => [...document.querySelectorAll('h3')]
  .some((h) => h.textContent.includes('Your run beside')) ? performance.now() : false"""


def custom_training(page: Any, settle: Callable[[], object] | None = None) -> dict[str, Any]:
    """Submit a custom λ in the "Train your own" tab: ms until the first feedback, and until
    the finished run's charts are on the page."""
    if settle is not None:
        settle()
    page.get_by_role("tab", name="Train your own", exact=True).click()
    page.get_by_label("λ (L2)").fill(CUSTOM_L2)
    page.get_by_label("epochs").fill(CUSTOM_EPOCHS)
    button = page.get_by_role("button", name="Train")
    pressed = page.evaluate("() => performance.now()")
    button.click()
    feedback = page.wait_for_function(
        NOW_WHEN_JS, arg='[data-testid="stProgress"]', timeout=60_000, polling="raf"
    ).json_value()
    result = page.wait_for_function(RESULT_JS, timeout=300_000, polling="raf").json_value()
    appserver.wait_until_drawn(page, timeout=120)
    return {
        "l2": float(CUSTOM_L2),
        "epochs": int(CUSTOM_EPOCHS),
        "first_feedback_ms": feedback - pressed,
        "result_shown_s": (result - pressed) / 1000,
    }


def framework_gzip_bytes(urls: list[str]) -> int | None:
    """What Streamlit's front-end files weigh gzip-compressed, as a compressing proxy sends them."""
    spec = importlib.util.find_spec("streamlit")  # locate the package's files; run nothing
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent / "static"
    total = 0
    for url in urls:
        path = root / url.split("://", 1)[-1].split("/", 1)[-1].split("?")[0]
        if not path.is_file():
            return None
        total += len(gzip.compress(path.read_bytes(), compresslevel=6))
    return total


def measure_browser(app: Path, readers: int = 2, reruns: int = 6) -> dict[str, Any]:
    """Cold and warm readers, bytes, browser reruns and the server's peak memory."""
    loads = []
    with appserver.serve(app) as server, appserver.chromium() as browser:
        for reader in range(readers):
            if reader:
                server.wait_until_idle()
            page, collector = appserver.new_reader(browser)
            page.add_init_script(TIMELINE_JS)
            page.goto(server.url, wait_until="commit", timeout=120_000)
            drawn_ms = appserver.wait_until_drawn(page, timeout=120)
            timeline = page.evaluate("() => window.__regvizTimeline")
            loads.append(
                {
                    "reader": reader + 1,
                    "server": "cold" if reader == 0 else "warm",
                    "load_s": drawn_ms / 1000,
                    "script_run_started_s": _seconds(timeline["runStarted"]),
                    "script_run_finished_s": _seconds(timeline["runFinished"]),
                    "charts": appserver.chart_count(page),
                    "exception_boxes": page.locator('[data-testid="stException"]').count(),
                    **collector.summary(),
                }
            )
            if reader < readers - 1:
                page.context.close()
        framework_urls = collector.framework_urls()
        server.wait_until_idle()
        rerun_samples = browser_reruns(page, collector, reruns, server.wait_until_idle)
        custom = custom_training(page, server.wait_until_idle)
        page.context.close()
        memory = server.peak_memory()
    return {
        "readers": loads,
        "framework_gzip_bytes": framework_gzip_bytes(framework_urls),
        "browser_reruns": rerun_samples,
        "custom_training": custom,
        "server_peak_memory_bytes": memory,
    }


# --------------------------------------------------------------------------- AppTest


def _choice_widgets(at: Any) -> list[Any]:
    widgets = []
    for kind in ("select_slider", "radio", "selectbox", "segmented_control", "pills"):
        try:
            widgets += list(getattr(at, kind))
        except (AttributeError, KeyError):
            continue
    return widgets


def _canonical_values(widget: Any) -> list[tuple[str, Any]]:
    """(option text, value) for every canonical option of the picker.

    AppTest sets widgets by value but reports options as formatted text, so we
    invert the page's format function over the values the page could be using.
    """
    candidates: list[Any] = [*CANONICAL_L2, *widget.options]
    candidates += [f"l2:{v:g}" for v in CANONICAL_L2]
    for text in widget.options:
        with contextlib.suppress(ValueError):
            candidates.append(float(text))
    formatted: dict[str, Any] = {}
    for value in candidates:
        try:
            text = str(widget.format_func(value))
        except Exception:  # the page's format function may reject a foreign candidate
            continue
        if text in widget.options and text not in formatted:
            formatted[text] = value
    return [
        (text, formatted[text])
        for text in widget.options
        if text in formatted and not NOT_CANONICAL.search(text)
    ]


def measure_apptest(app: Path, passes: int = 2, timeout: float = 120) -> dict[str, Any]:
    """Server time of one rerun per canonical λ (AppTest, in this process)."""
    # Streamlit's own test runner is the only way to time a rerun without a browser;
    # it is imported here, by the benchmark only, never by the library.
    from streamlit.testing.v1 import AppTest

    with contextlib.chdir(app.parent):  # as `streamlit run` does, for relative paths
        return _time_apptest(AppTest.from_file(str(app), default_timeout=timeout), passes)


def _time_apptest(at: Any, passes: int) -> dict[str, Any]:
    started = time.perf_counter()
    at.run()
    first_run = time.perf_counter() - started
    # the page may start background work after drawing (warming up torch); a reader
    # reads before clicking, so let it finish before timing reruns
    appserver.wait_until_idle(time.process_time)
    if at.exception:
        raise RuntimeError(f"the page raised on its first AppTest run: {at.exception[0].value}")
    picker = next((w for w in _choice_widgets(at) if LAMBDA_LABEL.search(w.label)), None)
    if picker is None:
        raise LookupError(f"AppTest found no choice widget with {LAMBDA!r} in its label")
    key = picker.key or picker.id
    options = _canonical_values(picker)
    if len(options) < 2:
        raise LookupError(f"the λ picker {picker.label!r} offers fewer than two canonical values")
    current = str(picker.format_func(picker.value))
    start = next(i for i, (text, _) in enumerate(options) if text == current)
    first_visits = options[start + 1 :] + options[:start]
    runs: list[list[dict]] = []
    for visits in [first_visits] + [options] * (passes - 1):
        samples = []
        for text, value in visits:
            widget = next(w for w in _choice_widgets(at) if (w.key or w.id) == key)
            widget.set_value(value)
            appserver.wait_until_idle(time.process_time)
            started = time.perf_counter()
            at.run()
            samples.append({"option": text, "ms": (time.perf_counter() - started) * 1000})
            if at.exception:
                raise RuntimeError(f"the page raised after choosing λ = {text}")
        runs.append(samples)
    return {
        "widget": f"{picker.type} {picker.label!r}",
        "first_run_s": first_run,
        "first_visits": runs[0],
        "revisits": [s for later in runs[1:] for s in later],
    }


# --------------------------------------------------------------------------- report


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000


def _median(samples: list[dict]) -> float:
    return statistics.median(s["ms"] for s in samples) if samples else math.nan


def measure(app: Path, readers: int = 5, reruns: int = 6) -> dict[str, Any]:
    browser = measure_browser(app, readers=readers, reruns=reruns)
    apptest = measure_apptest(app)
    fresh, *later = browser["readers"]
    verdicts = {
        # A new reader (empty browser cache) on a server that has served the page before:
        # the median over the later readers, since one load on a shared machine is noisy.
        "cold_load_s": statistics.median(reader["load_s"] for reader in later),
        "fresh_server_load_s": fresh["load_s"],
        "rerun_ms": _median(apptest["first_visits"]),
        "page_mb": fresh["app_bytes"] / MB,
        "custom_feedback_ms": browser["custom_training"]["first_feedback_ms"],
    }
    return {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "app": str(app),
        "drawn": "script run finished, websocket connected, no running indicator, stale element "
        "or loading placeholder, and every stVegaLiteChart holds a canvas/svg of non-zero size "
        "on two consecutive animation frames (regviz.appserver.DRAWN_JS)",
        "settled": "after a λ switch: the server answered, the page is drawn, and neither the "
        "DOM nor the websocket changed for "
        f"{QUIET_MS} ms; timed from the key or pointer press to the last DOM change "
        "(regviz.pagebench.SETTLED_JS)",
        "machine": _machine(),
        **browser,
        "apptest": apptest,
        "goals": {
            name: {"value": value, "goal": GOALS[name], "passed": value < GOALS[name]}
            for name, value in verdicts.items()
        },
    }


def _machine() -> dict[str, Any]:
    import os
    import platform

    from benchmarks.trainer import cpu_model

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def _span(reader: dict) -> str:
    started, finished = reader["script_run_started_s"], reader["script_run_finished_s"]
    if started is None or finished is None:
        return "not seen"
    return f"{started:.2f}–{finished:.2f} s"


def format_report(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"regviz page bench: {report['app']}",
        f"machine: {m['cpu']}, {m['cores']} cores, load {m['load_average_1min']}",
        "",
    ]
    for reader in report["readers"]:
        lines.append(
            f"reader {reader['reader']} ({reader['server']} server): drawn in "
            f"{reader['load_s']:.2f} s (script run {_span(reader)}), {reader['charts']} charts, "
            f"{reader['total_bytes'] / MB:.2f} MB in all = "
            f"{reader['framework_http_bytes'] / MB:.2f} MB Streamlit front end + "
            f"{reader['app_bytes'] / MB:.3f} MB from the app "
            f"(websocket {reader['ws_received_bytes'] / MB:.3f} MB), "
            f"{len(reader['console_errors']) + len(reader['page_errors'])} browser error(s), "
            f"{reader['exception_boxes']} exception box(es)"
        )
    gz = report["framework_gzip_bytes"]
    if gz is not None:
        lines.append(
            f"  (Streamlit serves its front end uncompressed on localhost; gzip would make it "
            f"{gz / MB:.2f} MB, and browsers cache it across visits)"
        )
    reruns = report["browser_reruns"]
    if reruns:
        each = ", ".join(f"{sample['ms']:.0f}" for sample in reruns)
        lines.append(
            f"browser: λ switch until the page settled, median {_median(reruns):.0f} ms over "
            f"{len(reruns)} ({each}), "
            f"websocket {statistics.median(s['websocket_bytes'] for s in reruns) / 1000:.0f} kB "
            "per switch"
        )
    at = report["apptest"]
    each = ", ".join(f"{sample['option']}: {sample['ms']:.0f}" for sample in at["first_visits"])
    lines.append(
        f"AppTest ({at['widget']}): first run {at['first_run_s']:.2f} s; rerun after a λ change "
        f"median {_median(at['first_visits']):.0f} ms on first visits "
        f"({each}), "
        f"{_median(at['revisits']):.0f} ms on revisits"
    )
    custom = report.get("custom_training")
    if custom:
        lines.append(
            f"custom training (λ = {custom['l2']:g}, {custom['epochs']} epochs): first feedback "
            f"{custom['first_feedback_ms']:.0f} ms after pressing Train, result on the page after "
            f"{custom['result_shown_s']:.2f} s"
        )
    memory = report["server_peak_memory_bytes"]
    if memory["server_hwm"]:
        lines.append(f"server peak resident memory: {memory['server_hwm'] / MB:.0f} MB (VmHWM)")
    lines.append("")
    names = {
        "cold_load_s": ("cold load (new browser, running server; median)", "s"),
        "fresh_server_load_s": ("cold load (first reader, fresh server)", "s"),
        "rerun_ms": ("canonical λ rerun (AppTest median)", "ms"),
        "page_mb": ("page bytes the app sends", "MB"),
        "custom_feedback_ms": ("custom run: first feedback", "ms"),
    }
    for name, verdict in report["goals"].items():
        label, unit = names[name]
        lines.append(
            f"{label:<50}{verdict['value']:>9.2f} {unit:<3} goal < {verdict['goal']:g} {unit:<3} "
            f"{'PASS' if verdict['passed'] else 'FAIL'}"
        )
    lines.append(f"drawn = {report['drawn']}")
    return "\n".join(lines)


def main(args: argparse.Namespace, argv: list[str]) -> int:
    """Entry from `python -m regviz bench --page` (arguments parsed by `regviz.bench`)."""
    reason = appserver.browser_unavailable()
    if reason:
        print(f"error: cannot run the page benchmark: {reason}", file=sys.stderr)
        return 2
    app = Path(args.app) if args.app else appserver.APP_FILE
    if not app.is_file():
        print(f"error: no app at {app}", file=sys.stderr)
        return 2
    from playwright.sync_api import Error as BrowserError

    try:
        report = {
            "command": " ".join(["python -m regviz bench", *argv]),
            **measure(app.resolve()),
        }
    except (appserver.AppServerError, BrowserError, LookupError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(format_report(report))
    if args.json is not None:
        path = Path(args.json) if args.json else DEFAULT_JSON
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {path}")
    return 0
