"""`python -m regviz.loadtest`: many readers at once against a real `streamlit run`.

Each reader is a websocket client that speaks Streamlit's own protocol (the
protobuf messages its front end sends and receives), so twenty of them cost the
2-core test machine almost nothing beyond the server's work, unlike twenty
headless browsers. Each reader opens the page, moves the sweep sliders to other
canonical values, and some submit the custom-training form (a few epochs). One
reader closes its connection in the middle of a training, the way a closed tab
does, and a later reader asks for the same setting. Optionally one real
Chromium page loads the page during the rush, to catch what only a browser
sees (exception boxes, console errors).

What is counted: errors (exception elements, error alerts, runs that did not
finish, console errors), how many trainings ran at once (from the progress
messages: a training runs from its first epoch to its last), queue waits (from
the "setting up" bar to the first epoch event), trainings refused because the
queue was full, and the server's peak resident memory.

Widgets are found by kind and a tolerant label match, so the page can reword
its labels. Streamlit's protobuf classes are imported lazily here: this module is
a test tool that talks to the page's server, never part of the page's reading path.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import statistics
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tests.support import appserver

MAX_TRAININGS_ENV = "REGVIZ_MAX_TRAININGS"
#: A sweep slider: its options read like "λ = 0.01", "p = 0.3", "decay = 1".
SWEEP_OPTION = re.compile(r"=\s*[-+0-9.e]+$")
EPOCH_TEXT = re.compile(r"epoch\s+(\d+)\s+(?:of|/)\s+(\d+)", re.IGNORECASE)
#: Custom-form fields by a tolerant label match, in RunConfig terms.
FORM_FIELDS = {
    "l2": re.compile(r"λ|l2", re.IGNORECASE),
    "dropout": re.compile(r"dropout|\bp\b", re.IGNORECASE),
    "epochs": re.compile(r"epoch", re.IGNORECASE),
    "seed": re.compile(r"seed", re.IGNORECASE),
}
TRAIN_BUTTON = re.compile(r"train", re.IGNORECASE)
BUSY_TEXT = re.compile(r"busy", re.IGNORECASE)
ERROR_FORMAT, WARNING_FORMAT = 1, 2


# --------------------------------------------------------------------------- protocol


def _proto() -> Any:
    """Streamlit's message classes (imported on first use; see the module docstring)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    return BackMsg, ForwardMsg, WidgetState


@dataclass
class Run:
    """What one script run sent back to one reader."""

    started: float
    finished: float | None = None
    status: int | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    progress: list[tuple[float, str]] = field(default_factory=list)
    charts: int = 0
    elements: int = 0
    #: Runs the page started on its own (st.rerun) before this request's run finished.
    server_reruns: int = 0

    @property
    def seconds(self) -> float | None:
        return None if self.finished is None else self.finished - self.started

    def epochs(self) -> list[tuple[float, int, int]]:
        """(time, epoch, of) for each progress message that names an epoch."""
        found = []
        for moment, text in self.progress:
            match = EPOCH_TEXT.search(text)
            if match:
                found.append((moment, int(match.group(1)), int(match.group(2))))
        return found


