"""The page benchmark's same-content page: our first screen replayed by plain Streamlit calls.

The bare page (`benchmarks.page.BARE_APP`) has as many charts as ours but none of our
text, and each chart is one line. So "ours against bare" mixes two costs: what our
content costs any Streamlit page to draw, and what our code adds on top (widgets,
layout, the Python behind each element). This page separates them. It is written from
one AppTest run of our page: every heading, paragraph and caption, and every chart's
Vega-Lite spec with its Arrow datasets byte for byte, in page order, each drawn by one
plain `st.*` call; no widgets, columns, tabs or sidebar, and no regviz import. The
report then gives same-content/bare (what the content costs) beside ours/same-content
(what our code and widgets cost).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from tests.support import appserver

#: The replay script; it reads `content.json` and the Arrow files beside it.
SAME_CONTENT_APP = '''"""The page benchmark's same-content page: our text and charts, plain."""

import json
from pathlib import Path

import pyarrow as pa
import streamlit as st

HERE = Path(__file__).parent
HEADINGS = {"h1": st.title, "h2": st.header, "h3": st.subheader}

for item in json.loads((HERE / "content.json").read_text(encoding="utf-8")):
    if item["kind"] == "heading":
        HEADINGS.get(item["tag"], st.header)(item["body"])
    elif item["kind"] == "caption":
        st.caption(item["body"])
    elif item["kind"] == "markdown":
        st.markdown(item["body"])
    else:
        spec = json.loads(item["spec"])
        spec["datasets"] = {
            name: pa.ipc.open_stream((HERE / file).read_bytes()).read_all()
            for name, file in item["datasets"].items()
        }
        st.vega_lite_chart(spec, width="stretch", theme=None)
'''
APP_NAME = "same_content_app.py"


def capture(app: Path, timeout: float = 120) -> list[dict[str, Any]]:
    """Our page's first run as a list of headings, texts and charts, in page order.

    Only what a first script run draws in the main area (closed tabs and unpicked deep
    dives do not run); the sidebar (the contents list and the density pickers) is left
    out with the other widgets. A chart's item carries its spec (JSON text) and its
    datasets as Arrow IPC bytes.
    """
    from streamlit.proto.Markdown_pb2 import Markdown
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1.element_tree import Block

    with contextlib.chdir(app.parent):  # as `streamlit run` does, for relative paths
        at = AppTest.from_file(str(app), default_timeout=timeout).run()
    if at.exception:
        raise RuntimeError(f"the page raised on its first AppTest run: {at.exception[0].value}")
    items: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, Block):
            for index in sorted(node.children):
                walk(node.children[index])
            return
        proto = node.proto
        kind = type(proto).__name__
        if kind == "Heading":
            items.append({"kind": "heading", "tag": proto.tag, "body": proto.body})
        elif kind == "Markdown":
            caption = proto.element_type == Markdown.Type.CAPTION
            items.append({"kind": "caption" if caption else "markdown", "body": proto.body})
        elif kind in ("VegaLiteChart", "ArrowVegaLiteChart"):
            datasets = {entry.name: bytes(entry.data.data) for entry in proto.datasets}
            items.append({"kind": "chart", "spec": proto.spec, "datasets": datasets})

    walk(at.main)
    return items


def write_app(directory: Path, items: list[dict[str, Any]]) -> Path:
    """The same-content page in `directory`, with our `.streamlit/config.toml`."""
    directory.mkdir(parents=True, exist_ok=True)
    content = []
    for index, item in enumerate(items):
        if item["kind"] != "chart":
            content.append(item)
            continue
        files = {}
        for number, (name, data) in enumerate(item["datasets"].items()):
            file = f"chart{index}_{number}.arrow"
            (directory / file).write_bytes(data)
            files[name] = file
        content.append({"kind": "chart", "spec": item["spec"], "datasets": files})
    (directory / "content.json").write_text(json.dumps(content), encoding="utf-8")
    app = directory / APP_NAME
    app.write_text(SAME_CONTENT_APP, encoding="utf-8")
    appserver.use_our_config(directory)
    return app


def chart_count(items: list[dict[str, Any]]) -> int:
    return sum(item["kind"] == "chart" for item in items)
