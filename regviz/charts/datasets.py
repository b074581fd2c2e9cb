"""A cached spec's named datasets, filled per reader: Arrow only, no Altair.

Kept apart from the builders so that drawing a spec the page already holds (the first
screen comes ready-made, `regviz.readymade`) never imports Altair.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd


def arrow_table(frame: pd.DataFrame | pa.Table) -> pa.Table:
    """A table as the Arrow table Streamlit sends to the browser as binary."""
    if isinstance(frame, pa.Table):
        return frame
    return pa.Table.from_pandas(frame, preserve_index=False)


def with_datasets(
    spec: dict[str, Any], tables: dict[str, pd.DataFrame | pa.Table], title: str | None = None
) -> dict[str, Any]:
    """A copy of a `to_spec` dict with the named datasets (the focus layers) filled in.

    Shallow: the static datasets and layers are shared with `spec`, which stays unchanged.
    """
    out = dict(spec)
    out["datasets"] = {**spec.get("datasets", {})}
    out["datasets"].update({name: arrow_table(table) for name, table in tables.items()})
    if title is not None:
        heading = spec.get("title")
        out["title"] = {**heading, "text": title} if isinstance(heading, dict) else title
    return out
