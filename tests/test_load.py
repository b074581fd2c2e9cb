"""Many readers at once: the real app under twenty concurrent sessions (see `benchmarks.load`).

One server, websocket readers moving the sweep sliders, eight of them submitting
custom trainings, one leaving in the middle of its training and a later one asking
for the same setting, plus one headless Chromium page when a browser is available.
A correctness test: it asserts no timing (`python -m benchmarks.load` reports those).
The client's protocol handling is checked without a server first.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from benchmarks import load as loadtest
from benchmarks import streamlit_client as client
from tests.support import appserver

MAX_TRAININGS = 2
#: Generous bounds that still catch memory growing without bound. The server alone
#: peaked at about 0.75 GB here while it trained in-process and at about 0.27 GB once
#: trainings moved to worker processes; a worker (torch plus one run) at about 0.6 GB.
#: Allowed: 1.2 GB for the server, 1 GB for each process it starts, and together the
#: server plus one such process per training allowed at once.
MEMORY_LIMIT_MB = 1200
CHILD_MEMORY_LIMIT_MB = 1000
TREE_MEMORY_LIMIT_MB = MEMORY_LIMIT_MB + MAX_TRAININGS * CHILD_MEMORY_LIMIT_MB
#: Short trainings and few moves: the test checks what happens, not how fast.
PLAN = loadtest.Plan(
    sessions=20,
    trainers=8,
    epochs=3,
    switches=2,
    max_switches=6,
    think=(0.2, 1.0),
    trainer_delay=0.0,
)


def test_max_overlap_counts_trainings_that_share_a_moment() -> None:
    assert loadtest.max_overlap([]) == 0
    assert loadtest.max_overlap([(0, 1), (1, 2), (2, 3)]) == 1  # back to back is not at once
    assert loadtest.max_overlap([(0, 3), (1, 2), (1.5, 4)]) == 3
    assert loadtest.max_overlap([(0, 1), (0.5, 2), (3, 4)]) == 2


def _training(config: dict, *epoch_times: float) -> client.Training:
    training = client.Training("r", config, submitted=0.0)
    run = client.Run(started=0.0)
    run.progress = [(t, f"epoch {i + 1:,} of 1,000") for i, t in enumerate(epoch_times)]
    training.runs.append(run)
    return training


def test_readers_following_one_job_count_as_one_training_at_a_time() -> None:
    a, b = {"l2": "0.001"}, {"l2": "0.002"}
    jobs = loadtest.job_intervals(
        [_training(a, 1, 5), _training(a, 2, 6), _training(b, 5.5, 9), _training(a, 10, 11)]
    )
    assert sorted(jobs) == [(1, 6), (5.5, 9), (10, 11)]
    assert loadtest.max_overlap(jobs) == 2
    assert _training(a, 1, 2).epochs()[-1][1:] == (2, 1000)  # "1,000" read as one number


# --------------------------------------------------------------------------- the client


class FakeSocket:
    """Plays back ForwardMsgs for each BackMsg the reader sends."""

    def __init__(self, replies: list[list]) -> None:
        self.replies, self.sent, self.queue = list(replies), [], []

    async def send(self, raw: bytes) -> None:
        back, _, _ = client._proto()
        message = back()
        message.ParseFromString(raw)
        self.sent.append(message)
        self.queue += [reply.SerializeToString() for reply in self.replies.pop(0)]

    async def recv(self) -> bytes:
        return self.queue.pop(0)


def _forward(**fields):
    _, forward, _ = client._proto()
    message = forward()
    for path, value in fields.items():
        target = message
        *parents, name = path.split("__")
        for parent in parents:
            target = getattr(target, parent)
        if isinstance(value, list):
            getattr(target, name).extend(value)
        else:
            setattr(target, name, value)
    return message


def _new_session(fragment_ids=()):
    message = _forward(new_session__name="app")
    message.metadata.run.script_run_id = "run"
    message.metadata.run.fragment_ids.extend(fragment_ids)
    return message


def _element(kind: str, fragment_id: str = "", **fields):
    message = _forward(delta__fragment_id=fragment_id)
    element = message.delta.new_element
    target = getattr(element, kind)
    for name, value in fields.items():
        setattr(target, name, value)
    return message


def _finished(status: int = 0):
    return _forward(script_finished=status)


def _form_page() -> list:
    """A full run drawing the custom-run form inside fragment F."""
    return [
        _new_session(),
        _element("text_input", "F", id="l2", label="λ (L2)", form_id="form"),
        _element("text_input", "F", id="p", label="dropout p", form_id="form"),
        _element("number_input", "F", id="ep", label="epochs", form_id="form", data_type=0),
        _element("button", "F", id="go", label="Train", form_id="form", is_form_submitter=True),
        _finished(0),
    ]


def _epoch(number: int, of: int = 3):
    return _element("progress", "F", text=f"epoch {number} of {of}")


def _reader(replies: list[list]) -> tuple[client.Reader, FakeSocket]:
    reader = client.Reader("http://127.0.0.1:1", "fake")
    reader.socket = FakeSocket(replies)
    asyncio.run(reader.rerun())
    return reader, reader.socket


def test_a_training_that_the_page_polls_with_run_every_is_followed_to_its_end() -> None:
    polling = _forward(auto_rerun__fragment_id="F", auto_rerun__interval=0.01)
    reader, socket = _reader(
        [
            _form_page(),
            [_new_session(["F"]), polling, _element("progress", "F", text="queued"), _finished(3)],
            [_new_session(["F"]), polling, _epoch(1), _finished(3)],
            [
                _new_session(["F"]),
                polling,
                _epoch(3),
                _element("markdown", "F", body="Trained on **CPU** in 1.0 s."),
                _finished(3),
            ],
        ]
    )
    setting = {"l2": "0.003", "dropout": "0.1", "epochs": "3"}
    training = asyncio.run(client.drive_training(reader, setting, timeout=30))
    press, *polls = socket.sent[1:]
    assert press.rerun_script.fragment_id == "F" and not press.rerun_script.is_auto_rerun
    states = {w.id: w for w in press.rerun_script.widget_states.widgets}
    assert states["l2"].string_value == "0.003" and states["p"].string_value == "0.1"
    assert states["ep"].int_value == 3 and states["go"].trigger_value
    assert [(p.rerun_script.fragment_id, p.rerun_script.is_auto_rerun) for p in polls] == [
        ("F", True),
        ("F", True),
    ]
    assert not any(w.trigger_value for p in polls for w in p.rerun_script.widget_states.widgets)
    assert training.complete() and training.full_result() and not training.abandoned
    assert len(training.runs) == 3 and training.queue_wait() is not None


def test_a_training_inside_the_submitting_run_needs_no_polling() -> None:
    """Today's page: the press runs the training, then restarts the page with st.rerun."""
    reader, socket = _reader(
        [
            _form_page(),
            [
                _new_session(["F"]),
                _epoch(1),
                _epoch(3),
                _finished(client.FINISHED_EARLY_FOR_RERUN),
                _new_session(),
                _element("markdown", body="Trained on **CPU** in 1.0 s."),
                _finished(0),
            ],
        ]
    )
    training = asyncio.run(
        client.drive_training(reader, {"l2": "0.003", "epochs": "3"}, timeout=30)
    )
    assert len(socket.sent) == 2 and len(training.runs) == 1
    assert training.runs[0].server_reruns == 1
    assert training.full_result() and training.trained


