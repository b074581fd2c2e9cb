"""What every benchmark report shares: the machine, the load from others, one JSON writer.

A timing means little without the machine it was taken on, and nothing on a machine
that other jobs were loading. Each benchmark therefore prints, next to its table,
the CPU model (read once, by `regviz.pretrain.cpu_description`, the same reader
that stamps `pretrained/manifest.json`), the core count, the torch build and its
thread count, and the share of the CPUs that *other* processes used while it ran;
above `BUSY_SHARE` it says that its figures are not final. Reports go to `docs/` as
JSON through `write_json`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.support import appserver

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs"
#: Above this share of the CPUs taken by other processes, a report warns that it is not final.
BUSY_SHARE = 0.1
#: The custom-run form's fields by a tolerant label match, in RunConfig terms, and its
#: button: the page and load benchmarks both fill it in.
FORM_FIELDS = {
    "l2": re.compile(r"λ|\bl2\b", re.IGNORECASE),
    "dropout": re.compile(r"dropout|\bp\b", re.IGNORECASE),
    "epochs": re.compile(r"epoch", re.IGNORECASE),
    "seed": re.compile(r"seed", re.IGNORECASE),
}
TRAIN_BUTTON = re.compile(r"^\s*train\b", re.IGNORECASE)


def machine_facts() -> dict[str, Any]:
    """CPU, cores, torch build and threads, Python: what a reader needs to weigh a timing."""
    import torch

    from regviz.pretrain import cpu_description

    cpu = cpu_description()
    facts: dict[str, Any] = {
        "cpu": cpu["model"],
        "cpu_capability": cpu["torch_capability"],
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    if hasattr(os, "getloadavg"):
        facts["load_average_1min_at_start"] = round(os.getloadavg()[0], 2)
    return facts


def _system_busy_seconds() -> float | None:
    """CPU seconds every process on the machine has used since boot (Linux /proc/stat)."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    guest = sum(ticks[8:10])  # already counted in user and nice
    return (sum(ticks) - idle - guest) / os.sysconf("SC_CLK_TCK")


class _OwnCpu(threading.Thread):
    """The CPU seconds of this process and every process it started, sampled while they live.

    Reading the tree once at the end misses processes that left it: when Chromium closes,
    its zygote (whose reaped renderers hold most of the browser's time) can exit after
    the browser and so is never reaped by anyone of ours, and a server's killed training
    worker is adopted by init. Each process's own time as last sampled still counts here;
    only a process that lives and dies between two samples is missed.
    """

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True, name="own-cpu")
        self.interval = interval
        self.seen: dict[tuple[int, int], float] = {}
        self._done = threading.Event()
        self._lock = threading.Lock()
        self.sample()

    def sample(self) -> None:
        current = appserver.tree_cpu_by_process(os.getpid())
        with self._lock:
            self.seen.update(current)

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.sample()

    def seconds(self) -> float:
        self.sample()
        with self._lock:
            return sum(self.seen.values())

    def stop(self) -> None:
        self._done.set()


class Interference:
    """How much CPU other processes took while we measured: shared machines skew timings.

    "Ours" is this process and every process below it (a Streamlit server, Chromium, a
    subprocess timing `fit`), sampled while they run (`_OwnCpu`), so a benchmark that
    drives a server and a browser does not count them as interference.
    """

    def __init__(self) -> None:
        self._own = _OwnCpu()
        self._own.start()
        self.system = _system_busy_seconds()
        self.own = self._own.seconds()
        self.wall = time.perf_counter()

    def share(self) -> float | None:
        """Other processes' CPU time as a fraction of all cores over the wall time so far."""
        system = _system_busy_seconds()
        if system is None or self.system is None:
            return None
        others = (system - self.system) - (self._own.seconds() - self.own)
        capacity = (time.perf_counter() - self.wall) * (os.cpu_count() or 1)
        return max(0.0, others / capacity)

    def close(self, facts: dict[str, Any]) -> None:
        """Record the share and the load at the end into `facts` (the report's "machine")."""
        share = self.share()
        self._own.stop()
        facts["other_processes_cpu_share"] = None if share is None else round(share, 3)
        if hasattr(os, "getloadavg"):
            facts["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)


def created() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def percent(share: float | None) -> str:
    return "unknown" if share is None else f"{share:.0%}"


def machine_lines(facts: dict[str, Any]) -> list[str]:
    """The machine line every report prints next to its table, and the warning if it was busy."""
    lines = [
        f"machine: {facts['cpu']}, {facts['cores']} cores, torch {facts['torch']} "
        f"({facts['torch_threads']} threads), other processes' CPU share "
        f"{percent(facts.get('other_processes_cpu_share'))}"
        + (f", GPU {facts['cuda']}" if facts.get("cuda") else "")
    ]
    others = facts.get("other_processes_cpu_share")
    if others is not None and others > BUSY_SHARE:
        lines.append(
            f"warning: other processes used {others:.0%} of the CPUs while this ran, so these "
            "timings are not final; rerun on a quiet machine"
        )
    return lines


def verdict(value: float | None, goal: float, at_most: bool = True) -> str:
    """'PASS' / 'FAIL' against a goal (`value <= goal`, or `>=` when `at_most` is False)."""
    if value is None:
        return "n/a"
    return "PASS" if (value <= goal if at_most else value >= goal) else "FAIL"


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between order statistics."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def add_json_argument(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--json",
        metavar="PATH",
        default=None,
        help=f"where to write the report as JSON (default: {default})",
    )


def write_json(report: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """The one way a benchmark report reaches disk: indented UTF-8 JSON, parents created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def publish(report: dict[str, Any], text: str, path: str | os.PathLike[str] | None) -> None:
    """Print the table, then write the JSON (when `path` is given) and say where."""
    print(text)
    if path is not None:
        print(f"wrote {write_json(report, path)}")


def command(module: str, argv: Sequence[str]) -> str:
    return " ".join(["python -m", module, *argv])


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
