"""Run the Streamlit page in a real server and look at it with headless Chromium.

The browser test and the page benchmark both need the same three things: a
`streamlit run` on a free port that is stopped cleanly afterwards, a Chromium
that starts without downloading anything (Debian's, with flags that keep it
offline and quiet), and one definition of "every chart has drawn". They live
here so the test and the benchmark cannot disagree about them.

Streamlit itself is never imported: the app runs in a child process.
Playwright is imported only when a browser is launched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_FILE = REPO_ROOT / "streamlit_app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
VIEWPORT = {"width": 1280, "height": 900}
#: Chromium refuses screenshots taller than its largest texture.
MAX_SCREENSHOT_HEIGHT = 16_000


# --------------------------------------------------------------------------- server


def free_port() -> int:
    """A localhost port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _status_kib(pid: int, key: str) -> int | None:
    """One `VmRSS`/`VmHWM`-style line of /proc/<pid>/status, in KiB (Linux only)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def descendants(pid: int) -> list[int]:
    """The process and every process below it (via /proc/<pid>/task/*/children)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):
                queue += [int(child) for child in (task / "children").read_text().split()]
    return found


def _command(pid: int) -> str:
    """A process's command line, shortened for a report ("" once it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    words = [word.decode(errors="replace") for word in raw.split(b"\0") if word]
    if words:
        words[0] = Path(words[0]).name  # "python", not the interpreter's full path
    return " ".join(words)[:160]


class _MemorySampler(threading.Thread):
    """Polls the memory of a process tree every `interval` s.

    VmHWM (the kernel's exact high-water mark) covers one process, not its
    children, so the sampler keeps, for each child it has seen, the last VmHWM it
    read (exact up to that sample), and the largest sums of VmRSS over the children
    and over the whole tree (sampled: a spike shorter than `interval` can be missed).
    """

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True, name=f"rss-sampler-{pid}")
        self.pid, self.interval = pid, interval
        self.peak_kib = 0
        self.children_peak_kib = 0
        self.children: dict[int, dict[str, Any]] = {}  # pid -> {"command", "peak_kib"}
        self.stopped = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.sample()
            self.stopped.wait(self.interval)

    def sample(self) -> None:
        with self._lock:
            rss = {pid: _status_kib(pid, "VmRSS") or 0 for pid in descendants(self.pid)}
            children = {pid: kib for pid, kib in rss.items() if pid != self.pid}
            self.peak_kib = max(self.peak_kib, sum(rss.values()))
            self.children_peak_kib = max(self.children_peak_kib, sum(children.values()))
            for pid, kib in children.items():
                seen = self.children.get(pid)
                if seen is None:
                    seen = self.children[pid] = {"command": _command(pid), "peak_kib": 0}
                seen["peak_kib"] = max(seen["peak_kib"], _status_kib(pid, "VmHWM") or kib)


@dataclass
class AppServer:
    """A running `streamlit run`: where to reach it and how much memory it has used."""

    url: str
    pid: int
    port: int
    log_path: Path
    _sampler: _MemorySampler = field(repr=False)

    def peak_memory(self) -> dict[str, Any]:
        """Peak resident memory so far, in bytes.

        `server_hwm` is the kernel's high-water mark of the server process (exact);
        `children` lists every process started below the server (a training worker,
        say) with its own peak (`peak_bytes`, its VmHWM as last sampled);
        `children_sampled_peak` and `tree_sampled_peak` are the largest sums of VmRSS
        over the children, and over the server and its children, sampled every 0.1 s
        (a short spike can be missed). No children: `children` is empty and
        `children_sampled_peak` is 0.
        """
        sampler = self._sampler
        sampler.sample()
        hwm = _status_kib(self.pid, "VmHWM")
        return {
            "server_hwm": None if hwm is None else hwm * 1024,
            "tree_sampled_peak": sampler.peak_kib * 1024 or None,
            "children_sampled_peak": sampler.children_peak_kib * 1024,
            "children": [
                {"pid": pid, "command": seen["command"], "peak_bytes": seen["peak_kib"] * 1024}
                for pid, seen in sorted(sampler.children.items())
            ],
        }

    def cpu_seconds(self) -> float:
        """CPU time the server process (all its threads) has used so far."""
        return process_cpu_seconds(self.pid)

    def wait_until_idle(self, timeout: float = 30.0) -> float:
        """Wait until background work (the page warming up torch, say) is done; see below."""
        return wait_until_idle(self.cpu_seconds, timeout=timeout)

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def use_our_config(directory: Path) -> None:
    """Give an app written into `directory` our `.streamlit/config.toml` (theme, server
    settings), which `streamlit run` reads from the app's folder."""
    config = REPO_ROOT / ".streamlit" / "config.toml"
    if config.is_file():
        (directory / ".streamlit").mkdir(exist_ok=True)
        shutil.copy(config, directory / ".streamlit" / "config.toml")


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: field n of `man proc` is index n - 3."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def _cpu_seconds(fields: list[str], reaped_children: bool) -> float:
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int, reaped_children: bool = False) -> float:
    """User + system CPU seconds of a process, all threads (Linux /proc/<pid>/stat).

    With `reaped_children`, also what its children used that have exited and been
    waited for (the kernel adds them to the parent once it reaps them).
    """
    return _cpu_seconds(_stat_fields(pid), reaped_children)


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and everything below it, living or exited and reaped."""
    total = 0.0
    for member in descendants(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += process_cpu_seconds(member, reaped_children=True)
    return total


def tree_cpu_by_process(pid: int) -> dict[tuple[int, int], float]:
    """Each living process's own CPU seconds, for a process and everything below it.

    Keyed by (pid, start time), so that a reused pid is another process; children's
    reaped time is left out, so that summing samples taken over time counts nothing twice.
    """
    return _per_process(pid, lambda member, fields: _cpu_seconds(fields, reaped_children=False))


def _per_process(pid: int, read: Callable[[int, list[str]], Any]) -> dict[tuple[int, int], Any]:
    """`read(pid, stat fields)` for a process and every living process below it, keyed by
    (pid, start time); a process that exits while it is read is left out."""
    found = {}
    for member in descendants(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = _stat_fields(member)
            found[(member, int(fields[19]))] = read(member, fields)
    return found


def schedstat_seconds(pid: int) -> tuple[float, float]:
    """(seconds on a core, seconds runnable but waiting for one), summed over a process's
    living threads (Linux /proc/<pid>/task/*/schedstat, in nanoseconds)."""
    ran = waited = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = (task / "schedstat").read_text().split()
            ran, waited = ran + int(fields[0]), waited + int(fields[1])
    return ran / 1e9, waited / 1e9


def tree_schedstat(pid: int) -> dict[tuple[int, int], tuple[float, float]]:
    """`schedstat_seconds` of a process and every living process below it, keyed as in
    `tree_cpu_by_process`."""
    return _per_process(pid, lambda member, fields: schedstat_seconds(member))


def wait_until_idle(
    cpu_seconds: Callable[[], float],
    window: float = 0.5,
    busy_fraction: float = 0.1,
    timeout: float = 30.0,
) -> float:
    """Block until a process used under `busy_fraction` of a core over `window` seconds.

    A reader does not click in the same instant the page appears; timing a rerun
    while the server still finishes background work would measure that work too.
    Returns the seconds waited (at most about `timeout`).
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = cpu_seconds()
        time.sleep(window)
        if cpu_seconds() - before < busy_fraction * window:
            break
    return time.monotonic() - started


