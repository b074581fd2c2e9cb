"""`python -m benchmarks.page`: what a reader waits for, against a bare Streamlit page.

Load times depend on the machine, the browser and Streamlit's own front end (6 MB of
JavaScript), so a number alone says little. This benchmark writes a **bare page**
into a temporary directory in the same run: as many Altair line charts of 1,000
points as our page draws at load (counted on our page first), and nothing else of
note, served with the same `.streamlit/config.toml`. Both apps are measured
alternately with the same harness (`tests.support.appserver`) and the same
definition of "drawn" (`appserver.DRAWN_JS`: the script run finished and every
visible chart holds a drawn canvas or svg), and the report gives the absolute
medians and the ratios ours/bare:

* **new browser, running server**: a reader with an empty cache (a fresh browser
  context) on a server that has served the page before; median of several readers;
* **first reader, fresh server**: a freshly started server, one reader; median of a
  few fresh starts each. Beside it, each page's **first script run alone** in a fresh
  interpreter (AppTest, no browser): the server's share of that wait.

Both rows also time a third page, the **same content** (`benchmarks.same_content`):
our first screen's headings, texts and charts (identical specs and data) drawn by
plain `st.*` calls, with no widget, layout or regviz code. Same-content/bare is what
our content costs any Streamlit page; ours/same-content is what our code adds.

For our page alone:

* **canonical rerun**: the server time of switching the focused λ (Streamlit's
  AppTest, once per canonical value), and, roughly, the same switch in the browser;
* **bytes** of one full page, split into Streamlit's front end and what the app sends;
* **custom run** in the browser: the first feedback after pressing **Train** (the
  first progress bar, status or info element that appears where the custom run is
  drawn: its tab, or the main area when a pill opens it), and the time until a text
  containing "Trained on" appears, against a bare `regviz.fit` of the same config
  timed in a fresh subprocess in the same run; and where that time went: the training
  process's seconds on a core and waiting for one (the kernel's per-thread schedstat),
  and the rest (the press, the hand-overs, the final rerun and the browser); then the
  same custom run (other seeds) driven by a websocket client that polls as the front end
  does (`benchmarks.streamlit_client`), with no browser on the machine's cores: how much
  of the gap is the reader's browser sharing the two cores with the training;
* the server's **peak memory**, and that of any process it started.

Widgets are found by role and a tolerant label match, so the benchmark follows the
page as it is reworded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import importlib.util
import json
import math
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks import report as shared
from benchmarks import same_content, streamlit_client
from regviz.config import CANONICAL_L2
from tests.support import appserver

#: Goals from the issues: ratios against the bare page (at most), milliseconds and
#: seconds (at most), megabytes (at most).
GOALS = {
    "new_browser_ratio": 1.2,
    "fresh_server_ratio": 1.3,
    "rerun_ms": 300.0,
    "page_mb": 2.0,
    "custom_feedback_s": 0.3,
    "custom_finish_ratio": 1.2,
}
DEFAULT_JSON = shared.DOCS / "bench_page.json"
LAMBDA = "λ"
#: The L2 picker's label: a λ that is not L1's λ₁.
LAMBDA_LABEL = re.compile(r"λ(?![₁1])")
#: Options that are not a canonical value (the custom-value entry of a picker).
NOT_CANONICAL = re.compile(r"custom|own|other|type", re.IGNORECASE)
MB = 1_000_000
#: Points per line of the bare page's charts.
BARE_POINTS = 1_000


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


# --------------------------------------------------------------------------- the bare page

BARE_APP = '''"""The page benchmark's bare page: {charts} Altair line charts, nothing else."""

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

st.title("A bare page")
x = np.linspace(0.0, 20.0, {points})
for index in range({charts}):
    data = pd.DataFrame({{"x": x, "y": np.sin(x + index) + 0.1 * np.cos(7 * x)}})
    st.altair_chart(alt.Chart(data).mark_line().encode(x="x", y="y"), width="stretch")