class Reader:
    """One browser tab's worth of websocket traffic."""

    def __init__(self, url: str, name: str):
        self.url = url.replace("http://", "ws://", 1) + "/_stcore/stream"
        self.name = name
        self.socket: Any = None
        self.widgets: dict[str, tuple[str, Any]] = {}  # id -> (kind, proto)
        self.values: dict[str, Any] = {}  # id -> WidgetState we keep sending
        self.runs: list[Run] = []

    async def open(self) -> None:
        import websockets

        self.socket = await websockets.connect(
            self.url, subprotocols=["streamlit"], max_size=None, open_timeout=60
        )

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()

    def abandon(self) -> None:
        """Drop the connection without a goodbye, like a killed tab."""
        if self.socket is not None:
            self.socket.transport.abort()

    async def rerun(
        self, extra: Iterable[Any] = (), timeout: float = 120.0, leave_when=None
    ) -> Run:
        """Ask for a script run with our widget values; collect until it finishes.

        `leave_when(run)` is checked after every message; when it returns True the
        reader abandons the connection there and then (the run stays unfinished).
        """
        back, forward, _ = _proto()
        message = back()
        message.rerun_script.query_string = ""
        message.rerun_script.widget_states.widgets.extend([*self.values.values(), *extra])
        run = Run(started=time.monotonic())
        self.runs.append(run)
        await self.socket.send(message.SerializeToString())
        deadline = run.started + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                run.errors.append(f"{self.name}: script run not finished in {timeout:g} s")
                return run
            raw = await asyncio.wait_for(self.socket.recv(), remaining)
            reply = forward()
            reply.ParseFromString(raw)
            kind = reply.WhichOneof("type")
            if kind == "delta" and reply.delta.WhichOneof("type") == "new_element":
                self._element(run, reply.delta.new_element)
            elif kind == "session_event" and reply.session_event.HasField(
                "script_compilation_exception"
            ):
                run.errors.append(f"{self.name}: the page failed to compile")
            elif kind == "script_finished":
                if reply.script_finished == forward.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN:
                    # The page asked for a fresh run itself (st.rerun after a custom
                    # training): the server starts it at once, and it belongs to this request.
                    run.server_reruns += 1
                    continue
                run.finished, run.status = time.monotonic(), reply.script_finished
                return run
            if leave_when is not None and leave_when(run):
                self.abandon()
                return run

    def _element(self, run: Run, element: Any) -> None:
        kind = element.WhichOneof("type")
        run.elements += 1
        if kind == "exception":
            text = f"{element.exception.type}: {element.exception.message}"
            run.errors.append(f"{self.name}: exception box: {text[:300]}")
        elif kind == "alert" and element.alert.format == ERROR_FORMAT:
            run.errors.append(f"{self.name}: error alert: {element.alert.body[:300]}")
        elif kind == "alert" and element.alert.format == WARNING_FORMAT:
            run.warnings.append(element.alert.body)
        elif kind == "progress":
            run.progress.append((time.monotonic(), element.progress.text))
        elif kind == "vega_lite_chart":
            run.charts += 1
        if kind in ("slider", "text_input", "button"):
            proto = getattr(element, kind)
            self.widgets[proto.id] = (kind, proto)

    # --- widgets ----------------------------------------------------------------
    def sweep_sliders(self) -> list[Any]:
        return [
            proto
            for kind, proto in self.widgets.values()
            if kind == "slider"
            and len(proto.options) > 1
            and all(SWEEP_OPTION.search(o) for o in proto.options)
        ]

    def choose(self, slider: Any, rng: random.Random) -> str:
        """Move a sweep slider to another canonical value (kept for later runs)."""
        _, _, widget_state = _proto()
        current = self.values.get(slider.id)
        shown = current.string_array_value.data[0] if current is not None else None
        option = rng.choice([o for o in slider.options if o != shown])
        state = widget_state(id=slider.id)
        state.string_array_value.data.append(option)
        self.values[slider.id] = state
        return option

    def fill_form(self, values: dict[str, str]) -> Any:
        """Type `values` into the custom form; returns the submit trigger to send."""
        _, _, widget_state = _proto()
        button = next(
            (
                proto
                for kind, proto in self.widgets.values()
                if kind == "button" and proto.is_form_submitter and TRAIN_BUTTON.search(proto.label)
            ),
            None,
        )
        if button is None:
            raise LookupError(f"{self.name}: no form submit button labelled like 'Train'")
        inputs = [
            proto
            for kind, proto in self.widgets.values()
            if kind == "text_input" and proto.form_id == button.form_id
        ]
        for name, text in values.items():
            matches = [p for p in inputs if FORM_FIELDS[name].search(p.label)]
            if name == "dropout":  # "λ (L2)" must not pass for the p field
                matches = [p for p in matches if not FORM_FIELDS["l2"].search(p.label)]
            if not matches:
                raise LookupError(f"{self.name}: no text input for {name} in the custom form")
            self.values[matches[0].id] = widget_state(id=matches[0].id, string_value=text)
        return widget_state(id=button.id, trigger_value=True)


# --------------------------------------------------------------------------- scenario


