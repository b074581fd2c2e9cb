"""`TrainingService` under many readers: worker processes, a bounded queue, a bounded cache.

Most tests give the service a job from `tests.support.jobs` that runs in the
worker process like a training but does not train (so no torch is imported); a
`held` job keeps its slot until the test releases it, through a file. The tests
at the end train for real: a killed worker, a diverged run, a cached result
against a fresh training, and a server process that never imports torch.

No test measures time: `WAIT` only bounds how long a handshake may take on a
loaded machine before the test gives up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from regviz.config import RunConfig
from regviz.live import (
    CANCELLED,
    DIVERGED,
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    ServiceBusy,
    TrainingFailed,
    TrainingService,
)
from tests.support import jobs

ROOT = Path(__file__).resolve().parent.parent
WAIT = 180.0  # upper bound for a worker to start (and import torch) on a busy 2-core machine


def wait_until(condition: Callable[[], object], what: str = "condition") -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"{what} never came true"
        time.sleep(0.02)


@pytest.fixture()
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(jobs.FOLDER_ENV, str(tmp_path))
    return tmp_path


@pytest.fixture()
def make(folder: Path) -> Iterator[Callable[..., TrainingService]]:
    """Build services that are closed (workers stopped) when the test ends."""
    made: list[TrainingService] = []

    def build(**kwargs) -> TrainingService:
        kwargs.setdefault("job", jobs.held)
        service = TrainingService(**kwargs)
        made.append(service)
        return service

    yield build
    jobs.release()
    for service in made:
        service.close()


def test_a_training_reports_while_it_runs_and_its_result_is_kept(make) -> None:
    service = make(job=jobs.quick)
    config = RunConfig(seed=1, epochs=3)
    ticket = service.submit(config)
    status = service.wait(ticket, WAIT)
    assert status.state == DONE and status.device_name == "a test worker"
    assert status.view is not None and status.view.prediction[0] == 1.0
    # Events travel on their own queue; the last ones may land just after the result.
    wait_until(lambda: len(service.poll(ticket).history_epochs) == 3, "every event")
    status = service.poll(ticket)
    assert status.history_epochs == (1, 2, 3) and status.train_loss == (0.5, 1 / 3, 0.25)
    assert status.snapshot is not None and status.snapshot.epoch == 3
    assert status.first_snapshot is not None and status.first_snapshot.epoch == 0
    assert service.cached(config) is status.view
    assert service.training_points(config.n_train) is not None
    again = service.poll(service.submit(config))
    assert again.from_cache and again.view is status.view and again.device_name == "a test worker"


@pytest.mark.parametrize("limit", [1, 2])
def test_no_more_than_max_concurrent_trainings_run_at_once(make, limit: int) -> None:
    service = make(max_concurrent=limit, max_waiting=8)
    tickets = [service.submit(RunConfig(seed=s)) for s in range(2 * limit)]
    wait_until(lambda: len(jobs.runs()) == limit, "the first trainings starting")
    states = [service.poll(t).state for t in tickets]
    assert states.count(QUEUED) == limit and (service.running, service.waiting) == (limit, limit)
    assert [service.poll(t).position for t in tickets[limit:]] == list(range(1, limit + 1))
    jobs.release()
    assert all(service.wait(t, WAIT).state == DONE for t in tickets)
    assert len(jobs.runs()) == 2 * limit
    assert len({path.name.split("-")[2] for path in jobs.runs()}) <= limit  # worker pids
    assert (service.running, service.waiting) == (0, 0)


def test_a_queued_reader_is_told_its_place_and_a_full_queue_refuses_at_once(make) -> None:
    service = make(max_concurrent=1, max_waiting=2)
    running = service.submit(RunConfig(seed=0))
    queued = [service.submit(RunConfig(seed=s)) for s in (1, 2)]
    wait_until(lambda: service.poll(running).state == RUNNING, "the first training running")
    second = service.poll(queued[1])
    assert (second.state, second.position, second.running) == (QUEUED, 2, 1)
    assert second.seconds_left is not None and second.seconds_left > 0
    with pytest.raises(ServiceBusy, match="2 trainings are already waiting"):
        service.submit(RunConfig(seed=3))
    assert service.cached(RunConfig(seed=3)) is None
    jobs.release()
    assert service.wait(queued[1], WAIT).state == DONE
    assert service.wait(service.submit(RunConfig(seed=3)), WAIT).state == DONE


def test_readers_asking_for_the_same_config_share_one_training(make) -> None:
    service = make(max_concurrent=2, max_waiting=8)
    config = RunConfig(l2=0.003, seed=4)
    tickets = [service.submit(config) for _ in range(4)]
    assert len({id(ticket.job) for ticket in tickets}) == 1
    assert service.poll(tickets[0]).readers == 4
    wait_until(lambda: jobs.runs(4), "the training starting")
    jobs.release()
    views = [service.wait(ticket, WAIT).view for ticket in tickets]
    assert all(view is views[0] for view in views) and views[0] is not None
    assert len(jobs.runs(4)) == 1


def test_cancelling_a_running_training_stops_it_frees_the_slot_and_caches_nothing(make) -> None:
    service = make(max_concurrent=1, max_waiting=0)
    config = RunConfig(seed=5)
    ticket = service.submit(config)
    wait_until(lambda: service.poll(ticket).state == RUNNING, "the training running")
    service.cancel(ticket)
    assert service.poll(ticket).state == CANCELLED  # at once, for the reader
    wait_until(lambda: service.running == 0, "the worker stopping")
    assert service.cached(config) is None and service.cache_keys() == []
    # The slot is free: with max_waiting=0 a leaked slot would make this raise ServiceBusy.
    jobs.release()
    assert service.wait(service.submit(RunConfig(seed=6)), WAIT).state == DONE
    assert service.cached(config) is None
    # Asked again, the cancelled setting trains again rather than being recalled.
    assert service.wait(service.submit(config), WAIT).state == DONE
    assert len(jobs.runs(5)) == 2


def test_cancelling_a_queued_training_frees_its_place_and_never_runs_it(make) -> None:
    service = make(max_concurrent=1, max_waiting=1)
    first = service.submit(RunConfig(seed=0))
    queued = service.submit(RunConfig(seed=1))
    service.cancel(queued)
    assert service.poll(queued).state == CANCELLED and service.waiting == 0
    later = service.submit(RunConfig(seed=2))  # its place in the queue is free again
    jobs.release()
    assert service.wait(first, WAIT).state == DONE and service.wait(later, WAIT).state == DONE
    assert jobs.runs(1) == [] and service.cached(RunConfig(seed=1)) is None


def test_one_reader_cancelling_a_shared_training_only_detaches_that_reader(make) -> None:
    service = make()
    config = RunConfig(seed=7)
    leaving, staying = service.submit(config), service.submit(config)
    wait_until(lambda: service.poll(staying).state == RUNNING, "the training running")
    service.cancel(leaving)
    assert service.poll(staying).state == RUNNING and service.poll(staying).readers == 1
    jobs.release()
    assert service.wait(staying, WAIT).state == DONE
    assert service.cached(config) is not None


def test_a_training_nobody_follows_any_more_is_stopped(make) -> None:
    """A reader who closed the tab stops polling; after `abandon_seconds` the job ends."""
    service = make(abandon_seconds=0.3)
    ticket = service.submit(RunConfig(seed=8))
    wait_until(lambda: service.running == 0, "the abandoned training stopping")
    assert ticket.job.state == CANCELLED and service.cache_keys() == []


def test_the_cache_keeps_only_the_most_recently_used_results(make) -> None:
    service = make(job=jobs.quick, max_concurrent=1, max_waiting=8, cache_size=3)
    configs = [RunConfig(seed=s) for s in range(6)]
    for config in configs[:3]:
        service.train(config, WAIT)
    assert service.cached(configs[0]) is not None  # touching it makes it recent
    for config in configs[3:5]:
        service.train(config, WAIT)
    assert service.cache_keys() == [configs[0], configs[3], configs[4]]
    for config in configs:
        service.train(config, WAIT)
    # Second round: 0 was still cached; 1 and 2 had been evicted, and so, in turn, were 3 and 4.
    assert service.cache_keys() == configs[3:]
    assert len(jobs.runs()) == 5 + 5


def test_a_job_that_raises_is_reported_and_nothing_is_cached(make) -> None:
    service = make(job=jobs.explode)
    config = RunConfig(seed=9)
    with pytest.raises(TrainingFailed, match="no training for seed 9 today") as error:
        service.train(config, WAIT)
    assert error.value.status.state == FAILED
    assert service.cache_keys() == []
    assert service.wait(service.submit(config), WAIT).state == FAILED  # tried again, not recalled


def test_an_idle_worker_exits_and_the_next_training_starts_a_fresh_one(make) -> None:
    service = make(job=jobs.quick, idle_seconds=0.5)
    service.train(RunConfig(seed=0), WAIT)
    wait_until(lambda: service.worker_pids, "the worker saying who it is")
    (first_pid,) = service.worker_pids
    wait_until(lambda: not service.has_workers and not _alive(first_pid), "the idle worker exiting")
    service.train(RunConfig(seed=1), WAIT)
    wait_until(lambda: len(service.worker_pids) == 2, "a second worker")


@pytest.mark.parametrize("bad", [(0, 1, 1), (1, -1, 1), (1, 1, 0)])
def test_a_service_without_room_is_refused(bad: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError):
        TrainingService(*bad)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


# --- real trainings ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_worker_killed_mid_training_is_survived(make) -> None:
    """SIGKILL (what the out-of-memory killer sends) in the middle of a real training."""
    service = make(job=None, max_concurrent=1, max_waiting=2)
    doomed = RunConfig(l2=0.003, epochs=2000)
    ticket = service.submit(doomed)
    waiting = service.submit(RunConfig(l2=0.003, epochs=1, seed=2))
    wait_until(lambda: service.poll(ticket).epoch >= 1, "the training reaching epoch 1")
    status = service.poll(ticket)
    assert status.state == RUNNING and status.history_epochs and status.snapshot is not None
    os.kill(status.pid, signal.SIGKILL)
    failed = service.wait(ticket, WAIT)
    assert failed.state == FAILED and "stopped unexpectedly" in failed.message
    assert service.cached(doomed) is None
    # The reader who was waiting behind it trains on a fresh worker, and so does the next one.
    after = service.wait(waiting, WAIT)
    assert after.state == DONE and after.pid != status.pid
    assert service.train(RunConfig(l2=0.003, epochs=1, seed=3), WAIT) is not None
    assert service.cache_keys() == [
        RunConfig(l2=0.003, epochs=1, seed=2),
        RunConfig(l2=0.003, epochs=1, seed=3),
    ]


@pytest.mark.slow
def test_a_diverged_run_is_reported_and_never_cached(make) -> None:
    service = make(job=jobs.diverge)
    config = RunConfig(epochs=4)
    status = service.wait(service.submit(config), WAIT)
    assert status.state == DIVERGED and status.epoch == 1 and "epoch 1" in status.message
    assert service.cache_keys() == []
    again = service.wait(service.submit(config), WAIT)  # asked again, it trains again
    assert again.state == DIVERGED and again.pid is not None
    assert service.cache_keys() == []


@pytest.mark.slow
def test_a_cached_result_equals_a_fresh_training_of_the_same_config(make) -> None:
    """Determinism is what makes the cache honest: a real two-epoch run, three ways."""
    import torch

    from regviz.analysis import describe_run
    from regviz.train import fit
    from regviz.worker import snapshot_epochs

    config = RunConfig(l2=0.003, dropout=0.1, seed=1, epochs=2)
    service = make(job=None, cache_size=2)
    first = service.train(config, WAIT)
    assert service.train(config, WAIT) is first  # served from the cache
    assert first.snapshot_epochs == (0, 1, 2)
    device = service.device[0]
    # Bit for bit only with the worker's thread count: on some CPUs torch's kernels sum
    # in another order with two threads than with one (seen on an Intel Xeon).
    threads = torch.get_num_threads()
    torch.set_num_threads(service.threads)
    try:
        fresh = describe_run(fit(config, device=device, snapshots=snapshot_epochs(2)))
    finally:
        torch.set_num_threads(threads)
    other = make(job=None).train(config, WAIT)
    for view in (fresh, other):
        assert view.config == first.config
        assert view.metrics == first.metrics
        for name, array in first.arrays().items():
            np.testing.assert_array_equal(view.arrays()[name], array, err_msg=name)


SERVER = """
import sys
from regviz.config import RunConfig
from regviz.live import TrainingService

if __name__ == "__main__":
    service = TrainingService(idle_seconds=600)
    service.warm_up()
    view = service.train(RunConfig(l2=0.003, epochs=2, n_train=300), timeout=600)
    device, name = service.device
    service.close()
    heavy = sorted(m for m in ("torch", "scipy", "sklearn") if m in sys.modules)
    print(view.config.n_train, len(view.val_loss), name, heavy, sep="|")
"""


@pytest.mark.slow
def test_a_server_process_that_trains_end_to_end_never_imports_torch(tmp_path: Path) -> None:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    n_train, records, name, heavy = result.stdout.strip().splitlines()[-1].split("|")
    assert (n_train, records) == ("300", "2")
    assert name.split()[0] in ("CPU", "CUDA", "Apple") and heavy == "[]"
