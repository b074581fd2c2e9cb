"""`pretrain` killed or refused at any point leaves the previous `pretrained/` intact and loadable.

All tests run on a temporary copy of the shipped checkpoints. The first kills a real
`python -m regviz pretrain --only ...` with SIGKILL in the middle of training. The
others run the real command line in a subprocess with one thing swapped through a
small prelude: training shortened to two epochs (the write path is what is under
test, and it does not care how long the runs trained), and then writes slowed down
so the kill lands between two files, `os.replace` failing with ENOSPC ("disk full"),
or a directory that cannot be created. We run as root, so `chmod` cannot make a
directory read-only here; that variant is skipped for root and the path-under-a-file
and ENOSPC cases stand in for it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from regviz import readymade, store
from regviz.registry import canonical_configs

ROOT = Path(__file__).resolve().parent.parent
ONLY = ("l2-0.01_p-0_s0", "l2-0_p-0_s1")
KILL_AT_EPOCH = 5
TIMEOUT = 300

#: Runs before the CLI in the prelude variants: trains two epochs but stores the runs
#: under their canonical configs, so the manifest written is a complete canonical one.
SHORT_TRAINING = """
import dataclasses, regviz.train as train
_fit_many = train.fit_many
def quick(configs, **kwargs):
    runs = _fit_many([dataclasses.replace(c, epochs=2) for c in configs], **kwargs)
    return [dataclasses.replace(r, config=c) for r, c in zip(runs, configs)]
train.fit_many = quick
"""
#: The 2-epoch runs above are labelled as 100-epoch ones, which the page cannot draw; the
#: tests here are about the store, so pretrain skips the first screen's ready-made file.
NO_FIRST_SCREEN = """
import regviz.ui.ready as ready
ready.write = lambda directory: print("first screen skipped")
"""
SLOW_WRITES = """
import time, regviz.store as store
_write = store._atomic_write
def slow(path, data):
    _write(path, data)
    print("WROTE", path, flush=True)
    time.sleep(1.0)
store._atomic_write = slow
"""
DISK_FULL = """
import errno, os
def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
os.replace = full
"""
RUN_CLI = """
import sys
from regviz.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "pretrained"
    shutil.copytree(store.PRETRAINED_DIR, target)
    return target


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def assert_previous_set_intact(directory: Path, before: dict[str, bytes]) -> None:
    """The old manifest is current, every file it names checks out, and every run loads."""
    after = snapshot(directory)
    assert after[store.MANIFEST_NAME] == before[store.MANIFEST_NAME]
    for name, data in before.items():
        assert after.get(name) == data, f"{name} changed or vanished"
    assert store.verify(directory) == []
    loaded = store.load_views(directory)
    assert loaded.problems == [] and len(loaded.runs) == len(canonical_configs())
    run = store.load_pretrained(l2=0.01, seed=0, directory=directory)
    assert len(run.history.val_loss) == 100


def command(*prelude: str) -> list[str]:
    return [sys.executable, "-c", "\n".join((*prelude, RUN_CLI))]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