@dataclass
class Training:
    reader: str
    config: dict[str, str]
    submitted: float
    run: Run
    abandoned: bool = False

    @property
    def trained(self) -> bool:
        return bool(self.run.epochs())

    @property
    def busy(self) -> bool:
        return any(BUSY_TEXT.search(w) for w in self.run.warnings)

    def interval(self) -> tuple[float, float] | None:
        """From its first epoch to its last one seen: strictly inside its training slot."""
        epochs = [(t, e, n) for t, e, n in self.run.epochs() if e >= 1]
        return (epochs[0][0], epochs[-1][0]) if epochs else None

    def queue_wait(self) -> float | None:
        """From the bar's first message (set up before queueing) to the first epoch event."""
        epochs = self.run.epochs()
        if not self.run.progress or not epochs:
            return None
        return max(0.0, epochs[0][0] - self.run.progress[0][0])

    def complete(self) -> bool:
        epochs = self.run.epochs()
        return bool(epochs) and epochs[-1][1] == epochs[-1][2]


@dataclass
class Plan:
    sessions: int = 20
    switches: int = 3
    trainers: int = 8
    epochs: int = 3
    leaver_epochs: int = 40
    seed: int = 2020
    run_timeout: float = 150.0


@dataclass
class Figures:
    sessions: int
    interactions: int
    script_runs_finished: int
    trainings_submitted: int
    trainings_run: int
    trainings_from_cache: int
    trainings_refused_busy: int
    max_trainings: int
    max_concurrent_seen: int
    queue_wait_median_s: float | None
    queue_wait_max_s: float | None
    rerun_median_s: float | None
    rerun_max_s: float | None
    abandoned_mid_training: bool
    returner_got_full_result: bool
    returner_trained_fresh: bool
    browser_checked: bool
    peak_server_rss_mb: float | None
    peak_tree_rss_mb: float | None
    seconds: float
    errors: list[str]

    def lines(self) -> list[str]:
        def number(value: float | None, unit: str = "") -> str:
            return "n/a" if value is None else f"{value:.2f}{unit}"

        return [
            f"sessions                 {self.sessions}",
            f"interactions             {self.interactions} script runs requested, "
            f"{self.script_runs_finished} finished",
            f"trainings                {self.trainings_submitted} submitted: {self.trainings_run} "
            f"trained, {self.trainings_from_cache} from the cache, "
            f"{self.trainings_refused_busy} refused as busy",
            f"concurrent trainings     at most {self.max_concurrent_seen} seen "
            f"(limit {MAX_TRAININGS_ENV}={self.max_trainings})",
            f"queue wait               median {number(self.queue_wait_median_s, ' s')}, "
            f"max {number(self.queue_wait_max_s, ' s')}",
            f"page rerun (no training) median {number(self.rerun_median_s, ' s')}, "
            f"max {number(self.rerun_max_s, ' s')}",
            f"tab closed mid-training  {'yes' if self.abandoned_mid_training else 'no'}; "
            f"next reader got a full result: {'yes' if self.returner_got_full_result else 'no'} "
            f"({'trained afresh' if self.returner_trained_fresh else 'from the cache'})",
            f"browser page checked     {'yes' if self.browser_checked else 'no'}",
            f"peak server memory       {number(self.peak_server_rss_mb, ' MB')} (server process), "
            f"{number(self.peak_tree_rss_mb, ' MB')} (process tree, sampled)",
            f"errors                   {len(self.errors)}",
            *[f"  {error}" for error in self.errors[:20]],
            f"wall time                {self.seconds:.1f} s",
        ]


