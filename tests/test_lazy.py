"""regviz.lazy: a module bound at import time is loaded only when a function first uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from regviz import lazy

ROOT = Path(__file__).resolve().parent.parent


def _printed(code: str) -> str:
    """What `code` prints in a fresh interpreter (nothing imported yet)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_a_lazy_module_is_imported_on_its_first_attribute_and_not_before():
    code = (
        "import sys; from regviz import lazy; m = lazy.module('colorsys'); "
        "before = 'colorsys' in sys.modules; value = m.rgb_to_hsv(1.0, 0.0, 0.0); "
        "print(before, 'colorsys' in sys.modules, value)"
    )
    assert _printed(code).split() == ["False", "True", "(0.0,", "1.0,", "1.0)"]


def test_a_lazy_module_answers_as_the_module_itself():
    import pandas

    pd = lazy.module("pandas")
    assert pd.DataFrame is pandas.DataFrame
    assert isinstance(pd.DataFrame({"a": [1]}), pandas.DataFrame)


def test_a_missing_module_or_attribute_fails_when_used():
    with pytest.raises(ModuleNotFoundError):
        _ = lazy.module("regviz_no_such_module").anything
    with pytest.raises(AttributeError):
        _ = lazy.module("colorsys").no_such_function


def test_threads_that_use_a_lazy_module_meanwhile_all_get_the_whole_module():
    """A fresh server's readers arrive while the first one's use is still importing pandas:
    none may see the half-initialised module the import system holds meanwhile."""
    code = """
import threading, time
from regviz import lazy
pd = lazy.module("pandas")
errors = []
def use(delay):
    time.sleep(delay)
    try:
        pd.DataFrame({"a": [1]})
    except Exception as error:
        errors.append(repr(error))
threads = [threading.Thread(target=use, args=(0.02 * i,)) for i in range(12)]
for thread in threads: thread.start()
for thread in threads: thread.join()
print(errors)
"""
    assert _printed(code) == "[]"