class Watched:
    """A subprocess whose stdout and stderr are collected as they arrive."""

    def __init__(self, args: list[str]):
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.text = {"stdout": "", "stderr": ""}
        self.lock = threading.Lock()
        for name in self.text:
            threading.Thread(target=self._pump, args=(name,), daemon=True).start()

    def _pump(self, name: str) -> None:
        stream = getattr(self.process, name)
        while chunk := os.read(stream.fileno(), 4096):
            with self.lock:
                self.text[name] += chunk.decode("utf-8", "replace")

    def wait_for(self, pattern: str, stream: str, accept=lambda match: True) -> re.Match:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            with self.lock:
                matches = [m for m in re.finditer(pattern, self.text[stream]) if accept(m)]
            if matches:
                return matches[-1]
            assert self.process.poll() is None, f"exited early: {self.text}"
            time.sleep(0.05)
        self.process.kill()
        raise AssertionError(f"never saw {pattern!r}: {self.text}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(TIMEOUT) == -signal.SIGKILL


@pytest.mark.slow
def test_a_pretrain_killed_mid_training_leaves_the_previous_set(copy: Path) -> None:
    before = snapshot(copy)
    run = Watched([sys.executable, "-m", "regviz", "pretrain", "--dir", str(copy), "--only", *ONLY])
    match = run.wait_for(
        r"epoch (\d+)/(\d+)", "stderr", accept=lambda m: int(m.group(1)) >= KILL_AT_EPOCH
    )
    assert int(match.group(1)) < int(match.group(2)), "training finished before the kill"
    run.kill()
    assert_previous_set_intact(copy, before)
    assert snapshot(copy).keys() == before.keys()  # nothing is written while training


def test_a_pretrain_killed_between_two_writes_leaves_the_previous_set(copy: Path) -> None:
    before = snapshot(copy)
    run = Watched(
        [*command(SHORT_TRAINING, SLOW_WRITES), "pretrain", "--dir", str(copy), "--only", *ONLY]
    )
    run.wait_for(r"WROTE .*\.safetensors", "stdout")
    run.kill()
    assert_previous_set_intact(copy, before)
    new_files = snapshot(copy).keys() - before.keys()
    assert new_files, "the kill was meant to land after a new file was written"

    # The next complete pretrain makes its own manifest current and sweeps the leftovers.
    arguments = ["pretrain", "--dir", str(copy), "--only", *ONLY]
    finished = subprocess.run(
        [*command(SHORT_TRAINING, NO_FIRST_SCREEN), *arguments],
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert finished.returncode == 0, finished.stderr
    assert store.verify(copy) == []
    manifest = json.loads((copy / store.MANIFEST_NAME).read_text())
    named = {entry["file"] for entry in manifest["runs"].values()}
    named |= {entry["file"] for entry in manifest["inits"].values()}
    named.add(manifest["data"]["file"])
    on_disk = {p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file()}
    assert on_disk == named | {store.MANIFEST_NAME, readymade.FILE_NAME}


def assert_clear_error(result: subprocess.CompletedProcess[str], directory: Path, why: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"error: cannot write {directory}" in result.stderr
    assert why in result.stderr


def run_cli(*prelude: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command(*prelude), *args],
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_a_full_disk_gives_a_clear_error_and_keeps_the_previous_set(copy: Path) -> None:
    before = snapshot(copy)
    result = run_cli(
        SHORT_TRAINING, DISK_FULL, args=["pretrain", "--dir", str(copy), "--only", ONLY[0]]
    )
    assert_clear_error(result, copy, os.strerror(28))
    assert_previous_set_intact(copy, before)
    assert not list(copy.rglob("*.tmp")), "a half-written temporary file was left behind"


def test_a_directory_that_cannot_be_created_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    target = blocker / "pretrained"
    result = run_cli(SHORT_TRAINING, args=["pretrain", "--dir", str(target), "--only", ONLY[0]])
    assert_clear_error(result, target, "Not a directory")


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores directory permissions"
)
def test_a_read_only_directory_gives_a_clear_error(copy: Path) -> None:
    before = snapshot(copy)
    for path in [copy, *[p for p in copy.rglob("*") if p.is_dir()]]:
        path.chmod(0o555)
    try:
        result = run_cli(SHORT_TRAINING, args=["pretrain", "--dir", str(copy), "--only", ONLY[0]])
    finally:
        for path in [copy, *[p for p in copy.rglob("*") if p.is_dir()]]:
            path.chmod(0o755)
    assert_clear_error(result, copy, "Permission denied")
    assert_previous_set_intact(copy, before)


def test_an_unknown_run_id_is_refused_before_any_training(copy: Path) -> None:
    before = snapshot(copy)
    result = subprocess.run(
        [sys.executable, "-m", "regviz", "pretrain", "--dir", str(copy), "--only", "l2-5_p-0_s0"],
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 2
    assert "not canonical run ids: l2-5_p-0_s0" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(copy) == before
