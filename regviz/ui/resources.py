"""What the page holds once per server process: the stored runs and the training service.

Everything here is keyed on primitive values (a directory string) and creates no
Streamlit element, so a cached value is safe to share between readers.
"""

from __future__ import annotations

import gc
import os

import streamlit as st

from regviz import store
from regviz.live import TrainingService
from regviz.live.settings import (  # noqa: F401  (the page reads them here)
    MAX_TRAININGS_ENV,
    WORKER_IDLE_ENV,
    max_trainings,
    worker_idle_seconds,
)

#: Where the page reads `pretrained/` from (tests point it at a damaged copy).
DIR_ENV = "REGVIZ_PRETRAINED_DIR"


def pretrained_dir() -> str:
    return os.environ.get(DIR_ENV) or str(store.PRETRAINED_DIR)


@st.cache_resource(show_spinner=False)
def settle_heap() -> bool:
    """Once per server, after the first full page run: collect, then move what is left
    (the stored runs, the first screen's cached charts, the imported libraries) out of
    the collector's reach, so later collections only walk what later runs create."""
    gc.collect()
    gc.freeze()
    return True


@st.cache_resource(show_spinner=False)
def pretrained(directory: str) -> store.Pretrained:
    """Every stored run of `directory`, read and checked once per process."""
    return store.load_views(directory)


def _close(service: TrainingService) -> None:
    service.close(wait=False)


@st.cache_resource(show_spinner=False, on_release=_close)
def training_service(max_concurrent: int) -> TrainingService:
    """One queue, one set of worker processes and one result cache shared by every reader.

    The workers import torch; this process never does (the device is what the
    workers report).
    """
    return TrainingService(max_concurrent=max_concurrent, idle_seconds=worker_idle_seconds())