'''


def write_bare_app(directory: Path, charts: int, points: int = BARE_POINTS) -> Path:
    """The bare page in `directory`, with our `.streamlit/config.toml` (theme, server settings)."""
    app = directory / "bare_app.py"
    app.write_text(BARE_APP.format(charts=charts, points=points), encoding="utf-8")
    appserver.use_our_config(directory)
    return app


# --------------------------------------------------------------------------- loads


def load_page(browser: Any, server: appserver.AppServer) -> tuple[dict[str, Any], Any, Any]:
    """One new reader (empty cache) opens the page: seconds until drawn, charts, bytes.

    Returns (sample, page, collector); the caller closes `page.context`.
    """
    page, collector = appserver.new_reader(browser)
    page.add_init_script(TIMELINE_JS)
    page.goto(server.url, wait_until="commit", timeout=120_000)
    try:
        drawn_ms = appserver.wait_until_drawn(page, timeout=120)
    except Exception as error:
        boxes = page.locator('[data-testid="stException"]')
        shown = boxes.first.inner_text()[:1000] if boxes.count() else "none"
        raise RuntimeError(
            f"{server.url}: {error}\nexception box: {shown}\nserver log:\n{server.log_tail()}"
        ) from error
    timeline = page.evaluate("() => window.__regvizTimeline")
    sample = {
        "load_s": drawn_ms / 1000,
        "script_run_started_s": _seconds(timeline["runStarted"]),
        "script_run_finished_s": _seconds(timeline["runFinished"]),
        "charts": appserver.chart_count(page),
        "exception_boxes": page.locator('[data-testid="stException"]').count(),
        **collector.summary(),
    }
    return sample, page, collector


def _idle(*servers: appserver.AppServer) -> None:
    """A reader does not arrive while the servers still finish earlier work."""
    for server in servers:
        server.wait_until_idle()


def _one_load(browser: Any, server: appserver.AppServer) -> dict[str, Any]:
    sample, page, _ = load_page(browser, server)
    page.context.close()
    return sample


def _alternate(round_: int, apps: Sequence[Any]) -> list[Any]:
    """ours, bare in even rounds; bare, ours in odd ones: drift hits both alike."""
    return list(apps) if round_ % 2 == 0 else list(reversed(apps))


@contextlib.contextmanager
def _temporary_app(prefix: str, write: Callable[[Path], Path]) -> Iterator[Path]:
    """An app that `write` puts into a fresh temporary folder, removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield write(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _bare_app(charts: int) -> contextlib.AbstractContextManager[Path]:
    return _temporary_app("regviz-bare-page-", lambda folder: write_bare_app(folder, charts))


def _same_content_app(
    content: list[dict[str, Any]], charts: int
) -> contextlib.AbstractContextManager[Path]:
    """Our first screen replayed by plain Streamlit calls (`benchmarks.same_content`)."""
    if same_content.chart_count(content) != charts:
        raise RuntimeError(
            f"the same-content page would draw {same_content.chart_count(content)} charts, "
            f"our page drew {charts} at load: the comparison would not be like for like"
        )
    return _temporary_app(
        "regviz-same-content-", lambda folder: same_content.write_app(folder, content)
    )


# --------------------------------------------------------------------------- custom run

#: A custom setting nobody stored (λ and p at once), so the server really trains it.
CUSTOM = {"l2": "0.0037", "dropout": "0.15", "epochs": "100"}
#: What opens the custom run (a tab, a pill), and the form fields by a tolerant label
#: match, in RunConfig terms.
CUSTOM_TAB = re.compile(r"^\s*train\b", re.IGNORECASE)  # "Train your own", not "Over training"
FORM_FIELDS, TRAIN_BUTTON = shared.FORM_FIELDS, shared.TRAIN_BUTTON
#: First feedback: any of these appearing inside the custom-run part after the press (its
#: tab, or the main area when a pill opens it).
FEEDBACK_SELECTOR = ", ".join(
    f'[data-testid="{testid}"]' for testid in ("stProgress", "stAlert", "stExpander", "stSpinner")
)
#: Finished: a text containing this appears on the page.
FINISHED_TEXT = "Trained on"

#: Installed just before the press. Marks the feedback elements already in its scope, then
#: notes (ms since navigation) the press, the first new feedback element inside it,
#: the first new "Trained on" text on the page, and an exception box if one appears.
CUSTOM_ARM_JS = """
([scopeSelector, feedbackSelector, finishedText]) => {
  const main = () => document.querySelector('[data-testid="stMain"]') || document.body;
  const count = () => main().textContent.split(finishedText).length - 1;
  const panel = () => document.querySelector(scopeSelector);
  for (const old of panel().querySelectorAll(feedbackSelector)) old.dataset.regvizSeen = '1';
  const state = { pressedAt: null, feedbackAt: null, finishedAt: null, error: null,
                  finishedBefore: count() };
  window.__regvizCustom = state;
  document.addEventListener('pointerdown', () => {
    if (state.pressedAt === null) state.pressedAt = performance.now();
  }, { capture: true, once: true });
  const check = () => {
    if (state.pressedAt === null) return;
    const now = performance.now();
    const tab = panel();
    if (state.feedbackAt === null && tab && [...tab.querySelectorAll(feedbackSelector)]
        .some((element) => !element.dataset.regvizSeen)) state.feedbackAt = now;
    if (state.finishedAt === null && count() > state.finishedBefore) state.finishedAt = now;
    if (state.error === null && document.querySelector('[data-testid="stException"]'))
      state.error = 'an exception box appeared';
  };
  if (window.__regvizCustomObserver) window.__regvizCustomObserver.disconnect();
  window.__regvizCustomObserver = new MutationObserver(check);
  window.__regvizCustomObserver.observe(document.body, {
    subtree: true, childList: true, characterData: true,
  });
}
"""


#: The page's own words about the finished run (the shortest text holding FINISHED_TEXT).
NOTE_JS = """
(text) => {
  const holders = [...document.querySelectorAll('[data-testid="stMarkdownContainer"]')]
    .map((element) => element.textContent).filter((words) => words.includes(text));
  holders.sort((a, b) => a.length - b.length);
  return holders.length ? holders[0].slice(0, 200) : null;
}
"""


def _train_button(page: Any) -> Any:
    """The Train button: a form submit or plain button (never a pill) whose text starts so."""
    buttons = page.locator(
        '[data-testid="stFormSubmitButton"] button, [data-testid="stButton"] button'
    )
    return buttons.filter(has_text=TRAIN_BUTTON).first


def _open_custom(page: Any) -> str:
    """Open the custom-run part of the page; return a CSS selector for where it is drawn.

    A tab (its panel), or a pill or segmented-control option that names training (then
    the part is drawn in the main area, which is its scope). An option already chosen
    is left alone: a second click would close it.
    """
    tab = page.get_by_role("tab", name=CUSTOM_TAB)
    if tab.count():
        tab.first.click()
        panel_id = tab.first.get_attribute("aria-controls")
        if not panel_id:
            raise LookupError("the custom-run tab names no panel (aria-controls)")
        scope = f'[id="{panel_id}"]'
    else:
        opener = page.locator('[data-testid="stButtonGroup"] button').filter(has_text=CUSTOM_TAB)
        if not opener.count():
            raise LookupError("no tab, pill or segmented option that opens the custom run")
        if not (opener.first.get_attribute("data-testid") or "").endswith("Active"):
            opener.first.click()
        scope = '[data-testid="stMain"]'
    _train_button(page).wait_for(state="visible", timeout=120_000)
    appserver.wait_until_drawn(page, min_charts=0, timeout=120)
    return scope


def _fill(scope: Any, values: dict[str, str]) -> None:
    """Type `values` into the custom-run inputs found by their labels."""
    inputs = scope.locator('[data-testid="stTextInput"], [data-testid="stNumberInput"]')
    labelled = []
    for index in range(inputs.count()):
        widget = inputs.nth(index)
        label = widget.locator('[data-testid="stWidgetLabel"]')
        labelled.append((label.inner_text() if label.count() else "", widget))
    for name, text in values.items():
        matches = [w for label, w in labelled if FORM_FIELDS[name].search(label)]
        if name == "dropout":  # "λ (L2)" must not pass for the p field
            matches = [
                w
                for label, w in labelled
                if FORM_FIELDS[name].search(label) and not FORM_FIELDS["l2"].search(label)
            ]
        if not matches:
            raise LookupError(f"no input for {name} in the custom-run form")
        field = matches[0].locator("input").first
        field.fill(text)
        field.press("Tab")  # commit it, as a reader leaving the field does


def custom_training(
    page: Any,
    values: dict[str, str],
    settle: Callable[[], object] | None = None,
    timeout: float = 600,
    server: appserver.AppServer | None = None,
) -> dict[str, Any]:
    """Train `values` in the custom-run part: seconds from the press until the first feedback
    inside it, and until a text containing "Trained on" appears.

    With `server`, also where the training process's time went over that span
    (`worker_time`).
    """
    scope = _open_custom(page)
    button = _train_button(page)
    form = page.locator('[data-testid="stForm"]').filter(has=button)
    _fill(form if form.count() else page.locator(scope), values)
    appserver.wait_until_drawn(page, min_charts=0, timeout=120)
    if settle is not None:
        settle()
    page.evaluate(CUSTOM_ARM_JS, [scope, FEEDBACK_SELECTOR, FINISHED_TEXT])
    before = appserver.tree_schedstat(server.pid) if server is not None else None
    button.click()
    page.wait_for_function(
        "() => { const s = window.__regvizCustom; return s.finishedAt !== null || s.error; }",
        timeout=timeout * 1000,
        polling=100,
    )
    after = appserver.tree_schedstat(server.pid) if server is not None else None
    state = page.evaluate("() => window.__regvizCustom")
    note = page.evaluate(NOTE_JS, FINISHED_TEXT)
    if state["error"]:
        raise RuntimeError(f"custom run {values}: {state['error']}")
    pressed = state["pressedAt"]
    feedback = state["feedbackAt"]
    return {
        **values,
        "first_feedback_s": None if feedback is None else (feedback - pressed) / 1000,
        "finished_s": (state["finishedAt"] - pressed) / 1000,
        "page_says": note,
        **({} if server is None else {"worker_time": worker_time(before, after, server.pid)}),
    }


#: Seeds of the custom runs without a browser: others than the browser's, whose results
#: the server has cached.
NO_BROWSER_SEEDS = 100


def custom_without_browser(
    server: appserver.AppServer, values: dict[str, str], timeout: float = 600
) -> dict[str, Any]:
    """Train `values` through a websocket client instead of a browser: seconds from the
    submit until the page's answer that the run is done arrives.

    The client reruns the live view every second as the front end does, so the server
    and the worker do what they do for a reader, but nothing draws: the difference to
    `custom_training` is the browser's share of the machine.
    """

    async def drive() -> streamlit_client.Training:
        reader = streamlit_client.Reader(server.url, "no browser")
        await reader.open()
        try:
            await reader.rerun(timeout=timeout)
            return await streamlit_client.drive_training(reader, values, timeout)
        finally:
            await reader.close()

    # Its own thread and event loop: Playwright's sync API holds this thread's loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        training = pool.submit(asyncio.run, drive()).result()
    if training.ended is None or training.errors or training.busy or not training.trained:
        if training.errors:
            why = "; ".join(training.errors)
        else:
            why = "the server was busy" if training.busy else "no result"
        raise RuntimeError(f"custom run {values} without a browser did not train to its end: {why}")
    return {**values, "finished_s": training.ended - training.submitted}


def worker_time(
    before: dict[tuple[int, int], tuple[float, float]],
    after: dict[tuple[int, int], tuple[float, float]],
    server_pid: int,
) -> dict[str, float] | None:
    """The training process's seconds on a core and waiting for one between two readings
    of the server's tree (`appserver.tree_schedstat`), and the server's own.

    The worker is the process below the server that ran longest in between (a worker
    started in between counts from zero). It runs at a low priority, so its wait is what
    the page, the browser and anything else on the machine took from it.
    """
    ran = {
        key: tuple(now - then for now, then in zip(value, before.get(key, (0.0, 0.0)), strict=True))
        for key, value in after.items()
    }
    server = next((value for (pid, _), value in ran.items() if pid == server_pid), None)
    children = [value for (pid, _), value in ran.items() if pid != server_pid]
    if not children:
        return None
    run_s, wait_s = max(children)
    return {
        "worker_run_s": run_s,
        "worker_wait_s": wait_s,
        "server_run_s": None if server is None else server[0],
    }


#: Run in a fresh interpreter: Streamlit and AppTest imported and one empty page run (what
#: a started server has done before its first reader), then the app's first run, timed.
FIRST_RUN_SCRIPT = """
import sys, time
from streamlit.testing.v1 import AppTest
AppTest.from_string("import streamlit as st").run()
started = time.perf_counter()
at = AppTest.from_file(sys.argv[1], default_timeout=300).run()
elapsed = time.perf_counter() - started
if at.exception:
    raise SystemExit(f"the page raised on its first run: {at.exception[0].value}")
print(elapsed)
"""


def first_run_seconds(app: Path, timeout: float = 600) -> float:
    """An app's first script run in a fresh interpreter: its imports and everything it builds.

    The server-side part of the fresh-server row, without the browser that shares the
    cores (and the noise that comes with it).
    """
    result = subprocess.run(
        [sys.executable, "-c", FIRST_RUN_SCRIPT, str(app)],
        cwd=app.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode:
        raise RuntimeError(f"first run of {app} failed: {result.stderr[-2000:]}")
    return float(result.stdout.strip().splitlines()[-1])


#: Run in a fresh interpreter: time `fit` alone (imports excluded), with `threads` torch
#: threads (0: torch's default).
FIT_SCRIPT = """
import json, sys, time
started = time.perf_counter()
import torch
if int(sys.argv[2]):
    torch.set_num_threads(int(sys.argv[2]))
from regviz.config import RunConfig
from regviz.train import fit
imported = time.perf_counter()
fit(RunConfig(**json.loads(sys.argv[1])))
done = time.perf_counter()
print(json.dumps({"threads": torch.get_num_threads(), "fit_s": done - imported,
                  "import_s": imported - started}))
"""


def bare_fit(values: dict[str, str], timeout: float = 600) -> dict[str, Any]:
    """`regviz.fit` of the same config in fresh subprocesses: seconds for the call itself.

    Once with torch's default thread count and once with one thread: on a small machine
    shared with other work one thread can be several times faster, and the page may pick
    either, so the page is held against the faster of the two (`fit_s`).
    """
    config = {
        name: (int if name in ("epochs", "seed") else float)(text) for name, text in values.items()
    }
    runs = []
    for threads in (0, 1):
        done = subprocess.run(
            [sys.executable, "-c", FIT_SCRIPT, json.dumps(config), str(threads)],
            cwd=appserver.REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"bare fit of {config} failed:\n{done.stderr[-2000:]}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        if runs[0]["threads"] == 1:
            break
    return {"fit_s": min(run["fit_s"] for run in runs), "runs": runs}


# --------------------------------------------------------------------------- the run


def measure_browser(
    app: Path, readers: int = 5, fresh_starts: int = 3, reruns: int = 6, custom_runs: int = 2
) -> dict[str, Any]:
    """Everything that needs Chromium; see the module docstring for the order of events."""
    with appserver.chromium() as browser:
        with appserver.serve(app, timeout=120) as ours:
            # Untimed: warms the OS file cache, and counts the charts our page draws at load.
            warm_ours = _one_load(browser, ours)
            charts = warm_ours["charts"]
            content = same_content.capture(app)
            with (
                _bare_app(charts) as bare_file,
                _same_content_app(content, charts) as same_file,
                appserver.serve(bare_file, timeout=120) as bare,
                appserver.serve(same_file, timeout=120) as same,
            ):
                warm_bare = _one_load(browser, bare)
                warm_same = _one_load(browser, same)
                servers = {"ours": ours, "bare": bare, "same": same}
                warm = {name: [] for name in servers}
                for round_ in range(readers):
                    for name in _alternate(round_, list(servers)):
                        _idle(*servers.values())
                        warm[name].append(_one_load(browser, servers[name]))
                _idle(ours, bare)
                page, collector = load_page(browser, ours)[1:]
                rerun_samples = browser_reruns(page, collector, reruns, lambda: _idle(ours, bare))
                page.context.close()
                custom = []
                for seed in range(custom_runs):
                    values = {**CUSTOM, "seed": str(seed)}
                    _idle(ours, bare)
                    page = load_page(browser, ours)[1]
                    run = custom_training(page, values, lambda: _idle(ours, bare), server=ours)
                    page.context.close()
                    _idle(ours, bare)
                    custom.append({**run, "bare_fit": bare_fit(values)})
                no_browser = []
                for seed in range(NO_BROWSER_SEEDS, NO_BROWSER_SEEDS + custom_runs):
                    values = {**CUSTOM, "seed": str(seed)}
                    _idle(ours, bare)
                    run = custom_without_browser(ours, values)
                    _idle(ours, bare)
                    no_browser.append({**run, "bare_fit": bare_fit(values)})
            memory = ours.peak_memory()
        fresh = {"ours": [], "bare": [], "same": []}
        first_runs = {"ours": [], "bare": [], "same": []}
        with _bare_app(charts) as bare_file, _same_content_app(content, charts) as same_file:
            apps = {"ours": app, "bare": bare_file, "same": same_file}
            for round_ in range(fresh_starts):
                for name in _alternate(round_, list(apps)):
                    first_runs[name].append(first_run_seconds(apps[name]))
            for round_ in range(fresh_starts):
                for name in _alternate(round_, list(apps)):
                    with appserver.serve(apps[name], timeout=120) as server:
                        _idle(server)
                        fresh[name].append(_one_load(browser, server))
    framework = collector.framework_urls()
    return {
        "charts_at_load": charts,
        "bare_page": {"charts": charts, "points_per_chart": BARE_POINTS},
        "same_content_page": {
            "charts": same_content.chart_count(content),
            "texts": len(content) - same_content.chart_count(content),
        },
        "warm_up_loads": {"ours": warm_ours, "bare": warm_bare, "same": warm_same},
        "new_browser": warm,
        "fresh_server": fresh,
        "first_run_s": first_runs,
        "framework_gzip_bytes": framework_gzip_bytes(framework),
        "browser_reruns": rerun_samples,
        "custom_runs": custom,
        "custom_runs_no_browser": no_browser,
        "server_peak_memory_bytes": memory,
    }


def _loads(samples: list[dict]) -> list[float]:
    return [sample["load_s"] for sample in samples]


def _ratio(ours: float | None, bare: float | None) -> float | None:
    return None if ours is None or not bare else ours / bare


def _against_bare_fit(runs: list[dict]) -> tuple[float | None, float | None, float | None]:
    """(median finish, median bare fit, their ratio) of some custom runs."""
    finished = shared.median([run["finished_s"] for run in runs])
    fit = shared.median([run["bare_fit"]["fit_s"] for run in runs])
    return finished, fit, _ratio(finished, fit)


def summarise(browser: dict[str, Any]) -> dict[str, Any]:
    """Medians, ratios and the goals' verdicts from the raw samples."""
    summary: dict[str, Any] = {}
    for kind in ("new_browser", "fresh_server"):
        ours = shared.median(_loads(browser[kind]["ours"]))
        bare = shared.median(_loads(browser[kind]["bare"]))
        summary[kind] = {"ours_median_s": ours, "bare_median_s": bare, "ratio": _ratio(ours, bare)}
        if browser[kind].get("same"):
            same = shared.median(_loads(browser[kind]["same"]))
            summary[kind] |= {
                "same_median_s": same,
                "same_over_bare": _ratio(same, bare),
                "ours_over_same": _ratio(ours, same),
            }
    if browser.get("first_run_s"):
        summary["first_run"] = {
            f"{name}_median_s": shared.median(values)
            for name, values in browser["first_run_s"].items()
        }
    custom = browser["custom_runs"]
    feedback = [run["first_feedback_s"] for run in custom if run["first_feedback_s"] is not None]
    finished, fit, ratio = _against_bare_fit(custom)
    summary["custom"] = {
        "first_feedback_median_s": shared.median(feedback),
        "finished_median_s": finished,
        "bare_fit_median_s": fit,
        "ratio": ratio,
    }
    one_thread = [
        min(each["fit_s"] for each in run["bare_fit"]["runs"] if each["threads"] == 1)
        for run in custom
        if any(each.get("threads") == 1 for each in run["bare_fit"].get("runs", ()))
    ]
    if one_thread:
        fit_1 = shared.median(one_thread)
        summary["custom"] |= {
            "bare_fit_one_thread_median_s": fit_1,
            "ratio_one_thread": _ratio(finished, fit_1),
        }
    split = [run for run in custom if run.get("worker_time")]
    if split:
        times = [run["worker_time"] for run in split]
        summary["custom"] |= {
            "worker_run_median_s": shared.median([each["worker_run_s"] for each in times]),
            "worker_wait_median_s": shared.median([each["worker_wait_s"] for each in times]),
            "rest_median_s": shared.median(
                [
                    run["finished_s"]
                    - run["worker_time"]["worker_run_s"]
                    - run["worker_time"]["worker_wait_s"]
                    for run in split
                ]
            ),
        }
    headless = browser.get("custom_runs_no_browser") or []
    if headless:
        finished_nb, fit_nb, ratio_nb = _against_bare_fit(headless)
        summary["custom"] |= {
            "no_browser_finished_median_s": finished_nb,
            "no_browser_bare_fit_median_s": fit_nb,
            "ratio_no_browser": ratio_nb,
        }
    app_bytes = [sample["app_bytes"] for sample in browser["new_browser"]["ours"]]
    summary["page_mb"] = (shared.median(app_bytes) or 0) / MB
    return summary


def measure(
    app: Path, readers: int = 5, fresh_starts: int = 3, reruns: int = 6, custom_runs: int = 2
) -> dict[str, Any]:
    facts = shared.machine_facts()
    interference = shared.Interference()
    browser = measure_browser(app, readers, fresh_starts, reruns, custom_runs)
    apptest = measure_apptest(app)
    interference.close(facts)
    summary = summarise(browser)
    values = {
        "new_browser_ratio": summary["new_browser"]["ratio"],
        "fresh_server_ratio": summary["fresh_server"]["ratio"],
        "rerun_ms": _median(apptest["first_visits"]),
        "page_mb": summary["page_mb"],
        "custom_feedback_s": summary["custom"]["first_feedback_median_s"],
        "custom_finish_ratio": summary["custom"]["ratio"],
    }
    return {
        "created": shared.created(),
        "app": str(app),
        "drawn": "script run finished, websocket connected, no running indicator, stale element "
        "or loading placeholder, and every visible stVegaLiteChart holds a canvas/svg of non-zero "
        "size on two consecutive animation frames (tests.support.appserver.DRAWN_JS)",
        "settled": "after a λ switch: the server answered, the page is drawn, and neither the "
        f"DOM nor the websocket changed for {QUIET_MS} ms; timed from the key or pointer press "
        "to the last DOM change (benchmarks.page.SETTLED_JS)",
        "custom_contract": "first feedback: the first progress bar, alert, status or spinner "
        "that appears inside the custom-run part (its tab, or the main area when a pill opens "
        f"it) after the press; finished: a text containing {FINISHED_TEXT!r} appears; bare fit: "
        "regviz.fit of the same config in a fresh subprocess, imports excluded, the faster of "
        "torch's default threads and one thread",
        "machine": facts,
        "summary": summary,
        **browser,
        "apptest": apptest,
        "goals": {
            name: {
                "value": value,
                "goal": GOALS[name],
                "passed": None if value is None else value <= GOALS[name],
            }
            for name, value in values.items()
        },
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


def _s(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} s"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}×"


def _each(samples: list[dict]) -> str:
    return ", ".join(f"{sample['load_s']:.2f}" for sample in samples)


def format_report(report: dict[str, Any]) -> str:
    summary, goals = report["summary"], report["goals"]
    lines = [
        f"page benchmark: {report['app']} ({report['charts_at_load']} charts drawn at load) "
        f"against a bare page of {report['bare_page']['charts']} Altair line charts × "
        f"{report['bare_page']['points_per_chart']:,} points",
        *shared.machine_lines(report["machine"]),
        "",
        f"{'load until drawn':<44}{'ours':>9}{'bare':>9}{'ours/bare':>11}  goal",
    ]
    for kind, label, goal in (
        ("new_browser", "new browser, running server", "new_browser_ratio"),
        ("fresh_server", "first reader, fresh server", "fresh_server_ratio"),
    ):
        row = summary[kind]
        count = len(report[kind]["ours"])
        lines.append(
            f"{label + f' (median of {count})':<44}{_s(row['ours_median_s']):>9}"
            f"{_s(row['bare_median_s']):>9}{_x(row['ratio']):>11}  "
            f"≤ {GOALS[goal]:g}× {shared.verdict(row['ratio'], GOALS[goal])}"
        )
        lines.append(
            f"    each, s: ours {_each(report[kind]['ours'])}; bare {_each(report[kind]['bare'])}"
        )
        if "same_median_s" in row:
            lines += [
                f"    same content, plain Streamlit {_s(row['same_median_s'])}: the content costs "
                f"{_x(row['same_over_bare'])} the bare page, our code and widgets "
                f"{_x(row['ours_over_same'])} the same content (each, s: "
                f"{_each(report[kind]['same'])})",
            ]
    if "first_run" in summary:
        first = summary["first_run"]
        count = len(report["first_run_s"]["ours"])
        lines.append(
            f"    its first script run alone, in a fresh interpreter (AppTest, median of {count}): "
            f"ours {_s(first['ours_median_s'])}, bare {_s(first['bare_median_s'])}, same "
            f"content {_s(first['same_median_s'])}"
        )
    custom = summary["custom"]
    runs = report["custom_runs"]
    if runs:
        first = runs[0]
        lines += [
            "",
            f"custom run in the browser (λ = {first['l2']}, p = {first['dropout']}, "
            f"{first['epochs']} epochs, seeds {', '.join(run['seed'] for run in runs)}; medians):",
            f"    first feedback after pressing Train  {_s(custom['first_feedback_median_s'])}"
            f"  (each {', '.join(_s(run['first_feedback_s']) for run in runs)})"
            f"  goal ≤ {GOALS['custom_feedback_s']:g} s "
            f"{shared.verdict(custom['first_feedback_median_s'], GOALS['custom_feedback_s'])}",
            f"    until 'Trained on' shows             {_s(custom['finished_median_s'])}"
            f"  against a bare fit in a fresh process {_s(custom['bare_fit_median_s'])}: "
            f"{_x(custom['ratio'])}  goal ≤ {GOALS['custom_finish_ratio']:g}× "
            f"{shared.verdict(custom['ratio'], GOALS['custom_finish_ratio'])}",
        ]
        if "worker_run_median_s" in custom:
            lines.append(
                f"    where it went: the training process ran {_s(custom['worker_run_median_s'])} "
                "(training, describing the run, the live snapshots) and waited "
                f"{_s(custom['worker_wait_median_s'])} for a core; the other "
                f"{_s(custom['rest_median_s'])} are the press, the hand-overs and the final "
                "rerun until the browser shows the result"
            )
        if "ratio_one_thread" in custom:
            lines.append(
                "    against a bare fit with one torch thread, as the page's worker trains "
                "(it leaves the other cores to the page): "
                f"{_s(custom['bare_fit_one_thread_median_s'])}, {_x(custom['ratio_one_thread'])} "
                "(information; the goal is held against the faster fit)"
            )
        if "ratio_no_browser" in custom:
            seeds = ", ".join(run["seed"] for run in report["custom_runs_no_browser"])
            lines.append(
                "    the same without a browser on these cores (a websocket client that reruns "
                f"the live view as the page does; seeds {seeds}): "
                f"{_s(custom['no_browser_finished_median_s'])} against a bare fit "
                f"{_s(custom['no_browser_bare_fit_median_s'])}: {_x(custom['ratio_no_browser'])} "
                "(information: the browser's share of the gap)"
            )
        for run in runs:
            fits = ", ".join(
                f"{fit['fit_s']:.2f} s with {fit['threads']} thread(s)"
                for fit in run["bare_fit"]["runs"]
            )
            lines.append(
                f"    seed {run['seed']}: {run['finished_s']:.2f} s in the browser "
                f"(the page says: {run.get('page_says')!r}); bare fit {fits}"
            )
    at = report["apptest"]
    each = ", ".join(f"{sample['option']}: {sample['ms']:.0f}" for sample in at["first_visits"])
    lines += [
        "",
        f"canonical λ rerun, server time (AppTest, {at['widget']}): median "
        f"{_median(at['first_visits']):.0f} ms on first visits ({each}), "
        f"{_median(at['revisits']):.0f} ms on revisits  goal < {GOALS['rerun_ms']:g} ms "
        f"{shared.verdict(goals['rerun_ms']['value'], GOALS['rerun_ms'])}",
    ]
    reruns = report["browser_reruns"]
    if reruns:
        each = ", ".join(format(sample["ms"], ".0f") for sample in reruns)
        lines.append(
            f"the same in the browser, until the page settled: median {_median(reruns):.0f} ms "
            f"over {len(reruns)} ({each}), websocket "
            f"{statistics.median(s['websocket_bytes'] for s in reruns) / 1000:.0f} kB per switch"
        )
    reader = report["new_browser"]["ours"][0]
    lines.append(
        f"bytes for one full page: {summary['page_mb']:.2f} MB from the app (goal ≤ "
        f"{GOALS['page_mb']:g} MB {shared.verdict(summary['page_mb'], GOALS['page_mb'])}) + "
        f"{reader['framework_http_bytes'] / MB:.2f} MB Streamlit front end"
    )
    gz = report["framework_gzip_bytes"]
    if gz is not None:
        lines.append(
            f"    (Streamlit serves its front end uncompressed on localhost; gzip would make it "
            f"{gz / MB:.2f} MB, and browsers cache it across visits)"
        )
    errors = sum(
        len(sample["console_errors"]) + len(sample["page_errors"]) + sample["exception_boxes"]
        for kind in ("new_browser", "fresh_server")
        for sample in report[kind]["ours"]
    )
    lines.append(f"browser errors and exception boxes on our page, all loads: {errors}")
    memory = report["server_peak_memory_bytes"]
    if memory["server_hwm"]:
        children = memory["children"]
        lines.append(
            f"server peak resident memory: {memory['server_hwm'] / MB:.0f} MB (VmHWM); "
            + (
                f"{len(children)} child process(es), together at most "
                f"{memory['children_sampled_peak'] / MB:.0f} MB"
                if children
                else "no child processes"
            )
        )
    same = report.get("same_content_page")
    lines += ["", f"drawn = {report['drawn']}"]
    if same:
        lines.append(
            f"same content = our first screen's {same['texts']} headings and texts and "
            f"{same['charts']} charts (identical specs and data), each drawn by one plain st.* "
            "call: no widgets, columns, tabs, sidebar or regviz code (benchmarks.same_content)"
        )
    lines.append(f"custom run: {report['custom_contract']}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.page",
        description="Time the page in headless Chromium against a bare Streamlit page.",
    )
    parser.add_argument("--app", default=None, help="the app file (default: streamlit_app.py)")
    parser.add_argument(
        "--readers", type=int, default=5, help="new-browser loads per app (default 5)"
    )
    parser.add_argument(
        "--fresh-starts", type=int, default=3, help="fresh server starts per app (default 3)"
    )
    parser.add_argument(
        "--custom-runs", type=int, default=2, help="custom trainings in the browser (default 2)"
    )
    shared.add_json_argument(parser, str(DEFAULT_JSON))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    for name in ("readers", "fresh_starts", "custom_runs"):
        if getattr(args, name) < 1:
            print(f"error: --{name.replace('_', '-')} must be at least 1", file=sys.stderr)
            return 2
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
            "command": shared.command("benchmarks.page", argv),
            **measure(app.resolve(), args.readers, args.fresh_starts, 6, args.custom_runs),
        }
    except (appserver.AppServerError, BrowserError, LookupError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    shared.publish(report, format_report(report), args.json or DEFAULT_JSON)
    return 0


if __name__ == "__main__":
    sys.exit(main())
