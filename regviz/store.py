"""`pretrained/` on disk: content-checked safetensors files and the manifest that names them.

Safety: files are safetensors (a JSON header and raw arrays; nothing in them can
run code), and every file's sha256 is checked against the manifest before it is
parsed. A bad file is reported with its path and the command that rebuilds it;
the other files keep working.

Atomicity: a file's name carries the start of its hash, so new files never
overwrite the ones the current manifest names. The manifest is replaced in one
`os.replace` at the very end, and only then are unreferenced files removed. A
pretrain killed at any point leaves the previous set intact and loadable.

Reading needs numpy and safetensors only, not torch (`load_pretrained` is the
exception: it returns a torch model).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from regviz.config import RunConfig
from regviz.views import RunView

if TYPE_CHECKING:
    from regviz.train import TrainedRun

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 2
REBUILD_ALL = "python -m regviz pretrain"
REPAIR = "python -m regviz pretrain --repair"


class CheckpointError(RuntimeError):
    """A pretrained file that is missing, altered or unreadable."""

    def __init__(self, path: str, reason: str, command: str = REPAIR):
        self.path, self.reason, self.command = path, reason, command
        super().__init__(f"{path}: {reason}. Rebuild it with: {command}")


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str
    command: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason} (rebuild: {self.command})"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rebuild_command(run_id: str | None) -> str:
    return f"python -m regviz pretrain --only {run_id}" if run_id else REPAIR


def read_manifest(directory: Path | str = PRETRAINED_DIR) -> dict[str, Any]:
    path = Path(directory) / MANIFEST_NAME
    label = _label(path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(label, "missing", REBUILD_ALL) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(label, f"unreadable ({error})", REBUILD_ALL) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise CheckpointError(label, f"not a format-{FORMAT_VERSION} manifest", REBUILD_ALL)
    for key in ("runs", "inits", "data"):
        if not isinstance(manifest.get(key), dict):
            raise CheckpointError(label, f"has no valid '{key}' section", REBUILD_ALL)
    return manifest


def _label(path: Path) -> str:
    """A path as a reader would type it: relative to the project when inside it."""
    try:
        return str(path.resolve().relative_to(PRETRAINED_DIR.parent))
    except ValueError:
        return str(path)


def read_checked(
    directory: Path | str, entry: dict[str, Any], run_id: str | None = None
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The arrays and metadata of one manifest entry, after its sha256 matched."""
    command = rebuild_command(run_id)
    relative = entry.get("file")
    expected = entry.get("sha256")
    if not isinstance(relative, str) or not isinstance(expected, str):
        raise CheckpointError(
            f"pretrained/{MANIFEST_NAME}", "entry without file or sha256", REBUILD_ALL
        )
    path = Path(directory) / relative
    if Path(relative).is_absolute() or ".." in Path(relative).parts:
        raise CheckpointError(_label(path), "points outside pretrained/", REBUILD_ALL)
    label = _label(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(label, "missing", command) from None
    except OSError as error:
        raise CheckpointError(label, f"unreadable ({error.strerror})", command) from None
    actual = sha256_bytes(data)
    if actual != expected:
        raise CheckpointError(
            label, f"sha256 {actual[:12]}… does not match the manifest's {expected[:12]}…", command
        )
    try:
        arrays = load_safetensors(data)
        metadata = _metadata(data)
    except Exception as error:  # safetensors raises its own error types
        raise CheckpointError(
            label, f"not a readable safetensors file ({error})", command
        ) from None
    return arrays, metadata


def _metadata(data: bytes) -> dict[str, str]:
    header_size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_size])
    return header.get("__metadata__", {}) or {}


def _entries(manifest: dict[str, Any]) -> Iterable[tuple[dict[str, Any], str | None]]:
    yield manifest["data"], None
    for entry in manifest["inits"].values():
        yield entry, None
    for run_id, entry in manifest["runs"].items():
        yield entry, run_id


def verify(directory: Path | str = PRETRAINED_DIR) -> list[Problem]:
    """Every problem with `pretrained/`, one per bad file; empty when all is well."""
    try:
        manifest = read_manifest(directory)
    except CheckpointError as error:
        return [Problem(error.path, error.reason, error.command)]
    problems = []
    for entry, run_id in _entries(manifest):
        try:
            read_checked(directory, entry, run_id)
        except CheckpointError as error:
            problems.append(Problem(error.path, error.reason, error.command))
    return problems


def read_run(
    directory: Path | str, run_id: str, entry: dict[str, Any]
) -> tuple[RunConfig, dict[str, np.ndarray]]:
    """A run's config and arrays, after checking the file, its hash and that all three agree.

    The manifest key, the manifest's config and the config stored inside the file
    must name the same run; otherwise a swapped or hand-edited manifest would show
    one run's numbers under another's name.
    """
    arrays, metadata = read_checked(directory, entry, run_id)
    config = RunConfig.from_dict(entry["config"])
    if config.run_id != run_id:
        raise ValueError(f"the manifest files run {config.run_id} under {run_id}")
    stored = metadata.get("config")
    if stored is None or RunConfig.from_dict(json.loads(stored)) != config:
        raise ValueError(f"the file does not hold run {run_id}")
    return config, arrays


