"""What surrounds the sections: problems with the stored files, and the sidebar."""

from __future__ import annotations

import base64

import streamlit as st

from regviz.store import Pretrained
from regviz.ui import url
from regviz.urlstate import DENSITY_AXES, DENSITY_GROUPS, DENSITY_SCALES

SHOWN_PROBLEMS = 5
#: The tab's icon: a falling loss curve, inline. An emoji icon makes Streamlit load its
#: emoji table (0.2 s on every fresh server) and a Material icon is fetched from Google's
#: font server; a data URL costs neither.
PAGE_ICON = "data:image/svg+xml;base64," + base64.b64encode(
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    b'<rect width="32" height="32" rx="6" fill="#ffffff"/>'
    b'<path d="M4 6 C8 20 12 22 16 23 S24 25 28 25" fill="none" stroke="#1f6fb4" '
    b'stroke-width="3.5" stroke-linecap="round"/></svg>'
).decode("ascii")
CONTENTS = (
    ("why", "1. Why regularise"),
    ("data", "2. The data"),
    ("model", "3. The model"),
    ("baseline", "4. The baseline"),
    ("l2", "5. L2"),
    ("dropout", "6. Dropout"),
    ("uncertainty", "MC dropout"),
    ("small-data", "7. When it helps"),
    ("beyond", "Beyond the article"),
    ("learned", "8. What we learned"),
)
DENSITY_LABELS = {
    "weights": "weights",
    "biases": "biases",
    "value": "θ",
    "log10": "log10 |θ|",
    "linear": "linear",
    "log": "logarithmic",
}


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
        st.markdown("**Parameter densities**")
        for name, options, label, help_text in (
            (
                "params",
                DENSITY_GROUPS,
                "Parameters",
                "L2, L1 and weight decay act on the "
                "weights; the biases are left free, so they tell a different story.",
            ),
            (
                "theta",
                DENSITY_AXES,
                "Horizontal axis",
                "log10 |θ| spreads out values that "
                "span many orders of magnitude: it shows how far towards zero L2 pushes.",
            ),
            (
                "kde",
                DENSITY_SCALES,
                "Vertical axis",
                "Every setting of a sweep is smoothed "
                "with one bandwidth, so heights compare; a log axis shows the low tails too.",
            ),
        ):
            st.radio(
                label,
                list(options),
                format_func=DENSITY_LABELS.__getitem__,
                key=url.KEYS[name],
                on_change=url.write,
                horizontal=True,
                help=help_text,
            )
        st.caption("Every picker is stored in the address bar: copy the URL to share what you see.")