class AppServerError(RuntimeError):
    """The app did not come up; the message carries the server's own last words."""


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def serve(
    app: str | os.PathLike[str] = APP_FILE,
    *,
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[AppServer]:
    """Start `python -m streamlit run app` on a free port; stop its whole process group after.

    Headless, no usage statistics, no file watcher, bound to 127.0.0.1. Raises
    `AppServerError` with the server log if it exits or is not healthy in `timeout` s.
    """
    app = Path(app).resolve()
    if not app.is_file():
        raise AppServerError(f"no app at {app}")
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.headless=true",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
        "--server.runOnSave=false",
        *extra_args,
    ]
    log_dir = Path(tempfile.mkdtemp(prefix="regviz-appserver-"))
    log_path = log_dir / "streamlit.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=app.parent,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    sampler = _MemorySampler(process.pid)
    sampler.start()
    server = AppServer(f"http://127.0.0.1:{port}", process.pid, port, log_path, sampler)
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(server.url):
            if process.poll() is not None:
                raise AppServerError(
                    f"streamlit exited with code {process.returncode} before it was healthy:\n"
                    + server.log_tail()
                )
            if time.monotonic() > deadline:
                raise AppServerError(
                    f"streamlit not healthy after {timeout:g} s:\n" + server.log_tail()
                )
            time.sleep(0.05)
        yield server
    finally:
        sampler.stopped.set()
        _stop(process)
        sampler.join(timeout=1)
        shutil.rmtree(log_dir, ignore_errors=True)


