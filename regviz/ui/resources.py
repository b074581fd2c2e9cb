"""What the page holds once per server process: the stored runs and the training service.

Everything here is keyed on primitive values (a directory string) and creates no
Streamlit element, so a cached value is safe to share between readers.
"""

from __future__ import annotations

import os

import streamlit as st

from regviz import store
from regviz.live import TrainingService

#: Where the page reads `pretrained/` from (tests point it at a damaged copy).
DIR_ENV = "REGVIZ_PRETRAINED_DIR"
#: How many custom trainings may run at once in one server process.
MAX_TRAININGS_ENV = "REGVIZ_MAX_TRAININGS"


def pretrained_dir() -> str:
    return os.environ.get(DIR_ENV) or str(store.PRETRAINED_DIR)


@st.cache_resource(show_spinner=False)
def pretrained(directory: str) -> store.Pretrained:
    """Every stored run of `directory`, read and checked once per process."""
    return store.load_views(directory)


def max_trainings() -> int:
    """REGVIZ_MAX_TRAININGS as a positive integer; 1 when unset or unreadable."""
    try:
        return max(1, int(os.environ.get(MAX_TRAININGS_ENV, "1")))
    except ValueError:
        return 1


@st.cache_resource(show_spinner=False)
def training_service(max_concurrent: int) -> TrainingService:
    """One queue and one result cache shared by every reader of this server."""
    return TrainingService(max_concurrent=max_concurrent)


@st.cache_resource(show_spinner=False)
def device_label() -> tuple[str, str]:
    """(torch device string, reader-facing name); imports torch, so call it only to train."""
    from regviz.train import choose_device, describe_device

    device = choose_device()
    return str(device), describe_device(device)
