"""The custom-run tab, driven headless through AppTest on its own (`tests/support/custom_tab.py`).

The page's training service is swapped for one whose worker runs a job from
`tests.support.jobs` (held until the test releases it), so the tab's states can be
looked at one by one. AppTest does not rerun the polling fragment by itself: each
`at.run()` is one look, as a reader's browser would get every `custom.POLL_SECONDS`.
No test measures time; `WAIT` only bounds a handshake on a loaded machine.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from regviz.config import RunConfig
from regviz.live import TrainingService
from regviz.ui import custom, resources
from tests.support import jobs

ROOT = Path(__file__).resolve().parent.parent
TAB = str(ROOT / "tests" / "support" / "custom_tab.py")
WAIT = 180.0
TRAIN = "FormSubmitter:custom_form-Train"


@pytest.fixture()
def service_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., TrainingService]]:
    """Give the tab a service of our making (closed, workers stopped, when the test ends)."""
    monkeypatch.setenv(jobs.FOLDER_ENV, str(tmp_path))
    made: list[TrainingService] = []

    def install(**kwargs) -> TrainingService:
        kwargs.setdefault("job", jobs.held)
        service = TrainingService(**kwargs)
        made.append(service)
        monkeypatch.setattr(resources, "training_service", lambda *_: service)
        return service

    yield install
    jobs.release()
    for service in made:
        service.close()


def tab() -> AppTest:
    return AppTest.from_file(TAB, default_timeout=WAIT).run()


def submit(at: AppTest, **fields: str) -> AppTest:
    for name, text in fields.items():
        at.text_input(key=f"custom_{name}").input(text)
    return at.button(key=TRAIN).click().run()


def until(at: AppTest, condition: Callable[[AppTest], bool], what: str) -> AppTest:
    """Rerun the tab (as the polling fragment would) until `condition` holds."""
    deadline = time.monotonic() + WAIT
    while not condition(at):
        assert not at.exception, [e.value for e in at.exception]
        assert time.monotonic() < deadline, f"{what} never showed"
        time.sleep(0.05)
        at.run()
    return at


def text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def progress_text(at: AppTest) -> str | None:
    bars = at.get("progress")
    return bars[0].proto.text if bars else None


def data(chart) -> list[bytes]:
    return [dataset.data.data for dataset in chart.proto.datasets]


def chart_titles(at: AppTest) -> list[str]:
    out = []
    for chart in at.get("vega_lite_chart"):
        title = json.loads(chart.proto.spec).get("title", "")
        out.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return out


def test_train_shows_progress_at_once_then_the_run_as_it_learns_then_the_result(service_with):
    service = service_with()
    at = submit(tab(), l2="0.002", p="0.1", n="300")
    assert not at.exception
    assert len(at.get("progress")) == 1  # the first feedback, drawn before the worker answers
    assert at.button(key="custom_cancel")
    assert "λ = 0.002, p = 0.1, n = 300" in text(at)
    until(at, lambda at: progress_text(at) == "epoch 1 of 3", "epoch 1")  # as the fake says
    assert "**Training**" in text(at) and "a test worker" in text(at)
    assert "fewer points train for more epochs" in text(at)  # n = 300: 2,500 epochs
    until(at, lambda at: len(at.get("vega_lite_chart")) == 3, "the live charts")
    assert chart_titles(at) == ["Prediction", "", "Weight density"]  # the loss has no title
    jobs.release()
    until(at, lambda at: "custom_config" in at.session_state, "the finished run")
    config = at.session_state["custom_config"]
    assert (config.l2, config.dropout, config.n_train, config.epochs) == (0.002, 0.1, 300, 2500)
    assert any(m.value.startswith("Trained on **a test worker**") for m in at.markdown)
    assert "Your run beside the nearest stored setting" in [s.value for s in at.subheader]
    assert not at.get("progress") and all(b.key != "custom_cancel" for b in at.button)
    assert service.cached(config) is not None and service.running == 0


def test_a_run_that_ends_before_the_next_poll_is_shown_finished_in_the_same_look(
    service_with, monkeypatch
):
    service = service_with(job=jobs.almost_done)
    at = submit(tab(), epochs="3")
    ticket = at.session_state[custom.TICKET]
    deadline = time.monotonic() + WAIT
    while service.poll(ticket).epoch != 2:  # 99.9 % done, as the job says
        assert time.monotonic() < deadline, "the job never reported epoch 2"
        time.sleep(0.05)
    # A long poll, so that the look waits for the end whatever this machine's pace; the
    # job ends a moment after the look begins.
    monkeypatch.setattr(custom, "POLL_SECONDS", WAIT)
    threading.Timer(0.3, jobs.release).start()
    at.run()  # one look
    assert not at.exception
    assert "custom_config" in at.session_state
    assert any(m.value.startswith("Trained on **a test worker**") for m in at.markdown)
    assert not at.get("progress")


def test_the_epoch_slider_moves_the_finished_runs_prediction_and_density(service_with):
    service_with(job=jobs.quick)
    at = submit(tab(), epochs="3")
    until(at, lambda at: "custom_config" in at.session_state, "the finished run")
    slider = at.select_slider(key=f"custom_epoch_{RunConfig(l2=0.003, epochs=3).run_id}")
    assert slider.options == ["0", "3"] and slider.value == 3
    before = [data(chart) for chart in at.get("vega_lite_chart")[-2:]]
    slider.set_value(0).run()
    assert not at.exception
    after = [data(chart) for chart in at.get("vega_lite_chart")[-2:]]
    assert chart_titles(at)[-2:] == ["Prediction", "Weight density"]
    assert before[0] != after[0] and before[1] == after[1]  # the fake's weights never change


def test_cancel_stops_the_training_frees_the_slot_and_keeps_nothing(service_with):
    service = service_with(max_concurrent=1, max_waiting=0)
    at = submit(tab(), l2="0.0424")
    until(at, lambda at: "**Training**" in text(at), "the training running")
    at.button(key="custom_cancel").click().run()
    assert not at.exception
    assert any("cancelled" in i.value for i in at.info)
    assert not at.get("progress") and "custom_config" not in at.session_state
    deadline = time.monotonic() + WAIT
    while service.running:  # the worker stops at its next look at the flag
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert service.cache_keys() == []
    # With max_waiting=0 a slot still taken would refuse the next run.
    at = submit(at, l2="0.0425")
    assert not at.warning and len(at.get("progress")) == 1


def test_a_reader_waiting_for_a_slot_is_told_their_place(service_with):
    service = service_with(max_concurrent=1, max_waiting=2)
    service.submit(RunConfig(seed=11))  # another reader's run holds the only slot
    at = submit(tab(), l2="0.0423")
    assert not at.exception
    assert "**Queued**" in text(at) and "1 training(s) running" in text(at)
    assert "0 waiting ahead of yours" in text(at)
    assert len(at.get("progress")) == 1 and at.button(key="custom_cancel")
    jobs.release()
    until(at, lambda at: "custom_config" in at.session_state, "the run after the wait")


def test_a_full_training_queue_is_a_message_not_an_error(service_with):
    service = service_with(max_concurrent=1, max_waiting=0)
    service.submit(RunConfig(seed=12))
    at = submit(tab(), l2="0.0422")
    assert not at.exception
    assert any("busy" in w.value and "0 trainings are already" in w.value for w in at.warning)
    assert "custom_config" not in at.session_state and not at.get("progress")


def test_a_failed_worker_job_is_a_message_and_leaves_nothing(service_with):
    service = service_with(job=jobs.explode)
    at = submit(tab(), seed="9")
    until(at, lambda at: at.error, "the message")
    assert any("did not finish" in e.value and "seed 9 today" in e.value for e in at.error)
    assert "custom_config" not in at.session_state and service.cache_keys() == []


@pytest.mark.slow
def test_a_diverged_custom_run_says_so_and_leaves_nothing_behind(service_with):
    """A real training in the worker, on targets that overflow float32."""
    service = service_with(job=jobs.diverge)
    at = submit(tab(), l2="0.0421", epochs="2")
    until(at, lambda at: at.error, "the message")
    assert any("diverged at epoch 1" in e.value for e in at.error)
    assert "custom_config" not in at.session_state and service.cache_keys() == []
    assert "Your run beside the nearest stored setting" not in [s.value for s in at.subheader]


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("n", "50", "n (training points) must be a whole number from 100 to 8,000"),
        ("n", "9000", "holds 8,000 points"),
        ("epochs", "many", "or auto"),
        ("p", "-0.1", "probability"),
    ],
)
def test_bad_custom_inputs_name_the_field_and_its_range(service_with, field, typed, message):
    service = service_with()
    at = submit(tab(), **{field: typed})
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert not at.get("progress") and custom.TICKET not in at.session_state
    assert service.running == 0 and service.waiting == 0


def test_a_setting_someone_trained_already_appears_at_once(service_with):
    service = service_with(job=jobs.quick)
    service.train(RunConfig(l2=0.0426, epochs=3), WAIT)
    at = submit(tab(), l2="0.0426", epochs="3")
    assert "custom_config" in at.session_state and not at.get("progress")
    assert any("for another reader earlier" in m.value for m in at.markdown)
    assert any(m.value.startswith("Trained on **a test worker**") for m in at.markdown)


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 120.0), ("30", 30.0), ("0", 120.0), ("x", 120.0)]
)
def test_the_idle_time_of_a_training_worker_comes_from_the_environment(
    monkeypatch, value, expected
):
    if value is None:
        monkeypatch.delenv(resources.WORKER_IDLE_ENV, raising=False)
    else:
        monkeypatch.setenv(resources.WORKER_IDLE_ENV, value)
    assert resources.worker_idle_seconds() == expected
