"""`python -m benchmarks.load`: many readers at once against a real `streamlit run`.

Each reader is a websocket client that speaks Streamlit's own protocol (the
protobuf messages its front end sends and receives), so twenty of them cost the
2-core machine almost nothing beyond the server's work, unlike twenty headless
browsers. Three kinds of reader share one server:

* **slider readers** open the page and keep moving the sweep sliders to other
  canonical values, with a short pause between moves, for as long as trainings
  run; their reruns are the figure that matters: how long a reader who only
  reads waits while other readers train;
* **trainers** submit the custom-run form (pairs share a setting, so the result
  cache is used too) and follow their training to its end (`drive_training`);
* a **leaver** closes its connection in the middle of a training, the way a
  closed tab does, and a **returner** then asks for the same setting.

Optionally one real Chromium page loads the page during the rush, to catch what
only a browser sees (exception boxes, console errors).

Reported: rerun latency of slider readers while a training runs (median, p95,
max; and while none runs, for comparison), queue wait (from a training's first
progress message to its first epoch), errors, how many trainings ran at once, and
peak resident memory: the server process, and separately every process it started
(a training worker), each and summed. Widgets are found by kind and a tolerant
label match, so the page can reword its labels. Streamlit's protobuf classes are
imported lazily: this is a tool that talks to the page's server, never part of it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks import report as shared
from regviz.live.settings import MAX_TRAININGS_ENV
from regviz.live.settings import max_trainings as configured_max_trainings
from tests.support import appserver

DEFAULT_JSON = shared.DOCS / "loadtest.json"
#: Goals from the issue "Serving many readers" (seconds, megabytes; all "at most").
GOALS = {
    "rerun_median_s": 0.3,
    "rerun_max_s": 1.0,
    "server_mb": 350.0,
    "server_and_workers_mb": 690.0,
}
#: A sweep slider: its options read like "λ = 0.01", "p = 0.3", "decay = 1".
SWEEP_OPTION = re.compile(r"=\s*[-+0-9.e]+$")
EPOCH_TEXT = re.compile(r"epoch\s+([\d,]+)\s+(?:of|/)\s+([\d,]+)", re.IGNORECASE)
FORM_FIELDS, TRAIN_BUTTON = shared.FORM_FIELDS, shared.TRAIN_BUTTON
#: A pill or segmented-control option that opens the custom run ("Train your own").
OPEN_CUSTOM = re.compile(r"^\s*train\b", re.IGNORECASE)  # not "Over training"
BUSY_TEXT = re.compile(r"busy", re.IGNORECASE)
#: A text that says a custom run is done: trained here, or served from the cache.
FINISHED_TEXT = re.compile(r"trained on|trained this setting already", re.IGNORECASE)
#: The line a finished training shows ("Trained on cpu in 1.2 s."), not the cached one.
TRAINED_HERE_TEXT = re.compile(r"trained on .+? in [\d.]+ s\b", re.IGNORECASE)
ERROR_FORMAT, WARNING_FORMAT = 1, 2
#: ScriptFinishedStatus values that end a run we asked for (a full run, a fragment run).
FINISHED_OK = (0, 3)
FINISHED_EARLY_FOR_RERUN = 2
WIDGET_KINDS = ("slider", "text_input", "number_input", "button", "button_group")


# --------------------------------------------------------------------------- protocol


def _proto() -> Any:
    """Streamlit's message classes (imported on first use; see the module docstring)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    return BackMsg, ForwardMsg, WidgetState


