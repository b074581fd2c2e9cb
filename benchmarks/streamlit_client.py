"""A websocket client that speaks Streamlit's own protocol: one browser tab without the browser.

It sends what Streamlit's front end sends (a widget change as a rerun of its fragment,
the auto-reruns of `st.fragment(run_every=...)`) and reads what the server answers,
so a benchmark can drive the page at almost no CPU cost of its own: twenty readers in
`benchmarks.load`, and in `benchmarks.page` the custom run with no browser sharing the
machine's cores. `drive_training` is the one function that knows how the page runs a
training. Streamlit's protobuf classes are imported lazily: this is a tool that talks
to the page's server, never part of it.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from benchmarks import report as shared

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
