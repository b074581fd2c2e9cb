"""The page's first-screen builders, served from `pretrained/first_screen.zip` when it is current.

`cached` (Streamlit's resource cache over `made`) wraps a builder whose first argument is
the pretrained directory: a call the file holds is answered from it, any other call (a λ
or epoch a reader picks, a damaged or stale file) is built as before. `write` records the
builders' results during one run of the page's first screen and stores them
(`regviz.readymade`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from regviz import readymade, store
from regviz.ui import resources

Builder = TypeVar("Builder", bound=Callable[..., Any])

#: Every wrapped builder by name, unwrapped (the staleness test rebuilds each entry).
BUILDERS: dict[str, Callable[..., Any]] = {}
_SHELVES: dict[str, readymade.Shelf | None] = {}
_LOCK = threading.Lock()
_recording: list[readymade.Entry] | None = None
#: How many calls the file answered and how many were built, this process.
counts = {"ready": 0, "built": 0}


def cached(builder: Builder | None = None, *, max_entries: int | None = None) -> Any:
    """`st.cache_resource` for a first-screen builder: what the file holds is never built."""

    def wrap(function: Builder) -> Builder:
        return st.cache_resource(show_spinner=False, max_entries=max_entries)(made(function))

    return wrap if builder is None else wrap(builder)


def made(builder: Builder) -> Builder:
    """Answer `builder(directory, *args)` from the directory's ready-made file when it can."""
    name = f"{builder.__module__}.{builder.__qualname__}"
    BUILDERS[name] = builder

    @functools.wraps(builder)
    def build(directory: str, *args: Any) -> Any:
        if _recording is None:
            shelf = _shelf(directory)
            if shelf is not None:
                found, value = shelf.get(name, args)
                if found:
                    counts["ready"] += 1
                    return value
        value = builder(directory, *args)
        counts["built"] += 1
        if _recording is not None:
            _recording.append(readymade.Entry(name, args, value))
        return value

    return build  # type: ignore[return-value]


def _shelf(directory: str) -> readymade.Shelf | None:
    """The directory's file, read once per process; None when it cannot be used.

    Only for an intact directory: the fingerprint covers the manifest, not whether each
    file it names still passes its check, and a damaged run must show as damaged.
    """
    with _LOCK:
        if directory not in _SHELVES:
            try:
                intact = not resources.pretrained(directory).problems
                _SHELVES[directory] = readymade.read(directory) if intact else None
            except Exception:  # missing, damaged or stale: the page builds, as without it
                _SHELVES[directory] = None
        return _SHELVES[directory]


def forget() -> None:
    """Drop the files read so far (tests swap directories in one process)."""
    with _LOCK:
        _SHELVES.clear()
    counts.update(ready=0, built=0)


@contextlib.contextmanager
def _recorded() -> Iterator[list[readymade.Entry]]:
    global _recording
    _recording = []
    try:
        yield _recording
    finally:
        _recording = None


def write(directory: str | os.PathLike[str], app: Path | None = None) -> Path:
    """Run the page's first screen once on `directory` and store what its builders made.

    The page runs in Streamlit's AppTest (no browser), with empty caches, exactly as a
    fresh server's first reader would see it.
    """
    from streamlit.testing.v1 import AppTest

    directory = str(Path(directory).resolve())
    problems = store.verify(directory)
    if problems:
        raise RuntimeError(f"{len(problems)} stored file(s) fail their check, first {problems[0]}")
    app = app or Path(__file__).resolve().parents[2] / "streamlit_app.py"
    previous = os.environ.get(resources.DIR_ENV)
    os.environ[resources.DIR_ENV] = directory
    st.cache_resource.clear()
    try:
        with _recorded() as entries, contextlib.chdir(app.parent):
            at = AppTest.from_file(str(app), default_timeout=300).run()
        if at.exception:
            raise RuntimeError(f"the page raised on its first run: {at.exception[0].value}")
        if not entries:
            raise RuntimeError("the page's first run called no ready-made builder")
        return readymade.write(directory, entries)  # one entry per call: the cache saw to it
    finally:
        st.cache_resource.clear()
        forget()
        if previous is None:
            os.environ.pop(resources.DIR_ENV, None)
        else:
            os.environ[resources.DIR_ENV] = previous
