"""Damaged `pretrained/` files are found, named, never trusted and never executed.

Every test works on a temporary copy of the shipped `pretrained/`. Damage to one
file must (a) make `store.verify` name that file and the command that rebuilds
it, (b) leave every other run loadable through `store.load_views`, (c) make
`load_pretrained` raise `CheckpointError` instead of returning wrong numbers, and
(d) never run code: a file swapped for a pickle whose unpickling would create a
marker file must leave no marker behind, even when the manifest's sha256 was
forged to match it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from regviz import store
from regviz.config import RunConfig
from regviz.registry import canonical_configs

ROOT = Path(__file__).resolve().parent.parent
RUN = "l2-0.01_p-0_s1"
RUN_CONFIG = RunConfig(l2=0.01, seed=1)
OTHER_RUN = "l2-0_p-0.3_s2"


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    """A private copy of the shipped checkpoints."""
    target = tmp_path / "pretrained"
    shutil.copytree(store.PRETRAINED_DIR, target)
    return target


def manifest_of(directory: Path) -> dict:
    return json.loads((directory / store.MANIFEST_NAME).read_text(encoding="utf-8"))


def write_manifest(directory: Path, manifest: dict) -> None:
    (directory / store.MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")


def run_file(directory: Path, run_id: str = RUN) -> Path:
    return directory / manifest_of(directory)["runs"][run_id]["file"]


def init_file(directory: Path, seed: int = 1) -> Path:
    return directory / manifest_of(directory)["inits"][str(seed)]["file"]


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "missing": lambda path: path.unlink(),
    "truncated": lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "empty": lambda path: path.write_bytes(b""),
    "flipped byte": flip_byte,
    "appended byte": lambda path: path.write_bytes(path.read_bytes() + b"\0"),
}


def test_the_intact_copy_verifies_and_loads_completely(copy: Path) -> None:
    assert store.verify(copy) == []
    loaded = store.load_views(copy)
    assert loaded.problems == []
    assert len(loaded.runs) == len(manifest_of(copy)["runs"]) == len(canonical_configs())
    assert loaded.data is not None
    assert sorted(loaded.inits) == [0, 1, 2]


# --- one damaged file -------------------------------------------------------------------


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_run_file_is_named_with_its_rebuild_command(copy: Path, damage: str) -> None:
    path = run_file(copy)
    DAMAGE[damage](path)

    (problem,) = store.verify(copy)
    assert problem.path == str(path)
    assert problem.command == f"python -m regviz pretrain --only {RUN}"
    assert ("missing" if damage == "missing" else "does not match") in problem.reason


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_the_other_runs_still_load_when_one_file_is_damaged(copy: Path, damage: str) -> None:
    DAMAGE[damage](run_file(copy))
    loaded = store.load_views(copy)
    assert RUN not in loaded.runs
    assert loaded.view(RUN_CONFIG) is None
    assert len(loaded.runs) == len(canonical_configs()) - 1
    assert [p.path for p in loaded.problems] == [str(run_file(copy))]
    assert loaded.data is not None and len(loaded.inits) == 3


@pytest.mark.parametrize("damage", ["missing", "flipped byte"])
def test_load_pretrained_refuses_a_damaged_run(copy: Path, damage: str) -> None:
    path = run_file(copy)
    DAMAGE[damage](path)
    with pytest.raises(store.CheckpointError) as error:
        store.load_pretrained(l2=0.01, seed=1, directory=copy)
    assert error.value.path == str(path)
    assert error.value.command == f"python -m regviz pretrain --only {RUN}"
    assert error.value.command in str(error.value)
    good = store.load_pretrained(dropout=0.3, seed=2, directory=copy)
    assert good.config.run_id == OTHER_RUN


def test_a_damaged_initialisation_is_named_and_blocks_only_its_seed(copy: Path) -> None:
    path = init_file(copy, seed=1)
    flip_byte(path)
    (problem,) = store.verify(copy)
    assert problem.path == str(path)
    assert problem.command == store.REPAIR
    loaded = store.load_views(copy)
    assert sorted(loaded.inits) == [0, 2]
    assert len(loaded.runs) == len(canonical_configs())
    with pytest.raises(store.CheckpointError):
        store.load_pretrained(l2=0.01, seed=1, directory=copy)


def test_a_damaged_data_file_is_named_and_the_runs_still_load(copy: Path) -> None:
    path = copy / manifest_of(copy)["data"]["file"]
    path.unlink()
    (problem,) = store.verify(copy)
    assert problem.path == str(path)
    loaded = store.load_views(copy)
    assert loaded.data is None
    assert len(loaded.runs) == len(canonical_configs())


def test_a_manifest_hash_that_does_not_match_its_file_is_named(copy: Path) -> None:
    manifest = manifest_of(copy)
    manifest["runs"][RUN]["sha256"] = hashlib.sha256(b"something else").hexdigest()
    write_manifest(copy, manifest)
    (problem,) = store.verify(copy)
    assert problem.path == str(run_file(copy))
    assert "does not match" in problem.reason
    with pytest.raises(store.CheckpointError):
        store.load_pretrained(l2=0.01, seed=1, directory=copy)


def test_several_bad_files_are_each_named(copy: Path) -> None:
    bad = [run_file(copy), run_file(copy, OTHER_RUN), init_file(copy, 0)]
    bad[0].unlink()
    flip_byte(bad[1])
    DAMAGE["truncated"](bad[2])
    assert sorted(p.path for p in store.verify(copy)) == sorted(map(str, bad))
    assert len(store.load_views(copy).problems) == 3


# --- the manifest itself ----------------------------------------------------------------

GARBLED_MANIFESTS: dict[str, bytes | None] = {
    "missing": None,
    "empty": b"",
    "not json": b"{runs: oops",
    "binary": bytes(range(256)),
    "a list": b"[1, 2, 3]",
    "wrong format": json.dumps({"format": 99, "runs": {}, "inits": {}, "data": {}}).encode(),
    "no runs section": json.dumps({"format": 1, "inits": {}, "data": {}}).encode(),
    "runs is a list": json.dumps({"format": 1, "runs": [], "inits": {}, "data": {}}).encode(),
}


@pytest.mark.parametrize("kind", GARBLED_MANIFESTS, ids=list(GARBLED_MANIFESTS))
def test_a_missing_or_garbled_manifest_is_named_with_the_full_rebuild(
    copy: Path, kind: str
) -> None:
    path = copy / store.MANIFEST_NAME
    content = GARBLED_MANIFESTS[kind]
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)

    (problem,) = store.verify(copy)
    assert problem.path == str(path)
    assert problem.command == store.REBUILD_ALL
    loaded = store.load_views(copy)
    assert loaded.runs == {} and len(loaded.problems) == 1
    with pytest.raises(store.CheckpointError) as error:
        store.load_pretrained(directory=copy)
    assert store.REBUILD_ALL in str(error.value)


@pytest.mark.parametrize("target", ["../outside.safetensors", "/etc/hostname"])
def test_a_manifest_entry_pointing_outside_the_directory_is_refused(
    copy: Path, target: str
) -> None:
    """A forged manifest must not make the loader read (or hash) arbitrary files."""
    outside = copy.parent / "outside.safetensors"
    shutil.copy(run_file(copy), outside)
    manifest = manifest_of(copy)
    manifest["runs"][RUN]["file"] = target
    if target.startswith(".."):
        manifest["runs"][RUN]["sha256"] = hashlib.sha256(outside.read_bytes()).hexdigest()
    write_manifest(copy, manifest)
    (problem,) = store.verify(copy)
    assert "outside" in problem.reason
    assert RUN not in store.load_views(copy).runs


@pytest.mark.parametrize(
    "config",
    [{"l2": -1.0}, {"l2": 0.01, "seed": 1, "momentum": 0.9}, "not a mapping"],
    ids=["invalid value", "unknown key", "not a mapping"],
)
def test_a_manifest_config_that_is_not_a_valid_run_is_listed_not_loaded(
    copy: Path, config: object
) -> None:
    manifest = manifest_of(copy)
    manifest["runs"][RUN]["config"] = config
    write_manifest(copy, manifest)
    loaded = store.load_views(copy)
    assert RUN not in loaded.runs
    (problem,) = loaded.problems
    assert RUN in problem.path and "inconsistent" in problem.reason
    assert len(loaded.runs) == len(canonical_configs()) - 1


def test_a_manifest_that_swaps_two_runs_is_caught(copy: Path) -> None:
    """Each run's entry stays self-consistent (file, sha256), but under the other's name."""
    manifest = manifest_of(copy)
    runs = manifest["runs"]
    runs[RUN], runs[OTHER_RUN] = runs[OTHER_RUN], runs[RUN]
    write_manifest(copy, manifest)
    loaded = store.load_views(copy)
    assert RUN not in loaded.runs
    assert len(loaded.problems) == 2


# --- files swapped for code -------------------------------------------------------------


class Payload:
    """Unpickling this calls open(marker, "w"), i.e. creates the marker file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def plain_pickle(marker: Path) -> bytes:
    import pickle

    return pickle.dumps(Payload(marker))


