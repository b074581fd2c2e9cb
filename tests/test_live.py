"""`TrainingService` under many readers: bounded queue, bounded cache, nothing half-finished.

Most tests swap `TrainingService._train_now` for a fast fake so that the queue's
behaviour is tested without paying for training; the fake reports through
`progress` like the real trainer and can be held on an event to keep a slot busy.
The last test trains for real (two epochs) to pin that a cached result equals a
fresh one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from regviz.config import RunConfig
from regviz.live import ServiceBusy, TrainingService

WAIT = 10.0  # generous upper bound for a thread handshake on a busy 2-core machine


class TabClosed(BaseException):
    """Like Streamlit's StopException: a BaseException raised inside a callback."""


class FakeTrainer:
    """Stands in for `_train_now`: counts concurrency, calls progress, returns a token view."""

    def __init__(self, hold: threading.Event | None = None, seconds: float = 0.02):
        self.hold = hold
        self.seconds = seconds
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.calls: list[RunConfig] = []
        self.started = threading.Event()

    def __call__(self, config: RunConfig, progress, device) -> object:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.calls.append(config)
        self.started.set()
        try:
            if self.hold is not None:
                assert self.hold.wait(WAIT), "test never released the trainer"
            for epoch in range(3):
                time.sleep(self.seconds / 3)
                if progress is not None:
                    progress(epoch)
            return ("view", config)
        finally:
            with self.lock:
                self.active -= 1


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeTrainer]:
    def install(**kwargs) -> FakeTrainer:
        trainer = FakeTrainer(**kwargs)
        monkeypatch.setattr(TrainingService, "_train_now", trainer)
        return trainer

    return install


def start(target: Callable[[], object]) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def body() -> None:
        try:
            outcome["value"] = target()
        except BaseException as error:  # the test inspects it
            outcome["error"] = error

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, outcome


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.01)


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_no_more_than_max_concurrent_trainings_run_at_once(
    fake: Callable[..., FakeTrainer], limit: int
) -> None:
    trainer = fake(seconds=0.15)
    service = TrainingService(max_concurrent=limit, max_waiting=32, cache_size=64)
    threads = [start(lambda s=s: service.train(RunConfig(seed=s)))[0] for s in range(12)]
    for thread in threads:
        thread.join(WAIT)
    assert len(trainer.calls) == 12
    assert trainer.peak == limit
    assert (service.running, service.waiting) == (0, 0)


def test_a_waiting_reader_is_told_how_many_are_waiting(fake: Callable[..., FakeTrainer]) -> None:
    release = threading.Event()
    trainer = fake(hold=release)
    service = TrainingService(max_concurrent=1, max_waiting=4)
    first, _ = start(lambda: service.train(RunConfig(seed=0)))
    assert trainer.started.wait(WAIT)
    waits: list[int] = []
    second, outcome = start(lambda: service.train(RunConfig(seed=1), on_wait=waits.append))
    wait_until(lambda: len(waits) >= 2)
    assert service.waiting == 1 and service.running == 1
    release.set()
    first.join(WAIT)
    second.join(WAIT)
    assert outcome["value"] == ("view", RunConfig(seed=1))
    assert set(waits) == {1}


def test_a_full_queue_refuses_at_once_and_caches_nothing(fake: Callable[..., FakeTrainer]) -> None:
    release = threading.Event()
    trainer = fake(hold=release)
    service = TrainingService(max_concurrent=1, max_waiting=2)
    running, _ = start(lambda: service.train(RunConfig(seed=0)))
    assert trainer.started.wait(WAIT)
    waiting = [start(lambda s=s: service.train(RunConfig(seed=s)))[0] for s in (1, 2)]
    wait_until(lambda: service.waiting == 2)
    with pytest.raises(ServiceBusy, match="already waiting"):
        service.train(RunConfig(seed=3))
    assert service.cached(RunConfig(seed=3)) is None
    release.set()
    for thread in (running, *waiting):
        thread.join(WAIT)
    assert service.train(RunConfig(seed=3)) == ("view", RunConfig(seed=3))


@pytest.mark.parametrize("error", [TabClosed, RuntimeError], ids=["BaseException", "Exception"])
def test_a_reader_leaving_mid_training_leaves_nothing_cached_and_frees_the_slot(
    fake: Callable[..., FakeTrainer], error: type[BaseException]
) -> None:
    fake()
    service = TrainingService(max_concurrent=1, max_waiting=0)
    config = RunConfig(seed=5)

    def leave(epoch: int) -> None:
        if epoch == 1:
            raise error("the reader closed the tab")

    with pytest.raises(error):
        service.train(config, progress=leave)
    assert service.cached(config) is None
    assert (service.running, service.waiting) == (0, 0)
    # The slot is free: with max_waiting=0 a leaked slot would make this raise ServiceBusy.
    assert service.train(config) == ("view", config)
    assert service.cached(config) == ("view", config)


