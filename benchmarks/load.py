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
label match, so the page can reword its labels. The readers are
`benchmarks.streamlit_client`, which the page benchmark shares.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks import report as shared
from benchmarks.streamlit_client import Reader, Run, Training, drive_training
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