def torch_checkpoint(marker: Path) -> bytes:
    """A `torch.save` zip whose data.pkl would open the marker under weights_only=False."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save({"parameters": Payload(marker)}, buffer)
    return buffer.getvalue()


def assert_payload_is_live(payload: bytes, tmp_path: Path, marker: Path) -> None:
    """Proof, in a separate process, that unpickling this payload really creates the marker."""
    probe = tmp_path / "probe.pkl"
    probe.write_bytes(payload)
    loader = (
        "import sys, torch; torch.load(sys.argv[1], weights_only=False)"
        if payload[:2] == b"PK"
        else "import sys, pickle; pickle.load(open(sys.argv[1], 'rb'))"
    )
    subprocess.run([sys.executable, "-c", loader, str(probe)], check=True, timeout=120)
    assert marker.exists()
    marker.unlink()


@pytest.mark.parametrize("forge_hash", [False, True], ids=["hash left", "hash forged"])
@pytest.mark.parametrize("build", [plain_pickle, torch_checkpoint], ids=["pickle", "torch.save"])
def test_a_file_swapped_for_a_code_carrying_pickle_never_runs(
    copy: Path, tmp_path: Path, build: Callable[[Path], bytes], forge_hash: bool, cli
) -> None:
    marker = tmp_path / "marker-created-by-unpickling"
    payload = build(marker)
    assert_payload_is_live(payload, tmp_path, marker)

    targets = [run_file(copy), init_file(copy, seed=1)]
    manifest = manifest_of(copy)
    for path in targets:
        path.write_bytes(payload)
    if forge_hash:
        digest = hashlib.sha256(payload).hexdigest()
        manifest["runs"][RUN]["sha256"] = digest
        manifest["inits"]["1"]["sha256"] = digest
        write_manifest(copy, manifest)

    problems = store.verify(copy)
    assert sorted(p.path for p in problems) == sorted(map(str, targets))
    loaded = store.load_views(copy)
    assert RUN not in loaded.runs and 1 not in loaded.inits
    with pytest.raises(store.CheckpointError):
        store.load_pretrained(l2=0.01, seed=1, directory=copy)
    result = cli("verify", "--dir", str(copy))
    assert result.returncode == 1
    assert not marker.exists()


# --- the command line -------------------------------------------------------------------


def test_verify_command_names_each_bad_file_and_its_rebuild_command(copy: Path, cli) -> None:
    missing, flipped, init = run_file(copy), run_file(copy, OTHER_RUN), init_file(copy, 2)
    missing.unlink()
    flip_byte(flipped)
    DAMAGE["truncated"](init)

    result = cli("verify", "--dir", str(copy))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    for path in (missing, flipped, init):
        assert str(path) in result.stderr
    assert f"python -m regviz pretrain --only {RUN}" in result.stderr
    assert f"python -m regviz pretrain --only {OTHER_RUN}" in result.stderr
    assert store.REPAIR in result.stderr
    assert "3 bad file(s)" in result.stderr


def test_verify_command_names_a_missing_manifest(copy: Path, cli) -> None:
    (copy / store.MANIFEST_NAME).unlink()
    result = cli("verify", "--dir", str(copy))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert str(copy / store.MANIFEST_NAME) in result.stderr
    assert store.REBUILD_ALL in result.stderr


def test_verify_command_passes_on_the_intact_copy(copy: Path, cli) -> None:
    result = cli("verify", "--dir", str(copy))
    assert result.returncode == 0, result.stderr
    assert f"ok: {len(canonical_configs())} runs" in result.stdout