def _stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM to the process group (Streamlit shuts down cleanly on it), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --------------------------------------------------------------------------- browser


def browser_unavailable() -> str | None:
    """Why headless Chromium cannot run here, or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "python playwright is not installed (pip install -r requirements-dev.txt)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@dataclass
class Collector:
    """What one reader's page did: errors it logged and bytes it moved.

    HTTP bytes are Chromium's `encodedDataLength` per response (headers and body
    as they came over the wire), split into Streamlit's own front end (`/static/`,
    the same files for every Streamlit app, served with immutable caching) and
    everything else (`app_http_bytes`: host config, media, health checks).
    WebSocket bytes are frame payloads in both directions; Streamlit sends the
    page's elements and chart data that way.
    """

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    responses: dict[str, list] = field(default_factory=dict)  # request id -> [url, bytes]
    ws_received_bytes: int = 0
    ws_sent_bytes: int = 0

    @staticmethod
    def is_framework(url: str) -> bool:
        path = urllib.parse.urlsplit(url).path
        return path.startswith("/static/") or path == "/favicon.png"

    @property
    def framework_http_bytes(self) -> int:
        return sum(size for url, size in self.responses.values() if self.is_framework(url))

    @property
    def app_http_bytes(self) -> int:
        return sum(size for url, size in self.responses.values() if not self.is_framework(url))

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.responses.values()) + self.websocket_bytes

    @property
    def websocket_bytes(self) -> int:
        return self.ws_received_bytes + self.ws_sent_bytes

    @property
    def app_bytes(self) -> int:
        """What this app adds on top of Streamlit's front end: its websocket traffic and media."""
        return self.app_http_bytes + self.websocket_bytes

    @property
    def errors(self) -> list[str]:
        return [f"console: {e}" for e in self.console_errors] + [
            f"page: {e}" for e in self.page_errors
        ]

    def framework_urls(self) -> list[str]:
        return sorted({url for url, _ in self.responses.values() if self.is_framework(url)})

    def summary(self) -> dict[str, Any]:
        return {
            "total_bytes": self.total_bytes,
            "framework_http_bytes": self.framework_http_bytes,
            "app_http_bytes": self.app_http_bytes,
            "ws_received_bytes": self.ws_received_bytes,
            "ws_sent_bytes": self.ws_sent_bytes,
            "app_bytes": self.app_bytes,
            "http_responses": len(self.responses),
            "console_errors": list(self.console_errors),
            "page_errors": list(self.page_errors),
        }

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _on_request(self, event: dict) -> None:
        self.responses[event["requestId"]] = [event["request"]["url"], 0]

    def _on_loading_finished(self, event: dict) -> None:
        entry = self.responses.setdefault(event["requestId"], ["", 0])
        entry[1] = int(event.get("encodedDataLength", 0))

    @staticmethod
    def _frame_bytes(event: dict) -> int:
        response = event.get("response", {})
        payload = response.get("payloadData", "")
        if response.get("opcode") == 2:  # binary frames arrive base64-encoded
            return len(payload) * 3 // 4 - payload[-2:].count("=")
        return len(payload.encode())

    def _on_ws_received(self, event: dict) -> None:
        self.ws_received_bytes += self._frame_bytes(event)

    def _on_ws_sent(self, event: dict) -> None:
        self.ws_sent_bytes += self._frame_bytes(event)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium through python playwright (no downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


#: Installed in every reader's page before it loads: counts the websocket messages the
#: page receives and when the last one came (`window.__regvizWs`), so a benchmark can
#: tell that the server answered an interaction.
WEBSOCKET_PROBE_JS = """
(() => {
  const probe = { received: 0, lastAt: null };
  window.__regvizWs = probe;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', () => {
        probe.received += 1;
        probe.lastAt = performance.now();
      });
    }
  };
})();
"""


def new_reader(browser: Browser, viewport: dict[str, int] = VIEWPORT) -> tuple[Page, Collector]:
    """A fresh context (no cache, no cookies) and page, with a collector attached before loading."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.add_init_script(WEBSOCKET_PROBE_JS)
    collector = Collector()
    page.on("console", collector._on_console)
    page.on("pageerror", lambda error: collector.page_errors.append(str(error)))
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.on("Network.requestWillBeSent", collector._on_request)
    cdp.on("Network.loadingFinished", collector._on_loading_finished)
    cdp.on("Network.webSocketFrameReceived", collector._on_ws_received)
    cdp.on("Network.webSocketFrameSent", collector._on_ws_sent)
    return page, collector


# --------------------------------------------------------------------------- "drawn"

#: When the page counts as drawn. All of, checked on two consecutive animation frames:
#: 1. the app root reports the script run finished (`data-test-script-state` is
#:    `notRunning`) and the websocket connected (`data-test-connection-state`);
#: 2. no "Running..." indicator (`stStatusWidgetRunningIcon`), no stale element left
#:    from a previous run (`data-stale="true"`) and no placeholder of an element whose
#:    code is still loading (`stSkeleton`: Streamlit loads widget code on demand);
#: 3. at least `minCharts` chart elements (`stVegaLiteChart`) that a reader can see (a chart
#:    in a closed tab is not drawn until its tab opens), and each one's
#:    `.vega-embed` holds a `canvas` or `svg` with a non-zero size.
#: `IS_DRAWN_JS` checks once; `DRAWN_JS` resolves to `performance.now()` (ms since
#: navigation start) at the first such frame, and throws, saying what it saw, after
#: `timeoutMs`.
IS_DRAWN_JS = """
(minCharts) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.dataset.testScriptState !== 'notRunning') return false;
  if (app.dataset.testConnectionState !== 'CONNECTED') return false;
  const pending = '[data-testid="stStatusWidgetRunningIcon"], [data-stale="true"], '
    + '[data-testid="stSkeleton"]';
  if (document.querySelector(pending)) return false;
  // Charts in a closed tab are not drawn until the tab opens; they do not count.
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
    .filter((chart) => chart.checkVisibility());
  if (charts.length < minCharts) return false;
  return charts.every((chart) => {
    const surface = chart.querySelector('.vega-embed canvas, .vega-embed svg');
    if (!surface) return false;
    const box = surface.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  });
}
"""
DRAWN_JS = (
    """
