"""A library imported on first use, for modules that a fresh server's first page run imports.

pandas takes 0.2-0.3 s to import on a 2-core host, a third of that first run. Most of
our modules need it only in functions the ready-made first screen (`regviz.readymade`)
never calls, so they bind `pd = lazy.module("pandas")` and the import happens on the
first attribute a function reads (thread-safe: it goes through the import system's
per-module lock). Type checkers see the real module through an `if TYPE_CHECKING` import.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands in for a module until one of its attributes is read."""

    def __init__(self, name: str):
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            # Not sys.modules: while another thread imports the library it holds a
            # half-initialised module there; import_module waits for that import.
            module = importlib.import_module(self._name)
            self._module = module
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def module(name: str) -> Any:
    """`name`, imported when first used."""
    return LazyModule(name)
