"""The page's state in the URL: read once per session, written back when a picker changes.

The URL is parsed by `regviz.urlstate` (which never raises); each parameter it
had to ignore becomes a warning on the page. Pickers keep their value in
`st.session_state` under `KEYS[name]` and call `write` when they change, so the
address bar always holds a link to what the reader sees.
"""

from __future__ import annotations

import streamlit as st

from regviz.ui.settings import normalise_token
from regviz.urlstate import PARAMS, PageState, epoch_key, parse_query, to_query

__all__ = ["KEYS", "current", "epoch_key", "start", "write"]

#: URL parameter → the session-state key of the picker that shows it.
KEYS = {name: f"pick_{name}" for name in PARAMS}
_APPLIED = "_url_applied"


def start() -> PageState:
    """Parse the URL, warn about what was ignored, and seed the pickers on a session's first run."""
    query = {name: st.query_params.get_all(name) for name in st.query_params}
    state, warnings = parse_query(query)
    for warning in warnings:
        st.warning(warning, icon=":material/warning:")
    if not st.session_state.get(_APPLIED):
        for name, key in KEYS.items():
            value = state[name]
            st.session_state[key] = normalise_token(value) if name in ("a", "b") else value
        st.session_state[_APPLIED] = True
    return state


def current() -> PageState:
    """The state the pickers show now (defaults for pickers not drawn)."""
    defaults = PageState()
    return PageState(
        {name: st.session_state.get(key, defaults[name]) for name, key in KEYS.items()}
    )


def write() -> None:
    """Picker callback: put the whole state in the URL."""
    st.query_params.from_dict(to_query(current()))