def test_a_form_behind_a_pill_is_opened_before_the_press() -> None:
    pills = _forward()
    pills.delta.new_element.button_group.id = "deep"
    for label in ("Over training", "Train your own", "Compare two settings"):
        pills.delta.new_element.button_group.options.add(content=label)
    closed = [_new_session(), pills, _finished(0)]
    opened = [_new_session(), pills, *_form_page()[1:]]
    done = [
        _new_session(["F"]),
        _epoch(3),
        _element("markdown", "F", body="Trained on **CPU** in 1.0 s."),
        _finished(3),
    ]
    reader, socket = _reader([closed, opened, done])
    training = asyncio.run(client.drive_training(reader, {"l2": "0.003"}, timeout=30))
    opening = socket.sent[1].rerun_script
    assert not opening.fragment_id
    states = {w.id: w for w in opening.widget_states.widgets}
    assert list(states["deep"].string_array_value.data) == ["Train your own"]
    assert len(training.setup) == 1 and training.full_result()


def test_the_client_keeps_auto_rerun_timers_as_the_front_end_does() -> None:
    reader, _ = _reader(
        [
            [
                _new_session(),
                _forward(auto_rerun__fragment_id="A", auto_rerun__interval=0.5),
                _forward(auto_rerun__fragment_id="B", auto_rerun__interval=1.0),
                _finished(0),
            ],
            [_new_session(["A"]), _forward(stop_auto_rerun__fragment_ids=["B"]), _finished(3)],
            [_new_session(), _finished(0)],
        ]
    )
    assert reader.auto_reruns == {"A": 0.5, "B": 1.0}
    asyncio.run(reader.rerun(fragment_id="A", auto=True))
    assert reader.auto_reruns == {"A": 0.5}
    asyncio.run(reader.rerun())  # a full-page run drops every timer
    assert reader.auto_reruns == {}