async ([minCharts, timeoutMs]) => {
  const drawnNow = () => ("""
    + IS_DRAWN_JS
    + """)(minCharts);
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (drawnNow()) {
      const at = performance.now();
      await frame();
      if (drawnNow()) return at;
    }
    await frame();
  }
  const charts = document.querySelectorAll('[data-testid="stVegaLiteChart"]').length;
  const app = document.querySelector('[data-testid="stApp"]');
  const state = app ? app.dataset.testScriptState : 'no app root';
  throw new Error(`page not drawn in ${timeoutMs} ms: script ${state}, ${charts} chart(s)`);
}
"""
)


def wait_until_drawn(page: Page, min_charts: int = 1, timeout: float = 60.0) -> float:
    """Block until the page is drawn (see `DRAWN_JS`); return that moment in ms since navigation."""
    return float(page.evaluate(DRAWN_JS, [int(min_charts), timeout * 1000]))


def chart_count(page: Page, visible_only: bool = True) -> int:
    """Charts on the page; by default only those a reader can see (not in a closed tab)."""
    if not visible_only:
        return page.locator('[data-testid="stVegaLiteChart"]').count()
    return int(
        page.evaluate(
            """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
            .filter((chart) => chart.checkVisibility()).length"""
        )
    )


def full_page_screenshot(page: Page, path: str | os.PathLike[str], min_charts: int = 1) -> None:
    """Screenshot the whole page: Streamlit scrolls inside `stMain`, so grow the viewport first."""
    height = page.evaluate(
        "() => { const main = document.querySelector('[data-testid=\"stMain\"]');"
        " return main ? main.scrollHeight : document.documentElement.scrollHeight; }"
    )
    width = (page.viewport_size or VIEWPORT)["width"]
    page.set_viewport_size({"width": width, "height": min(int(height), MAX_SCREENSHOT_HEIGHT)})
    wait_until_drawn(page, min_charts)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
