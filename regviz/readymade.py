"""The first screen's tables and chart specs, built once beside the stored runs.

A fresh server's first reader used to wait for the page to build every chart of the
first screen from the stored runs (about 1.5 s of the first script run on a 2-core
host). Those results depend only on the stored runs, the code and a few library
versions, so `python -m regviz first-screen` (and `pretrain`) writes them into
`pretrained/first_screen.zip`; the page reads them instead of building, and builds
as before whenever the file is missing, damaged or made by other code or runs.

Safety: the file holds JSON and Arrow IPC streams only. Decoding rebuilds dataclasses
of `regviz` modules by name and nothing else; nothing in the file can run code.

Staleness: the file carries a fingerprint of the manifest, every `regviz` source file
and the versions of the libraries that shape a table or a spec. A different
fingerprint makes the page ignore the file; a test fails until it is rewritten.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

FILE_NAME = "first_screen.zip"
INDEX_NAME = "index.json"
FORMAT_VERSION = 1
COMMAND = "python -m regviz first-screen"
#: Libraries whose version can change a table's dtypes or a chart's spec.
LIBRARIES = ("altair", "numpy", "pandas", "pyarrow")
PACKAGE_DIR = Path(__file__).resolve().parent


class FormatError(ValueError):
    """A value the ready-made file cannot hold, or a file entry it refuses to decode."""


# --------------------------------------------------------------------------- fingerprint


def fingerprint(directory: Path | str, package: Path = PACKAGE_DIR) -> str:
    """What the stored results depend on: the runs' manifest, our code, library versions."""
    digest = hashlib.sha256(f"format {FORMAT_VERSION}\n".encode())
    digest.update((Path(directory) / "manifest.json").read_bytes())
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    for name in LIBRARIES:
        digest.update(f"{name} {metadata.version(name)}\n".encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------- codec


def encode(value: Any, blobs: list[bytes]) -> Any:
    """`value` as JSON-ready data; tables go into `blobs` as Arrow IPC streams."""
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":  # before float: a subclass
        return {"$scalar": encode(value.item(), blobs), "dtype": value.dtype.str}
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return value if not isinstance(value, float) else _float(value)
    if isinstance(value, list):
        return [encode(item, blobs) for item in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode(item, blobs) for item in value]}
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise FormatError(f"dict keys must be text: {list(value)[:3]}")
        encoded = {key: encode(item, blobs) for key, item in value.items()}
        # Vega-Lite's "$schema" must not read as one of our markers.
        return {"$dict": encoded} if any(key.startswith("$") for key in value) else encoded
    if isinstance(value, pa.Table):
        return {"$arrow": _blob(value, blobs)}
    if _is_frame(value):  # the index travels too (a RangeIndex as metadata only)
        return {"$frame": _blob(pa.Table.from_pandas(value), blobs), **_categories(value, blobs)}
    if isinstance(value, np.ndarray):
        return {"$array": _blob(pa.table({"a": value.reshape(-1)}), blobs), "shape": value.shape}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        fields = {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
        return {
            "$dataclass": f"{cls.__module__}:{cls.__qualname__}",
            "fields": encode(fields, blobs),
        }
    raise FormatError(f"cannot store a {type(value).__name__}")


def decode(data: Any, blobs: Sequence[bytes]) -> Any:
    """The inverse of `encode`; refuses any class outside `regviz`."""
    if isinstance(data, list):
        return [decode(item, blobs) for item in data]
    if isinstance(data, float | str | int | bool) or data is None:
        return data
    if not isinstance(data, dict):
        raise FormatError(f"unexpected {type(data).__name__} in the file")
    if "$dict" in data:
        return {key: decode(item, blobs) for key, item in data["$dict"].items()}
    if "$tuple" in data:
        return tuple(decode(item, blobs) for item in data["$tuple"])
    if "$scalar" in data:
        return np.dtype(data["dtype"]).type(decode(data["$scalar"], blobs))
    if "$float" in data:
        return float(data["$float"])
    if "$arrow" in data:
        return _table(blobs, data["$arrow"])
    if "$frame" in data:
        frame = _table(blobs, data["$frame"]).to_pandas()
        for column, (index, ordered) in data.get("categories", {}).items():
            categories = _table(blobs, index).column("categories").to_pandas()
            frame[column] = _empty_categorical(categories, ordered)
        return frame
    if "$array" in data:
        column = _table(blobs, data["$array"]).column("a").to_numpy()
        return column.reshape(tuple(data["shape"]))
    if "$dataclass" in data:
        cls = _dataclass(data["$dataclass"])
        return cls(**decode(data["fields"], blobs))
    return {key: decode(item, blobs) for key, item in data.items()}


def key_of(builder: str, args: Sequence[Any]) -> str:
    """One text per (builder, arguments): how an entry is found again."""
    blobs: list[bytes] = []
    encoded = encode(list(args), blobs)
    if blobs:
        raise FormatError(f"{builder}: arguments must be plain values")
    return builder + json.dumps(encoded, sort_keys=True, separators=(",", ":"))


def _float(value: float) -> Any:
    """Floats as JSON numbers; nan and ±inf (not JSON) as text."""
    return value if np.isfinite(value) else {"$float": repr(float(value))}


def _categories(frame: Any, blobs: list[bytes]) -> dict[str, Any]:
    """Arrow keeps no categories for an empty column: an empty frame stores them beside."""
    if len(frame):
        return {}
    stored = {}
    for column in frame.columns:
        dtype = frame[column].dtype
        if getattr(dtype, "name", "") == "category":
            table = pa.table({"categories": pa.array(dtype.categories.to_numpy())})
            stored[str(column)] = [_blob(table, blobs), bool(dtype.ordered)]
    return {"categories": stored} if stored else {}


def _empty_categorical(categories: Any, ordered: bool) -> Any:
    import pandas as pd  # only here: decoding needs no pandas unless a frame is stored

    return pd.Categorical([], categories=pd.Index(categories).rename(None), ordered=ordered)


def _is_frame(value: Any) -> bool:
    module = type(value).__module__
    return module.split(".")[0] == "pandas" and type(value).__name__ == "DataFrame"


def _blob(table: pa.Table, blobs: list[bytes]) -> int:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    blobs.append(sink.getvalue().to_pybytes())
    return len(blobs) - 1


def _table(blobs: Sequence[bytes], index: int) -> pa.Table:
    if not isinstance(index, int) or not 0 <= index < len(blobs):
        raise FormatError(f"no table {index!r} in the file")
    return pa.ipc.open_stream(blobs[index]).read_all()


def _dataclass(name: str) -> type:
    module_name, _, qualname = name.partition(":")
    if module_name != "regviz" and not module_name.startswith("regviz."):
        raise FormatError(f"refusing to build {name}: only regviz dataclasses are stored")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    if not (isinstance(target, type) and dataclasses.is_dataclass(target)):
        raise FormatError(f"{name} is not a regviz dataclass")
    return target


# --------------------------------------------------------------------------- the file


@dataclasses.dataclass(frozen=True)
class Entry:
    builder: str
    args: tuple
    value: Any


def write(directory: Path | str, entries: Iterable[Entry]) -> Path:
    """Write `directory/first_screen.zip` in one `os.replace` (a reader never sees half)."""
    directory = Path(directory)
    blobs: list[bytes] = []
    index = {"format": FORMAT_VERSION, "fingerprint": fingerprint(directory), "entries": []}
    for entry in entries:
        index["entries"].append(
            {
                "builder": entry.builder,
                "args": encode(list(entry.args), blobs),
                "value": encode(entry.value, blobs),
            }
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr(INDEX_NAME, json.dumps(index))  # key order is data: datasets, columns
        for number, blob in enumerate(blobs):
            zf.writestr(f"{number}.arrow", blob)
    path = directory / FILE_NAME
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".first_screen.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(buffer.getvalue())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


class Shelf:
    """The entries of one ready-made file; a value is decoded only when asked for."""

    def __init__(self, entries: Sequence[Mapping[str, Any]], blobs: Sequence[bytes]):
        self._blobs = blobs
        self._entries = {}
        for entry in entries:
            args = tuple(decode(entry["args"], blobs))
            self._entries[key_of(entry["builder"], args)] = (entry["builder"], args, entry["value"])

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, builder: str, args: Sequence[Any]) -> tuple[bool, Any]:
        """(True, value) when the file holds this call's result, else (False, None)."""
        found = self._entries.get(key_of(builder, args))
        if found is None:
            return False, None
        return True, decode(found[2], self._blobs)

    def entries(self) -> Iterator[Entry]:
        """Every stored call with its decoded result."""
        for builder, args, value in self._entries.values():
            yield Entry(builder, args, decode(value, self._blobs))


def status(directory: Path | str) -> str:
    """'current', 'missing' or 'unusable (why)': stale or damaged; the page then builds."""
    try:
        read(directory)
    except FileNotFoundError:
        return "missing"
    except Exception as error:  # stale, or damaged in any way a file can be
        return f"unusable ({error})"
    return "current"


def read(directory: Path | str) -> Shelf:
    """The ready-made results of `directory`; raises when missing, damaged or stale."""
    path = Path(directory) / FILE_NAME
    with zipfile.ZipFile(path) as zf:
        index = json.loads(zf.read(INDEX_NAME))
        if index.get("format") != FORMAT_VERSION:
            raise FormatError(f"{path}: format {index.get('format')!r}, expected {FORMAT_VERSION}")
        if index.get("fingerprint") != fingerprint(directory):
            raise FormatError(
                f"{path} was made from other runs, code or library versions; "
                f"rewrite it with: {COMMAND}"
            )
        names = sorted(
            (name for name in zf.namelist() if name.endswith(".arrow")),
            key=lambda name: int(name.split(".")[0]),
        )
        blobs = [zf.read(name) for name in names]
    return Shelf(index["entries"], blobs)