def ensure_writable(directory: Path | str) -> None:
    """Fail now, with the OS's reason, rather than after minutes of training."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    handle, probe = tempfile.mkstemp(dir=directory, prefix=".write-probe.", suffix=".tmp")
    os.close(handle)
    Path(probe).unlink()


@dataclass
class Pretrained:
    """Everything the page reads from `pretrained/`, with the problems met on the way."""

    manifest: dict[str, Any]
    runs: dict[str, RunView] = field(default_factory=dict)
    inits: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    data: dict[str, np.ndarray] | None = None
    problems: list[Problem] = field(default_factory=list)

    def view(self, config: RunConfig) -> RunView | None:
        return self.runs.get(config.run_id)


def load_views(directory: Path | str = PRETRAINED_DIR) -> Pretrained:
    """Read every file the manifest names; a bad file becomes a `Problem`, not an exception."""
    try:
        manifest = read_manifest(directory)
    except CheckpointError as error:
        return Pretrained(manifest={}, problems=[Problem(error.path, error.reason, error.command)])
    result = Pretrained(manifest=manifest)
    try:
        result.data, _ = read_checked(directory, manifest["data"])
    except CheckpointError as error:
        result.problems.append(Problem(error.path, error.reason, error.command))
    for seed, entry in manifest["inits"].items():
        try:
            result.inits[int(seed)], _ = read_checked(directory, entry)
        except CheckpointError as error:
            result.problems.append(Problem(error.path, error.reason, error.command))
    for run_id, entry in manifest["runs"].items():
        try:
            config, arrays = read_run(directory, run_id, entry)
            result.runs[run_id] = RunView.from_arrays(config, entry["metrics"], arrays)
        except CheckpointError as error:
            result.problems.append(Problem(error.path, error.reason, error.command))
        except (KeyError, TypeError, ValueError) as error:
            label = f"pretrained/{entry.get('file', run_id)}"
            result.problems.append(
                Problem(label, f"inconsistent with the manifest ({error})", rebuild_command(run_id))
            )
    return result


def load_pretrained(
    l2: float = 0.0,
    dropout: float = 0.0,
    seed: int = 0,
    *,
    directory: Path | str = PRETRAINED_DIR,
    **settings: Any,
) -> TrainedRun:
    """A shipped run as a `TrainedRun`, checked against the manifest first.

    `settings` are any other `RunConfig` fields of a stored sweep, for example
    `l1=1e-3`, `weight_decay=1.0`, `optimizer="sgd", lr=0.01, momentum=0.9` or
    `l2_biases=True`. Runs of the small-data sweeps store densities, not weights:
    asking for one raises a `LookupError` that says how to train it instead.
    """
    from regviz.model import vector_to_model
    from regviz.train import History, TrainedRun

    config = RunConfig(l2=l2, dropout=dropout, seed=seed, **settings)
    manifest = read_manifest(directory)
    entry = manifest["runs"].get(config.run_id)
    if entry is None:
        known = ", ".join(sorted(manifest["runs"]))
        raise LookupError(f"no pretrained run {config.run_id}; shipped runs: {known}")
    try:
        _, arrays = read_run(directory, config.run_id, entry)
    except (KeyError, TypeError, ValueError) as error:
        label = f"pretrained/{entry.get('file', config.run_id)}"
        raise CheckpointError(
            label, f"inconsistent with the manifest ({error})", rebuild_command(config.run_id)
        ) from None
    if "parameters" not in arrays:
        raise LookupError(
            f"run {config.run_id} is stored as densities only (a small-data sweep); "
            "train it with regviz.fit(regviz.RunConfig(...)) to get its weights"
        )
    init_entry = manifest["inits"].get(str(seed))
    if init_entry is None:
        raise CheckpointError(
            f"pretrained/{MANIFEST_NAME}", f"no initial weights for seed {seed}", REBUILD_ALL
        )
    init_arrays, _ = read_checked(directory, init_entry)
    view = RunView.from_arrays(config, entry["metrics"], arrays)
    history = History(
        tuple(float(v) for v in view.train_loss),
        tuple(float(v) for v in view.val_loss),
        tuple(int(e) for e in view.epochs) if view.epochs is not None else (),
    )
    return TrainedRun(
        config=RunConfig.from_dict(entry["config"]),
        model=vector_to_model(arrays["parameters"], config.dropout),
        history=history,
        initial_parameters=init_arrays["parameters"].astype(np.float32),
        device=manifest.get("device", "cpu"),
        initial_draws=int(entry["metrics"].get("initial_draws", 1)),
        norms=view.norms,
    )


# --- writing -----------------------------------------------------------------


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_arrays(
    directory: Path,
    stem: str,
    arrays: dict[str, np.ndarray],
    metadata: dict[str, str] | None = None,
) -> dict[str, str]:
    """Write one content-addressed file; returns its manifest entry."""
    data = save_safetensors(
        {k: np.ascontiguousarray(v) for k, v in arrays.items()}, metadata=metadata
    )
    digest = sha256_bytes(data)
    relative = f"{stem}.{digest[:12]}.safetensors"
    target = directory / relative
    if not (target.exists() and sha256_bytes(target.read_bytes()) == digest):
        _atomic_write(target, data)
    return {"file": relative, "sha256": digest}


def run_entry(directory: Path, view: RunView) -> dict[str, Any]:
    entry = write_arrays(
        directory,
        f"runs/{view.config.run_id}",
        view.arrays(),
        metadata={"config": json.dumps(view.config.to_dict())},
    )
    return {"config": view.config.to_dict(), **entry, "metrics": view.metrics}


def commit_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Make `manifest` current in one step, then delete files no manifest names any more."""
    text = json.dumps(manifest, indent=1, sort_keys=True, allow_nan=False) + "\n"
    _atomic_write(directory / MANIFEST_NAME, text.encode("utf-8"))
    referenced = {entry["file"] for entry, _ in _entries(manifest)}
    for path in directory.rglob("*.safetensors"):
        if path.relative_to(directory).as_posix() not in referenced:
            path.unlink(missing_ok=True)
    for path in directory.rglob(".*.tmp"):
        path.unlink(missing_ok=True)
