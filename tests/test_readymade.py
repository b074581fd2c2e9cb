"""The ready-made first screen: what is shipped is current, the page draws the same with
and without it, and a damaged, stale or missing file only costs time.

Each page comparison runs Streamlit's AppTest twice in this process with empty caches:
once on the shipped `pretrained/`, once on a copy where the file is missing, damaged
or stale. Charts are compared by their Vega-Lite spec text and every dataset's Arrow
bytes, texts by their body (the page benchmark's `same_content.capture`).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import pkgutil
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import streamlit as st

import regviz.ui
from benchmarks import same_content
from regviz import readymade, store
from regviz.ui import densities, ready, resources

# Every section module, so that every ready-made builder is registered in ready.BUILDERS.
for _module in pkgutil.iter_modules(regviz.ui.__path__):
    importlib.import_module(f"regviz.ui.{_module.name}")

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "streamlit_app.py"


# --------------------------------------------------------------------------- codec


#: The shipped file was made on another machine than the one the tests may run on, and
#: another x86-64 CPU (AVX-512 against AVX2) may round numpy's exp or a sum differently in
#: the last bits: results compared against it agree to this relative tolerance (and
#: CROSS_CPU_ATOL for values near zero). What one machine computes twice must be identical.
CROSS_CPU_RTOL = 1e-6
CROSS_CPU_ATOL = 1e-9


def _same(left: Any, right: Any, rtol: float = 0.0) -> None:
    """Equal values, with tables and frames compared as such (dtypes, index, order);
    numbers within `rtol` (0: exactly)."""
    assert type(left) is type(right), (type(left), type(right))
    atol = CROSS_CPU_ATOL if rtol else 0.0
    if isinstance(left, pd.DataFrame):
        pd.testing.assert_frame_equal(left, right, check_exact=not rtol, rtol=rtol, atol=atol)
    elif isinstance(left, pa.Table):
        if not rtol:
            assert left.equals(right, check_metadata=True)
            return
        assert left.schema.equals(right.schema, check_metadata=True)
        for name in left.column_names:
            a, b = left.column(name), right.column(name)
            if pa.types.is_floating(a.type):
                np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=rtol, atol=atol)
            else:
                assert a.equals(b), name
    elif isinstance(left, np.ndarray):
        assert left.dtype == right.dtype and left.shape == right.shape
        if rtol and left.dtype.kind == "f":
            np.testing.assert_allclose(left, right, rtol=rtol, atol=atol)
        else:
            np.testing.assert_array_equal(left, right)
    elif isinstance(left, dict):
        assert list(left) == list(right)
        for key in left:
            _same(left[key], right[key], rtol)
    elif isinstance(left, list | tuple):
        assert len(left) == len(right)
        for a, b in zip(left, right, strict=True):
            _same(a, b, rtol)
    elif hasattr(left, "__dataclass_fields__"):
        for name in left.__dataclass_fields__:
            _same(getattr(left, name), getattr(right, name), rtol)
    elif isinstance(left, float) and math.isnan(left):
        assert math.isnan(right)
    elif isinstance(left, float) and rtol:
        assert math.isclose(left, right, rel_tol=rtol, abs_tol=atol), (left, right)
    else:
        assert left == right


def test_every_kind_of_value_a_builder_returns_survives_the_file() -> None:
    frame = pd.DataFrame(
        {
            "setting": pd.Categorical(["b", "a", "b"], categories=["a", "b"]),
            "x": np.array([1.0, 2.0, 3.0], dtype=np.float32),
            "n": [1, 2, 3],
            "label": ["one", "two", "three"],
        },
        index=[5, 5, 7],  # a concatenation's repeated index travels too
    )
    value = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "datasets": {"d1": pa.table({"x": [1, 2]})},
        "nested": [None, True, 3, -0.0, float("nan"), float("inf"), "text", (1, "two")],
        "frame": frame,
        "empty": frame.iloc[:0],
        "array": np.arange(6, dtype=np.float64).reshape(2, 3),
        "scalars": [np.float32(0.5), np.float64(np.nan), np.int64(3), np.bool_(True)],
        "options": densities.DensityOptions(group="biases", axis="log", scale="log"),
    }
    blobs: list[bytes] = []
    encoded = json.loads(json.dumps(readymade.encode(value, blobs)))
    back = readymade.decode(encoded, blobs)
    _same(back, value)


@pytest.mark.parametrize(
    "name",
    ["subprocess:Popen", "os:system", "builtins:dict", "regviz.store:load_views", "regviz:nothing"],
)
def test_decoding_builds_only_regviz_dataclasses(name: str) -> None:
    with pytest.raises(readymade.FormatError):
        readymade.decode({"$dataclass": name, "fields": {}}, [])


def test_values_the_file_cannot_hold_are_refused_when_written() -> None:
    with pytest.raises(readymade.FormatError):
        readymade.encode({1: "a key that is not text"}, [])
    with pytest.raises(readymade.FormatError):
        readymade.encode(object(), [])


# --------------------------------------------------------------------------- shipped file


def test_the_shipped_first_screen_is_current() -> None:
    assert readymade.status(store.PRETRAINED_DIR) == "current", (
        f"pretrained/{readymade.FILE_NAME} does not match the code and runs; "
        f"rewrite it with: {readymade.COMMAND}"
    )


def test_every_shipped_result_equals_a_fresh_build() -> None:
    """Within CROSS_CPU_RTOL: the file may have been made on another CPU than this one."""
    shelf = readymade.read(store.PRETRAINED_DIR)
    directory = str(store.PRETRAINED_DIR)  # (the imports above register every builder)
    entries = list(shelf.entries())
    assert len(entries) >= 10
    with _fresh_caches():
        for entry in entries:
            fresh = ready.BUILDERS[entry.builder](directory, *entry.args)
            _same(entry.value, fresh, rtol=CROSS_CPU_RTOL)


# --------------------------------------------------------------------------- the page


@contextlib.contextmanager
def _fresh_caches():
    st.cache_resource.clear()
    ready.forget()
    try:
        yield
    finally:
        st.cache_resource.clear()
        ready.forget()


def _first_screen(directory: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list, dict]:
    """The page's first run on `directory`: its texts and charts (the page benchmark's
    capture: chart specs with every dataset's bytes), and how many builders ran."""
    monkeypatch.setenv(resources.DIR_ENV, str(directory))
    with _fresh_caches():
        items = same_content.capture(APP, timeout=180)
        counts = dict(ready.counts)
    return items, counts