def test_a_reader_leaving_while_queued_frees_its_place(fake: Callable[..., FakeTrainer]) -> None:
    release = threading.Event()
    trainer = fake(hold=release)
    service = TrainingService(max_concurrent=1, max_waiting=1)
    first, _ = start(lambda: service.train(RunConfig(seed=0)))
    assert trainer.started.wait(WAIT)

    def leave(waiting: int) -> None:
        raise TabClosed

    with pytest.raises(TabClosed):
        service.train(RunConfig(seed=1), on_wait=leave)
    assert service.waiting == 0
    # Its place in the queue is free again: another reader may wait.
    second, outcome = start(lambda: service.train(RunConfig(seed=2)))
    wait_until(lambda: service.waiting == 1)
    release.set()
    first.join(WAIT)
    second.join(WAIT)
    assert outcome["value"] == ("view", RunConfig(seed=2))
    assert service.cached(RunConfig(seed=1)) is None
    assert RunConfig(seed=1) not in trainer.calls


def test_readers_waiting_for_the_same_config_share_one_training(
    fake: Callable[..., FakeTrainer],
) -> None:
    release = threading.Event()
    trainer = fake(hold=release)
    service = TrainingService(max_concurrent=2, max_waiting=8)
    config = RunConfig(l2=0.003, seed=4)
    told_to_wait = [threading.Event() for _ in range(4)]
    threads = [start(lambda: service.train(config))]
    assert trainer.started.wait(WAIT)
    threads += [
        start(lambda told=told: service.train(config, on_wait=lambda _: told.set()))
        for told in told_to_wait
    ]
    for told in told_to_wait:  # a free slot is there, yet they wait for the run in flight
        assert told.wait(WAIT)
    release.set()
    for thread, _ in threads:
        thread.join(WAIT)
    assert trainer.calls == [config]
    assert all(outcome["value"] == ("view", config) for _, outcome in threads)


def test_the_cache_keeps_only_the_most_recently_used_results(
    fake: Callable[..., FakeTrainer],
) -> None:
    trainer = fake(seconds=0.0)
    service = TrainingService(max_concurrent=2, max_waiting=2, cache_size=3)
    configs = [RunConfig(seed=s) for s in range(6)]
    for config in configs[:3]:
        service.train(config)
    assert service.cached(configs[0]) is not None  # touching it makes it recent
    for config in configs[3:5]:
        service.train(config)
    assert service.cache_keys() == [configs[0], configs[3], configs[4]]
    for config in configs:
        service.train(config)
    # Second round: 0 was still cached; 1 and 2 had been evicted, and so, in turn, were 3 and 4.
    assert service.cache_keys() == configs[3:]
    assert len(trainer.calls) == 5 + 5


def test_the_cache_bound_holds_under_many_threads(fake: Callable[..., FakeTrainer]) -> None:
    fake(seconds=0.0)
    service = TrainingService(max_concurrent=3, max_waiting=64, cache_size=4)
    threads = [start(lambda s=s: service.train(RunConfig(seed=s % 10)))[0] for s in range(40)]
    for thread in threads:
        thread.join(WAIT)
    assert len(service.cache_keys()) == 4
    assert (service.running, service.waiting) == (0, 0)


@pytest.mark.parametrize("bad", [(0, 1, 1), (1, -1, 1), (1, 1, 0)])
def test_a_service_without_room_is_refused(bad: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError):
        TrainingService(*bad)


def test_a_cached_result_equals_a_fresh_training_of_the_same_config() -> None:
    """Determinism is what makes the cache honest: a real two-epoch run, three ways."""
    from regviz.analysis import describe_run
    from regviz.train import fit

    config = RunConfig(l2=0.003, dropout=0.1, seed=1, epochs=2)
    service = TrainingService(max_concurrent=1, max_waiting=1, cache_size=2)
    first = service.train(config, device="cpu")
    assert service.train(config, device="cpu") is first  # served from the cache
    fresh = describe_run(fit(config, device="cpu"))
    other = TrainingService().train(config, device="cpu")
    for view in (fresh, other):
        assert view.config == first.config
        assert view.metrics == first.metrics
        for name, array in first.arrays().items():
            np.testing.assert_array_equal(view.arrays()[name], array, err_msg=name)