def test_a_refused_training_is_over_and_counted_as_busy() -> None:
    busy = _element("alert", "F", body="The server is busy training for other readers.", format=2)
    reader, _ = _reader([_form_page(), [_new_session(["F"]), busy, _finished(3)]])
    training = asyncio.run(client.drive_training(reader, {"l2": "0.003"}, timeout=30))
    assert training.busy and training.done() and not training.full_result()


# --------------------------------------------------------------------------- the real server


@pytest.fixture(scope="module")
def figures() -> loadtest.Figures:
    browser = appserver.browser_unavailable() is None
    if not browser and os.environ.get("REGVIZ_REQUIRE_BROWSER") == "1":
        pytest.fail(f"REGVIZ_REQUIRE_BROWSER=1 but: {appserver.browser_unavailable()}")
    result = loadtest.run_load(PLAN, max_trainings=MAX_TRAININGS, browser=browser)
    print("\n".join(result.lines()))  # the figures, for `pytest -s` and the closing note
    return result


@pytest.mark.slow
def test_twenty_readers_see_no_error(figures: loadtest.Figures) -> None:
    assert figures.errors == []
    assert figures.sessions == 20
    assert figures.script_runs_finished == figures.interactions
    assert figures.interactions >= figures.sessions * 2
    assert figures.rerun_while_training_s["count"] + figures.rerun_while_idle_s["count"] >= (
        PLAN.slider_readers * PLAN.switches
    )
    if appserver.browser_unavailable() is None:
        assert figures.browser_checked


@pytest.mark.slow
def test_trainings_queue_within_the_configured_limit(figures: loadtest.Figures) -> None:
    assert figures.max_trainings == MAX_TRAININGS
    assert 1 <= figures.max_concurrent_seen <= MAX_TRAININGS
    assert figures.trainings_run >= 4


@pytest.mark.slow
def test_every_submitted_training_is_accounted_for(figures: loadtest.Figures) -> None:
    assert figures.trainings_submitted == PLAN.trainers + 2  # with the leaver and the returner
    assert figures.trainings_unaccounted == 0
    handled = figures.trainings_run + figures.trainings_from_cache + figures.trainings_refused_busy
    assert handled == figures.trainings_submitted


@pytest.mark.slow
def test_a_tab_closed_mid_training_leaves_no_half_finished_result(
    figures: loadtest.Figures,
) -> None:
    assert figures.abandoned_mid_training
    assert figures.returner_got_full_result


@pytest.mark.slow
def test_the_servers_memory_stays_bounded(figures: loadtest.Figures) -> None:
    assert figures.peak_server_rss_mb is not None
    assert figures.peak_server_rss_mb < MEMORY_LIMIT_MB
    assert all(child["peak_mb"] < CHILD_MEMORY_LIMIT_MB for child in figures.memory["children"])
    assert figures.peak_with_children_mb < TREE_MEMORY_LIMIT_MB