@pytest.fixture(scope="module")
def shipped_page() -> tuple[list, dict]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        return _first_screen(store.PRETRAINED_DIR, monkeypatch)


@pytest.fixture(scope="module")
def built_page(tmp_path_factory: pytest.TempPathFactory) -> list:
    """The first screen as this machine builds it, with no ready-made file: the reference
    for every byte-for-byte comparison (the shipped file may come from another CPU)."""
    target = tmp_path_factory.mktemp("built") / "pretrained"
    shutil.copytree(store.PRETRAINED_DIR, target)
    (target / readymade.FILE_NAME).unlink()
    with pytest.MonkeyPatch.context() as monkeypatch:
        items, counts = _first_screen(target, monkeypatch)
    assert counts["ready"] == 0 and counts["built"] >= 10
    return items


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "pretrained"
    shutil.copytree(store.PRETRAINED_DIR, target)
    return target


def test_a_fresh_server_builds_nothing_of_the_first_screen(shipped_page) -> None:
    items, counts = shipped_page
    assert counts["built"] == 0, counts
    assert counts["ready"] >= 10
    assert same_content.chart_count(items) >= 10


def test_the_page_draws_the_same_from_the_file_as_without_it(built_page, copy, monkeypatch):
    ready.write(copy)  # made on this machine, so the page must match byte for byte
    items, counts = _first_screen(copy, monkeypatch)
    assert counts["built"] == 0 and counts["ready"] >= 10
    assert items == built_page


def test_a_damaged_file_is_ignored(built_page, copy, monkeypatch) -> None:
    (copy / readymade.FILE_NAME).write_bytes(b"PK\x03\x04 not really a zip")
    assert readymade.status(copy).startswith("unusable")
    items, counts = _first_screen(copy, monkeypatch)
    assert counts["ready"] == 0
    assert items == built_page


def test_a_damaged_run_is_never_answered_from_the_file(built_page, copy, monkeypatch) -> None:
    """The file matches the manifest, but a run it was made from no longer passes its check:
    the page must say so (and draw what is left), not show the file's charts."""
    run = copy / store.read_manifest(copy)["runs"]["l2-0.01_p-0_s0"]["file"]
    run.write_bytes(run.read_bytes()[:-64])
    items, counts = _first_screen(copy, monkeypatch)
    assert counts["ready"] == 0
    assert items != built_page


def test_the_file_is_written_only_from_intact_runs(copy) -> None:
    (copy / store.read_manifest(copy)["data"]["file"]).unlink()
    with pytest.raises(RuntimeError, match="fail their check"):
        ready.write(copy)


def test_a_file_made_from_other_runs_is_ignored(copy) -> None:
    path = copy / readymade.FILE_NAME
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    index = json.loads(members[readymade.INDEX_NAME])
    index["fingerprint"] = "0" * 64
    members[readymade.INDEX_NAME] = json.dumps(index).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    status = readymade.status(copy)
    assert status.startswith("unusable") and readymade.COMMAND in status


def test_the_fingerprint_follows_the_runs_and_the_code(copy, tmp_path) -> None:
    before = readymade.fingerprint(copy)
    manifest = copy / "manifest.json"
    manifest.write_bytes(manifest.read_bytes() + b"\n")
    assert readymade.fingerprint(copy) != before
    package = tmp_path / "package"
    shutil.copytree(readymade.PACKAGE_DIR, package)
    code_before = readymade.fingerprint(copy, package)
    (package / "charts" / "base.py").write_text("# changed\n", encoding="utf-8")
    assert readymade.fingerprint(copy, package) != code_before


def test_the_cli_rewrites_a_stale_file_and_verify_reports_it(copy, cli) -> None:
    (copy / readymade.FILE_NAME).unlink()
    result = cli("verify", "--dir", str(copy))
    assert result.returncode == 0
    assert "first screen: missing" in result.stdout
    result = cli("first-screen", "--dir", str(copy))
    assert result.returncode == 0, result.stderr
    assert readymade.status(copy) == "current"
    assert "first screen: current" in cli("verify", "--dir", str(copy)).stdout
