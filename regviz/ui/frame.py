"""What surrounds the sections: problems with the stored files, and the sidebar."""

from __future__ import annotations

import streamlit as st

from regviz.store import Pretrained
from regviz.ui import url
from regviz.urlstate import KDE_SCALES

SHOWN_PROBLEMS = 5
CONTENTS = (
    ("why", "1. Why regularise"),
    ("data", "2. The data"),
    ("model", "3. The model"),
    ("baseline", "4. The baseline"),
    ("l2", "5. L2"),
    ("dropout", "6. Dropout"),
    ("uncertainty", "MC dropout"),
    ("beyond", "Beyond the article"),
    ("learned", "7. What we learned"),
)
KDE_LABELS = {"clip": "clip tall peaks", "log": "log axis"}


def problems(pre: Pretrained) -> None:
    """One error per damaged or missing file, naming it and the command that rebuilds it."""
    if not pre.problems:
        return
    first = pre.problems[:SHOWN_PROBLEMS]
    for problem in first:
        st.error(
            f"**{problem.path}**: {problem.reason}. Rebuild it with `{problem.command}`; "
            "the rest of the page works without it.",
            icon=":material/error:",
        )
    rest = pre.problems[SHOWN_PROBLEMS:]
    if rest:
        with st.expander(f"{len(rest)} more damaged or missing files"):
            for problem in rest:
                st.markdown(f"- **{problem.path}**: {problem.reason} (`{problem.command}`)")


def sidebar() -> None:
    with st.sidebar:
        st.markdown("**On this page**")
        st.markdown("\n".join(f"- [{title}](#{anchor})" for anchor, title in CONTENTS))
        st.radio(
            "Parameter densities",
            list(KDE_SCALES),
            format_func=KDE_LABELS.__getitem__,
            key=url.KEYS["kde"],
            on_change=url.write,
            help="Strong L2 or L1 squeezes the weights into a spike far taller than the rest. "
            "Clip it to read the broad shapes, or use a log axis to see every peak.",
        )
        st.caption("Every picker is stored in the address bar: copy the URL to share what you see.")