@dataclass
class Run:
    """What one script run (the whole page, or one fragment) sent back to one reader."""

    started: float
    fragment_id: str = ""
    finished: float | None = None
    last_message: float | None = None
    status: int | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    progress: list[tuple[float, str]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
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
                epoch, total = (int(group.replace(",", "")) for group in match.groups())
                found.append((moment, epoch, total))
        return found


class Reader:
    """One browser tab's worth of websocket traffic.

    Like Streamlit's front end, it sends a widget's change as a rerun of the fragment
    the widget lives in (if any), and keeps the auto-rerun timers the server asks for
    (`st.fragment(run_every=...)`): `auto_reruns` maps fragment id to interval, is
    cleared when a full-page run starts, and loses an entry on `stop_auto_rerun`.
    """

    def __init__(self, url: str, name: str):
        self.url = url.replace("http://", "ws://", 1) + "/_stcore/stream"
        self.name = name
        self.socket: Any = None
        self.widgets: dict[str, tuple[str, Any, str]] = {}  # id -> (kind, proto, fragment id)
        self.values: dict[str, Any] = {}  # id -> WidgetState we keep sending
        self.auto_reruns: dict[str, float] = {}
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
        self,
        extra: Iterable[Any] = (),
        fragment_id: str = "",
        auto: bool = False,
        timeout: float = 120.0,
        leave_when: Callable[[Run], bool] | None = None,
    ) -> Run:
        """Ask for a run (of `fragment_id`, or the page) with our widget values; collect
        until it finishes.

        `leave_when(run)` is checked after every message; when it returns True the
        reader abandons the connection there and then (the run stays unfinished).
        """
        back, forward, _ = _proto()
        message = back()
        message.rerun_script.query_string = ""
        message.rerun_script.widget_states.widgets.extend([*self.values.values(), *extra])
        if fragment_id:
            message.rerun_script.fragment_id = fragment_id
            message.rerun_script.is_auto_rerun = auto
        run = Run(started=time.monotonic(), fragment_id=fragment_id)
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
            run.last_message = time.monotonic()
            kind = reply.WhichOneof("type")
            if kind == "new_session" and not reply.metadata.run.fragment_ids:
                self.auto_reruns.clear()  # a full-page run: the front end drops its timers
            elif kind == "auto_rerun":
                self.auto_reruns[reply.auto_rerun.fragment_id] = reply.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                for stopped in reply.stop_auto_rerun.fragment_ids:
                    self.auto_reruns.pop(stopped, None)
            elif kind == "delta" and reply.delta.WhichOneof("type") == "new_element":
                self._element(run, reply.delta.new_element, reply.delta.fragment_id)
            elif kind == "session_event" and reply.session_event.HasField(
                "script_compilation_exception"
            ):
                run.errors.append(f"{self.name}: the page failed to compile")
            elif kind == "script_finished":
                if reply.script_finished == FINISHED_EARLY_FOR_RERUN:
                    # The page asked for a fresh run itself (st.rerun): the server starts
                    # it at once, and it belongs to this request.
                    run.server_reruns += 1
                    continue
                run.finished, run.status = time.monotonic(), reply.script_finished
                if reply.script_finished not in FINISHED_OK:
                    run.errors.append(f"{self.name}: run ended with status {run.status}")
                return run
            if leave_when is not None and leave_when(run):
                self.abandon()
                return run

    def _element(self, run: Run, element: Any, fragment_id: str) -> None:
        kind = element.WhichOneof("type")
        run.elements += 1
        if kind == "exception":
            text = f"{element.exception.type}: {element.exception.message}"
            run.errors.append(f"{self.name}: exception box: {text[:300]}")
        elif kind == "alert":
            run.texts.append(element.alert.body)
            if element.alert.format == ERROR_FORMAT:
                run.errors.append(f"{self.name}: error alert: {element.alert.body[:300]}")
            elif element.alert.format == WARNING_FORMAT:
                run.warnings.append(element.alert.body)
        elif kind == "progress":
            run.progress.append((time.monotonic(), element.progress.text))
        elif kind in ("markdown", "text", "toast"):
            run.texts.append(getattr(element, kind).body)
        elif kind == "vega_lite_chart":
            run.charts += 1
        if kind in WIDGET_KINDS:
            proto = getattr(element, kind)
            self.widgets[proto.id] = (kind, proto, fragment_id)

    # --- widgets ----------------------------------------------------------------
    def fragment_of(self, widget_id: str) -> str:
        return self.widgets[widget_id][2]

    def sweep_sliders(self) -> list[Any]:
        return [
            proto
            for kind, proto, _ in self.widgets.values()
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

    def train_button(self) -> tuple[Any, str] | None:
        """(proto, fragment id) of the button labelled like 'Train', if the page shows one."""
        return next(
            (
                (proto, fragment)
                for kind, proto, fragment in self.widgets.values()
                if kind == "button" and TRAIN_BUTTON.search(proto.label)
            ),
            None,
        )

    def custom_opener(self) -> tuple[Any, str, str] | None:
        """(proto, fragment id, option) of a pill or segmented option that opens training."""
        for kind, proto, fragment in self.widgets.values():
            if kind == "button_group":
                for option in proto.options:
                    if OPEN_CUSTOM.search(option.content):
                        return proto, fragment, option.content
        return None

    def choose_option(self, group: Any, option: str) -> None:
        """Pick `option` in a pill or segmented control (kept for later runs)."""
        _, _, widget_state = _proto()
        state = widget_state(id=group.id)
        state.string_array_value.data.append(option)
        self.values[group.id] = state

    def fill_form(self, values: dict[str, str]) -> tuple[Any, str]:
        """Type `values` into the custom-run inputs; return (the Train trigger, its fragment).

        The inputs are those of the Train button's form, or of its fragment when it has
        no form; text inputs take the text, number inputs the number.
        """
        _, _, widget_state = _proto()
        button = self.train_button()
        if button is None:
            raise LookupError(f"{self.name}: no button labelled like 'Train'")
        proto, fragment = button
        inputs = [
            (kind, p)
            for kind, p, where in self.widgets.values()
            if kind in ("text_input", "number_input")
            and (p.form_id == proto.form_id if proto.form_id else where == fragment)
        ]
        for name, text in values.items():
            matches = [(k, p) for k, p in inputs if FORM_FIELDS[name].search(p.label)]
            if name == "dropout":  # "λ (L2)" must not pass for the p field
                matches = [(k, p) for k, p in matches if not FORM_FIELDS["l2"].search(p.label)]
            if not matches:
                raise LookupError(f"{self.name}: no input for {name} in the custom-run form")
            kind, target = matches[0]
            state = widget_state(id=target.id)
            if kind == "text_input":
                state.string_value = text
            elif target.data_type == 0:  # NumberInput.INT
                state.int_value = int(text)
            else:
                state.double_value = float(text)
            self.values[target.id] = state
        trigger = widget_state(id=proto.id, trigger_value=True)
        # A form's submit button reruns the form's fragment, like any widget in it.
        return trigger, fragment


# --------------------------------------------------------------------------- trainings


@dataclass
class Training:
    """One custom run a reader asked for: every script run it took, from the press on."""

    reader: str
    config: dict[str, str]
    submitted: float
    runs: list[Run] = field(default_factory=list)
    abandoned: bool = False
    ended: float | None = None
    #: Runs before the press that opened the custom-run part of the page.
    setup: list[Run] = field(default_factory=list)

    def _all(self, name: str) -> list:
        return [item for run in self.runs for item in getattr(run, name)]

    @property
    def progress(self) -> list[tuple[float, str]]:
        return self._all("progress")

    def epochs(self) -> list[tuple[float, int, int]]:
        return [epoch for run in self.runs for epoch in run.epochs()]

    @property
    def errors(self) -> list[str]:
        return self._all("errors")

    @property
    def trained(self) -> bool:
        """It trained (alone or shared): an epoch was shown, or the page said how long it
        took. A page that polls may show a short run only once it has finished."""
        texts = [text.replace("*", "") for text in self._all("texts")]
        return bool(self.epochs()) or any(TRAINED_HERE_TEXT.search(text) for text in texts)

    @property
    def busy(self) -> bool:
        return any(BUSY_TEXT.search(w) for w in self._all("warnings"))

    @property
    def finished_text(self) -> bool:
        return any(FINISHED_TEXT.search(text) for text in self._all("texts"))

    def done(self) -> bool:
        """The page says it is over: a result, a refusal or an error."""
        return self.finished_text or self.busy or bool(self.errors)

    def span(self) -> tuple[float, float]:
        """From its first progress message (or the press) until its end (or the last
        message it got): while it waits or trains, some training is running."""
        progress = self.progress
        start = progress[0][0] if progress else self.submitted
        seen = [run.last_message for run in self.runs if run.last_message is not None]
        end = self.ended or max(seen, default=start)
        return start, max(start, end)

    def interval(self) -> tuple[float, float] | None:
        """From its first epoch to its last one seen: strictly inside its training slot.

        A page that polls may show a short run's progress once; that moment still counts.
        """
        epochs = [(t, e, n) for t, e, n in self.epochs() if e >= 1]
        if not epochs:
            return None
        return epochs[0][0], max(epochs[-1][0], epochs[0][0] + 1e-6)

    def queue_wait(self) -> float | None:
        """From the first progress message (set up before queueing) to the first epoch."""
        progress, epochs = self.progress, self.epochs()
        if not progress or not epochs:
            return None
        return max(0.0, epochs[0][0] - progress[0][0])

    def complete(self) -> bool:
        epochs = self.epochs()
        return bool(epochs) and epochs[-1][1] == epochs[-1][2]

    def full_result(self) -> bool:
        """Ended cleanly with a result: the page said so ("Trained on ..."), or showed the
        last epoch (a page that polls may skip it: it shows the result instead)."""
        if self.ended is None or self.errors or self.busy:
            return False
        return self.finished_text or self.complete()

    def summary(self) -> str:
        """One line for an error message."""
        epochs = self.epochs()
        texts = [text[:80] for text in self._all("texts") if FINISHED_TEXT.search(text)]
        return (
            f"{self.reader} {self.config}: {len(self.runs)} run(s), "
            f"{'ended' if self.ended else 'not ended'}, "
            f"last epoch {epochs[-1][1:] if epochs else None}, busy {self.busy}, "
            f"finished texts {texts}, errors {self.errors[:3]}"
        )


async def drive_training(
    reader: Reader,
    setting: dict[str, str],
    timeout: float,
    leave_when: Callable[[Run], bool] | None = None,
) -> Training:
    """Press Train with `setting` and follow the run to its end, as a browser would.

    The one place that knows how the page runs a training; replace it when that
    changes. It opens the custom-run part first if a pill or segmented option hides it,
    then submits the form as a rerun of the form's fragment; then, for as long
    as the page keeps auto-rerun timers (`st.fragment(run_every=...)`) and has not
    said that the run is over (`Training.done`), it sends those fragment reruns
    itself at their interval, as the front end does. A page that trains inside the
    submitting run (and restarts itself with `st.rerun` when done) needs no polling:
    its first run ends with the result. `leave_when` is checked after every message;
    when it returns True the reader drops its connection and the training is abandoned.
    """
    setup = []
    opener = reader.custom_opener() if reader.train_button() is None else None
    if opener is not None:  # the form appears once the reader picks "Train your own"
        group, group_fragment, option = opener
        reader.choose_option(group, option)
        setup.append(await reader.rerun(fragment_id=group_fragment, timeout=timeout))
    trigger, fragment = reader.fill_form(setting)
    training = Training(reader.name, setting, time.monotonic(), setup=setup)
    deadline = training.submitted + timeout

    async def follow(run: Any) -> bool:
        """Record a run; True when the reader should stop following."""
        training.runs.append(run)
        if run.finished is None:  # left on purpose, or timed out
            training.abandoned = leave_when is not None and leave_when(run)
            return True
        return training.done()

    stop = await follow(
        await reader.rerun([trigger], fragment, timeout=timeout, leave_when=leave_when)
    )
    while not stop and reader.auto_reruns and time.monotonic() < deadline:
        await asyncio.sleep(min(reader.auto_reruns.values()))
        for fragment_id in list(reader.auto_reruns):
            remaining = max(1.0, deadline - time.monotonic())
            run = await reader.rerun(
                fragment_id=fragment_id, auto=True, timeout=remaining, leave_when=leave_when
            )
            if stop := await follow(run):
                break
    if not training.abandoned and training.runs[-1].finished is not None:
        training.ended = time.monotonic()
    if training.ended is not None and not training.done() and reader.auto_reruns:
        training.runs[-1].errors.append(f"{reader.name}: training not over after {timeout:g} s")
    return training


def custom_setting(index: int, epochs: int) -> dict[str, str]:
    """Settings nobody stored; pairs of trainers share one so the cache is exercised too."""
    return {
        "l2": f"{0.0013 * (1 + index // 2):.4g}",
        "dropout": "0.15" if index % 4 == 3 else "0",
        "epochs": str(epochs),
        "seed": "0",
    }


# --------------------------------------------------------------------------- scenario


@dataclass
class Plan:
    sessions: int = 20
    trainers: int = 6
    epochs: int = 100
    #: Every slider reader makes at least this many moves, and keeps moving while trainings run.
    switches: int = 3
    max_switches: int = 40
    #: Seconds a slider reader looks at the charts before the next move (uniform in this range).
    think: tuple[float, float] = (1.5, 4.0)
    #: Long enough that a poll sees the leaver's run mid-way: the page shows no progress
    #: for a run that ends within one poll (1 s), and 100 epochs at p = 0 take about 1.6 s
    #: on a 2-core AMD host, so a leaver of that length sometimes never saw its run start.
    leaver_epochs: int = 200
    #: Seconds before the first training is submitted: slider moves on a quiet server first,
    #: for comparison.
    trainer_delay: float = 10.0
    seed: int = 2020
    run_timeout: float = 300.0

    @property
    def slider_readers(self) -> int:
        return self.sessions - self.trainers - 2


@dataclass
class Sample:
    """One slider reader's rerun: when it was asked for and how long it took."""

    reader: str
    started: float
    seconds: float


@dataclass
class Scene:
    """What the readers did, collected as they go."""

    trainings: list[Training] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    trainers_left: int = 0
    left: bool = False
    full: bool = False
    fresh: bool = False


async def _open(reader: Reader, scene: Scene, plan: Plan) -> None:
    await reader.open()
    scene.runs.append(await reader.rerun(timeout=plan.run_timeout))


async def _slider_reader(url: str, index: int, plan: Plan, scene: Scene) -> None:
    rng = random.Random(plan.seed + index)
    reader = Reader(url, f"reader {index + 1}")
    await asyncio.sleep(rng.uniform(0.0, 2.0))
    try:
        await _open(reader, scene, plan)
        sliders = reader.sweep_sliders()
        if not sliders:
            scene.errors.append(f"{reader.name}: no sweep slider found on the page")
            return
        moves = 0
        while moves < plan.switches or (scene.trainers_left and moves < plan.max_switches):
            await asyncio.sleep(rng.uniform(*plan.think))
            slider = rng.choice(sliders)
            reader.choose(slider, rng)
            run = await reader.rerun(
                fragment_id=reader.fragment_of(slider.id), timeout=plan.run_timeout
            )
            scene.runs.append(run)
            if run.seconds is not None:
                scene.samples.append(Sample(reader.name, run.started, run.seconds))
            moves += 1
    except Exception as error:  # a closed socket and friends: recorded, not fatal
        scene.errors.append(f"{reader.name}: {type(error).__name__}: {error}")
    finally:
        with contextlib.suppress(Exception):
            await reader.close()


async def _trainer(url: str, index: int, plan: Plan, scene: Scene) -> None:
    rng = random.Random(plan.seed + 1000 + index)
    reader = Reader(url, f"trainer {index + 1}")
    await asyncio.sleep(plan.trainer_delay + rng.uniform(0.0, 3.0))
    try:
        await _open(reader, scene, plan)
        training = await drive_training(
            reader, custom_setting(index, plan.epochs), plan.run_timeout
        )
        scene.trainings.append(training)
        scene.runs.extend(training.setup + training.runs)
    except Exception as error:
        scene.errors.append(f"{reader.name}: {type(error).__name__}: {error}")
    finally:
        scene.trainers_left -= 1
        with contextlib.suppress(Exception):
            await reader.close()


async def _leaver_and_returner(url: str, plan: Plan, scene: Scene) -> None:
    """One reader leaves mid-training; a later reader asks for the same setting."""
    setting = {"l2": "0.0077", "dropout": "0", "epochs": str(plan.leaver_epochs), "seed": "1"}
    leaver = Reader(url, "leaver")
    await asyncio.sleep(plan.trainer_delay)

    def mid_training(run: Run) -> bool:
        return any(1 <= epoch < total for _, epoch, total in run.epochs())

    try:
        await _open(leaver, scene, plan)
        training = await drive_training(leaver, setting, plan.run_timeout, mid_training)
        scene.trainings.append(training)
        scene.runs.extend(training.setup)
        scene.left = training.abandoned
        if not scene.left:
            scene.errors.append("leaver: never saw its training start, so it could not leave")
    except Exception as error:
        scene.errors.append(f"leaver: {type(error).__name__}: {error}")
    returner = Reader(url, "returner")
    try:
        await _open(returner, scene, plan)
        training = await drive_training(returner, setting, plan.run_timeout)
        scene.trainings.append(training)
        scene.runs.extend(training.setup + training.runs)
        scene.fresh = training.trained
        scene.full = training.full_result()
        if not scene.full:
            scene.errors.append(f"returner: no full result: {training.summary()}")
    except Exception as error:
        scene.errors.append(f"returner: {type(error).__name__}: {error}")
    finally:
        with contextlib.suppress(Exception):
            await returner.close()


async def _drive(url: str, plan: Plan) -> Scene:
    scene = Scene(trainers_left=plan.trainers + 1)  # the leaver/returner pair counts as one
    readers = [_slider_reader(url, index, plan, scene) for index in range(plan.slider_readers)]
    trainers = [_trainer(url, index, plan, scene) for index in range(plan.trainers)]

    async def pair() -> None:
        try:
            await _leaver_and_returner(url, plan, scene)
        finally:
            scene.trainers_left -= 1

    await asyncio.gather(*readers, *trainers, pair())
    # The server keeps serving after all that: one more reader, a clean page.
    last = Reader(url, "last reader")
    try:
        await _open(last, scene, plan)
    except Exception as error:
        scene.errors.append(f"last reader: {type(error).__name__}: {error}")
    finally:
        with contextlib.suppress(Exception):
            await last.close()
    return scene


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


# --------------------------------------------------------------------------- figures


def max_overlap(intervals: Sequence[tuple[float, float]]) -> int:
    """The largest number of intervals that share one moment."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    # At a tie an end sorts first (-1 < 1): touching intervals do not overlap.
    best = current = 0
    for _, step in events:
        current += step
        best = max(best, current)
    return best


def job_intervals(trainings: Sequence[Training]) -> list[tuple[float, float]]:
    """When each training job ran: readers who asked for the same setting at the same time
    follow one job, so their overlapping epoch intervals merge into one."""
    by_setting: dict[tuple, list[tuple[float, float]]] = {}
    for training in trainings:
        if (interval := training.interval()) is not None:
            by_setting.setdefault(tuple(sorted(training.config.items())), []).append(interval)
    jobs = []
    for intervals in by_setting.values():
        merged: list[list[float]] = []
        for start, end in sorted(intervals):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        jobs += [(start, end) for start, end in merged]
    return jobs


def _overlaps(start: float, end: float, intervals: Sequence[tuple[float, float]]) -> bool:
    return any(start < stop and begin < end for begin, stop in intervals)


def _stats(values: Sequence[float]) -> dict[str, float | int | None]:
    return {
        "count": len(values),
        "median": shared.median(values),
        "p95": shared.percentile(values, 95),
        "max": max(values) if values else None,
    }


@dataclass
class Figures:
    sessions: int
    slider_readers: int
    interactions: int
    script_runs_finished: int
    trainings_submitted: int
    trainings_run: int
    trainings_from_cache: int
    trainings_refused_busy: int
    trainings_unaccounted: int
    max_trainings: int
    max_concurrent_seen: int
    queue_wait_s: dict[str, Any]
    rerun_while_training_s: dict[str, Any]
    rerun_while_idle_s: dict[str, Any]
    abandoned_mid_training: bool
    returner_got_full_result: bool
    returner_trained_fresh: bool
    browser_checked: bool
    memory: dict[str, Any]
    seconds: float
    errors: list[str]

    @property
    def peak_server_rss_mb(self) -> float | None:
        return self.memory["server_mb"]

    @property
    def peak_with_children_mb(self) -> float | None:
        return self.memory["server_and_children_mb"]

    def goals(self) -> dict[str, dict[str, Any]]:
        values = {
            "rerun_median_s": self.rerun_while_training_s["median"],
            "rerun_max_s": self.rerun_while_training_s["max"],
            "server_mb": self.peak_server_rss_mb,
            "server_and_workers_mb": self.peak_with_children_mb,
        }
        return {
            name: {
                "value": value,
                "goal": GOALS[name],
                "passed": None if value is None else value <= GOALS[name],
            }
            for name, value in values.items()
        }

    def lines(self) -> list[str]:
        def number(value: float | None, unit: str = "") -> str:
            return "n/a" if value is None else f"{value:.2f}{unit}"

        def rerun(stats: dict[str, Any]) -> str:
            return (
                f"median {number(stats['median'], ' s')}, p95 {number(stats['p95'], ' s')}, "
                f"max {number(stats['max'], ' s')} ({stats['count']} reruns)"
            )

        goals = self.goals()

        def goal(name: str, unit: str) -> str:
            return (
                f"goal ≤ {GOALS[name]:g}{unit} {shared.verdict(goals[name]['value'], GOALS[name])}"
            )

        memory = self.memory
        children = memory["children"]
        rows = [
            f"{'sessions':<26}{self.sessions} ({self.slider_readers} only move sliders)",
            f"{'script runs':<26}{self.interactions} requested, "
            f"{self.script_runs_finished} finished",
            f"{'rerun while training':<26}{rerun(self.rerun_while_training_s)}",
            f"{'':<26}{goal('rerun_median_s', ' s')} (median), {goal('rerun_max_s', ' s')} (max)",
            f"{'rerun, no training':<26}{rerun(self.rerun_while_idle_s)}",
            f"{'trainings':<26}{self.trainings_submitted} submitted: {self.trainings_run} "
            f"trained, {self.trainings_from_cache} from the cache, "
            f"{self.trainings_refused_busy} refused as busy, "
            f"{self.trainings_unaccounted} unaccounted for",
            f"{'at once':<26}at most {self.max_concurrent_seen} seen "
            f"(limit {MAX_TRAININGS_ENV}={self.max_trainings})",
            f"{'queue wait':<26}median {number(self.queue_wait_s['median'], ' s')}, "
            f"max {number(self.queue_wait_s['max'], ' s')}",
            f"{'tab closed mid-training':<26}{'yes' if self.abandoned_mid_training else 'no'}; "
            f"next reader got a full result: {'yes' if self.returner_got_full_result else 'no'} "
            f"({'trained afresh' if self.returner_trained_fresh else 'from the cache'})",
            f"{'browser page checked':<26}{'yes' if self.browser_checked else 'no'}",
            f"{'peak memory, server':<26}{number(memory['server_mb'], ' MB')} (VmHWM)  "
            f"{goal('server_mb', ' MB')}",
            f"{'  its child processes':<26}"
            + (
                f"{len(children)}: "
                + ", ".join(f"{c['peak_mb']:.0f} MB ({c['command'][:70]})" for c in children)
                + f"; together at most {number(memory['children_mb'], ' MB')}"
                if children
                else "none"
            ),
            f"{'  server + children':<26}{number(memory['server_and_children_mb'], ' MB')} "
            "(server's peak + children's largest sum)  "
            f"{goal('server_and_workers_mb', ' MB')}; sampled together: "
            f"{number(memory['server_and_children_sampled_mb'], ' MB')}",
            f"{'errors':<26}{len(self.errors)}",
            *[f"  {error}" for error in self.errors[:20]],
            f"{'wall time':<26}{self.seconds:.1f} s",
        ]
        return rows


def _memory(peak: dict[str, Any]) -> dict[str, Any]:
    def mb(value: int | None) -> float | None:
        return None if value is None else value / 1e6

    server, children = peak.get("server_hwm"), peak.get("children_sampled_peak") or 0
    sampled = peak.get("tree_sampled_peak")
    # The server's exact peak plus the children's largest sampled sum: never below what
    # was seen at once, and not fooled by a 0.1 s sampler missing the server's spike.
    bound = None if server is None else max(server + children, sampled or 0)
    return {
        "server_mb": mb(server),
        "children": [
            {"pid": c["pid"], "command": c["command"], "peak_mb": mb(c["peak_bytes"])}
            for c in peak.get("children", [])
        ],
        "children_mb": mb(children),
        "server_and_children_sampled_mb": mb(sampled),
        "server_and_children_mb": mb(bound),
    }


def run_load(
    plan: Plan | None = None,
    max_trainings: int | None = None,
    browser: bool = True,
    server_timeout: float = 180.0,
) -> Figures:
    """Start the app, drive the readers, stop the app; return what was measured."""
    plan = plan or Plan()
    if plan.slider_readers < 1:
        raise ValueError("the plan leaves no slider reader: sessions must exceed trainers + 2")
    limit = max_trainings or configured_max_trainings()
    started = time.monotonic()
    errors: list[str] = []
    with appserver.serve(timeout=server_timeout, env={MAX_TRAININGS_ENV: str(limit)}) as server:
        checked = {"browser": False}

        def check() -> None:
            try:
                checked["browser"] = _browser_check(server.url, errors, plan.run_timeout)
            except Exception as error:
                errors.append(f"browser: {type(error).__name__}: {error}")

        watcher = threading.Thread(target=check, daemon=True) if browser else None
        if watcher is not None:
            watcher.start()
        scene = asyncio.run(_drive(server.url, plan))
        if watcher is not None:
            watcher.join(plan.run_timeout + 60)
        memory = server.peak_memory()
        if not os.path.exists(f"/proc/{server.pid}"):
            errors.append("the server process died")
    errors = scene.errors + errors
    abandoned_runs = [run for t in scene.trainings if t.abandoned for run in t.runs]
    for run in scene.runs:
        errors.extend(run.errors)
        if run.finished is None and run not in abandoned_runs:
            errors.append("a script run never finished")
    # An abandoned training held its slot from its first epoch at least until we left.
    intervals = job_intervals(scene.trainings)
    waits = [w for t in scene.trainings if (w := t.queue_wait()) is not None]
    busy = [t.span() for t in scene.trainings]
    during = [s.seconds for s in scene.samples if _overlaps(s.started, s.started + s.seconds, busy)]
    idle = [
        s.seconds for s in scene.samples if not _overlaps(s.started, s.started + s.seconds, busy)
    ]
    accounted = [
        t for t in scene.trainings if t.abandoned or t.trained or t.busy or t.full_result()
    ]
    submitted = plan.trainers + 2
    return Figures(
        sessions=plan.sessions,
        slider_readers=plan.slider_readers,
        interactions=len(scene.runs),
        script_runs_finished=sum(r.finished is not None for r in scene.runs),
        trainings_submitted=submitted,
        trainings_run=sum(t.trained for t in scene.trainings),
        trainings_from_cache=sum(
            not t.trained and not t.busy and t.full_result() for t in scene.trainings
        ),
        trainings_refused_busy=sum(t.busy for t in scene.trainings),
        trainings_unaccounted=submitted - len(accounted),
        max_trainings=limit,
        max_concurrent_seen=max_overlap(intervals),
        queue_wait_s={"median": shared.median(waits), "max": max(waits) if waits else None},
        rerun_while_training_s=_stats(during),
        rerun_while_idle_s=_stats(idle),
        abandoned_mid_training=scene.left,
        returner_got_full_result=scene.full,
        returner_trained_fresh=scene.fresh,
        browser_checked=checked["browser"],
        memory=_memory(memory),
        seconds=time.monotonic() - started,
        errors=errors,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load",
        description="Many readers against one server: slider reruns while others train.",
    )
    parser.add_argument("--sessions", type=int, default=Plan.sessions)
    parser.add_argument("--trainers", type=int, default=Plan.trainers)
    parser.add_argument("--epochs", type=int, default=Plan.epochs, help="epochs per training")
    parser.add_argument(
        "--max-trainings", type=int, default=None, help=f"default: ${MAX_TRAININGS_ENV} or 1"
    )
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium reader")
    shared.add_json_argument(parser, str(DEFAULT_JSON))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.trainers < 1 or args.sessions < args.trainers + 3:
        parser.error("need at least one trainer, and sessions ≥ trainers + 3")
    plan = Plan(sessions=args.sessions, trainers=args.trainers, epochs=args.epochs)
    facts = shared.machine_facts()
    interference = shared.Interference()
    figures = run_load(plan, args.max_trainings, browser=not args.no_browser)
    interference.close(facts)
    report = {
        "command": shared.command("benchmarks.load", argv),
        "created": shared.created(),
        "plan": asdict(plan),
        "machine": facts,
        **asdict(figures),
        "goals": figures.goals(),
    }
    text = "\n".join(
        [
            f"load benchmark: {plan.sessions} websocket readers against one server, "
            f"{plan.trainers} trainers + 1 leaver + 1 returner, {plan.epochs} epochs per training",
            *shared.machine_lines(facts),
            "",
            *figures.lines(),
        ]
    )
    shared.publish(report, text, args.json or DEFAULT_JSON)
    return 1 if figures.errors else 0


if __name__ == "__main__":
    sys.exit(main())