def max_overlap(intervals: Sequence[tuple[float, float]]) -> int:
    """The largest number of intervals that share one moment."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    # At a tie an end sorts first (-1 < 1): touching intervals do not overlap.
    best = current = 0
    for _, step in events:
        current += step
        best = max(best, current)
    return best


def custom_setting(index: int, epochs: int) -> dict[str, str]:
    """Settings nobody stored; pairs of trainers share one so the cache is exercised too."""
    return {
        "l2": f"{0.0013 * (1 + index // 2):.4g}",
        "dropout": "0.15" if index % 4 == 3 else "0",
        "epochs": str(epochs),
        "seed": "0",
    }


async def _reader(
    url: str, index: int, plan: Plan, trainings: list[Training], runs: list[Run], errors: list[str]
) -> None:
    rng = random.Random(plan.seed + index)
    reader = Reader(url, f"reader {index + 1}")
    await asyncio.sleep(rng.uniform(0.0, 2.0))
    try:
        await reader.open()
        runs.append(await reader.rerun(timeout=plan.run_timeout))
        sliders = reader.sweep_sliders()
        if not sliders:
            errors.append(f"{reader.name}: no sweep slider found on the page")
        for _ in range(plan.switches if sliders else 0):
            reader.choose(rng.choice(sliders), rng)
            runs.append(await reader.rerun(timeout=plan.run_timeout))
        if index < plan.trainers:
            setting = custom_setting(index, plan.epochs)
            trigger = reader.fill_form(setting)
            submitted = time.monotonic()
            run = await reader.rerun([trigger], timeout=plan.run_timeout)
            trainings.append(Training(reader.name, setting, submitted, run))
            runs.append(run)
    except (OSError, LookupError, TimeoutError) as error:
        errors.append(f"{reader.name}: {type(error).__name__}: {error}")
    except Exception as error:  # a closed socket and friends: recorded, not fatal
        errors.append(f"{reader.name}: {type(error).__name__}: {error}")
    finally:
        with contextlib.suppress(Exception):
            await reader.close()


async def _leaver_and_returner(
    url: str, plan: Plan, trainings: list[Training], runs: list[Run], errors: list[str]
) -> tuple[bool, bool, bool]:
    """One reader leaves mid-training; a later reader asks for the same setting."""
    setting = {"l2": "0.0077", "dropout": "0", "epochs": str(plan.leaver_epochs), "seed": "1"}
    left = full = fresh = False
    leaver = Reader(url, "leaver")
    try:
        await leaver.open()
        runs.append(await leaver.rerun(timeout=plan.run_timeout))
        trigger = leaver.fill_form(setting)

        def mid_training(run: Run) -> bool:
            return any(1 <= epoch < total for _, epoch, total in run.epochs())

        submitted = time.monotonic()
        run = await leaver.rerun([trigger], timeout=plan.run_timeout, leave_when=mid_training)
        left = run.finished is None and mid_training(run)
        trainings.append(Training("leaver", setting, submitted, run, abandoned=True))
        if not left:
            errors.append("leaver: never saw its training start, so it could not leave mid-way")
    except Exception as error:
        errors.append(f"leaver: {type(error).__name__}: {error}")
    returner = Reader(url, "returner")
    try:
        await returner.open()
        runs.append(await returner.rerun(timeout=plan.run_timeout))
        trigger = returner.fill_form(setting)
        submitted = time.monotonic()
        run = await returner.rerun([trigger], timeout=plan.run_timeout)
        runs.append(run)
        training = Training("returner", setting, submitted, run)
        trainings.append(training)
        # A full result: it trained every epoch itself, or it was served from the cache
        # (which only ever holds finished runs) and the page drew the result's charts.
        fresh = training.trained
        full = run.status == 0 and not run.errors and (training.complete() or not fresh)
        if not full:
            errors.append(f"returner: no full result for the abandoned setting: {run}")
    except Exception as error:
        errors.append(f"returner: {type(error).__name__}: {error}")
    finally:
        with contextlib.suppress(Exception):
            await returner.close()
    return left, full, fresh


def _browser_check(url: str, errors: list[str], timeout: float) -> bool:
    """One real Chromium reader during the rush: no exception box, no console error."""
    if appserver.browser_unavailable():
        return False
    with appserver.chromium() as browser:
        page, collector = appserver.new_reader(browser)
        page.goto(url, wait_until="commit", timeout=timeout * 1000)
        appserver.wait_until_drawn(page, timeout=timeout)
        boxes = page.locator('[data-testid="stException"]').count()
        if boxes:
            errors.append(f"browser: {boxes} exception box(es)")
        errors.extend(f"browser: {error}" for error in collector.errors)
        page.context.close()
    return True


async def _drive(url: str, plan: Plan, errors: list[str]) -> tuple[list, list, tuple]:
    trainings: list[Training] = []
    runs: list[Run] = []
    readers = [
        _reader(url, index, plan, trainings, runs, errors) for index in range(plan.sessions - 2)
    ]
    pair = _leaver_and_returner(url, plan, trainings, runs, errors)
    *_, outcome = await asyncio.gather(*readers, pair)
    # The server keeps serving after all that: one more reader, a clean page.
    last = Reader(url, "last reader")
    try:
        await last.open()
        runs.append(await last.rerun(timeout=plan.run_timeout))
    finally:
        with contextlib.suppress(Exception):
            await last.close()
    return trainings, runs, outcome


def run_load(
    plan: Plan | None = None,
    max_trainings: int | None = None,
    browser: bool = True,
    server_timeout: float = 180.0,
) -> Figures:
    """Start the app, drive the readers, stop the app; return what was measured."""
    plan = plan or Plan()
    limit = max_trainings or int(os.environ.get(MAX_TRAININGS_ENV, "1"))
    errors: list[str] = []
    started = time.monotonic()
    env = {MAX_TRAININGS_ENV: str(limit)}
    with appserver.serve(timeout=server_timeout, env=env) as server:
        checked = {"browser": False}

        def check() -> None:
            try:
                checked["browser"] = _browser_check(server.url, errors, plan.run_timeout)
            except Exception as error:
                errors.append(f"browser: {type(error).__name__}: {error}")

        watcher = threading.Thread(target=check, daemon=True) if browser else None
        if watcher is not None:
            watcher.start()
        trainings, runs, (left, full, fresh) = asyncio.run(_drive(server.url, plan, errors))
        if watcher is not None:
            watcher.join(plan.run_timeout + 60)
        memory = server.peak_memory()
        alive = server.pid and os.path.exists(f"/proc/{server.pid}")
        if not alive:
            errors.append("the server process died")
    for run in runs:
        errors.extend(run.errors)
        if run.finished is None and run not in [t.run for t in trainings if t.abandoned]:
            errors.append("a script run never finished")
    intervals = [t.interval() for t in trainings if not t.abandoned and t.interval()]
    abandoned = [t.interval() for t in trainings if t.abandoned and t.interval()]
    # The abandoned training's slot was held from its first epoch at least until we left.
    intervals += [(start, max(end, start)) for start, end in abandoned]
    waits = [w for t in trainings if (w := t.queue_wait()) is not None]
    plain = [r.seconds for r in runs if r.seconds is not None and not r.progress]

    def mb(value: int | None) -> float | None:
        return None if value is None else value / 1e6

    return Figures(
        sessions=plan.sessions,
        interactions=len(runs),
        script_runs_finished=sum(r.finished is not None for r in runs),
        trainings_submitted=len(trainings),
        trainings_run=sum(t.trained for t in trainings),
        trainings_from_cache=sum(
            not t.trained and not t.busy and t.run.status == 0 for t in trainings
        ),
        trainings_refused_busy=sum(t.busy for t in trainings),
        max_trainings=limit,
        max_concurrent_seen=max_overlap(intervals),
        queue_wait_median_s=statistics.median(waits) if waits else None,
        queue_wait_max_s=max(waits) if waits else None,
        rerun_median_s=statistics.median(plain) if plain else None,
        rerun_max_s=max(plain) if plain else None,
        abandoned_mid_training=left,
        returner_got_full_result=full,
        returner_trained_fresh=fresh,
        browser_checked=checked["browser"],
        peak_server_rss_mb=mb(memory.get("server_hwm")),
        peak_tree_rss_mb=mb(memory.get("tree_sampled_peak")),
        seconds=time.monotonic() - started,
        errors=errors,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m regviz.loadtest", description=__doc__)
    parser.add_argument("--sessions", type=int, default=Plan.sessions)
    parser.add_argument("--trainers", type=int, default=Plan.trainers)
    parser.add_argument("--switches", type=int, default=Plan.switches)
    parser.add_argument("--epochs", type=int, default=Plan.epochs)
    parser.add_argument(
        "--max-trainings", type=int, default=None, help=f"default: ${MAX_TRAININGS_ENV} or 1"
    )
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium reader")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.sessions < 3 or args.trainers > args.sessions - 2:
        parser.error("need at least 3 sessions, and at most sessions - 2 trainers")
    plan = Plan(
        sessions=args.sessions, switches=args.switches, trainers=args.trainers, epochs=args.epochs
    )
    figures = run_load(plan, args.max_trainings, browser=not args.no_browser)
    print("\n".join(figures.lines()))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(asdict(figures), out, indent=1)
    return 1 if figures.errors else 0


if __name__ == "__main__":
    sys.exit(main())
