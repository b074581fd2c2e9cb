"""No code path can unpickle: a loaded file must never be able to run code.

Scans every Python file of the repository (package, page, tests, scripts) with
`ast`, so comments and strings do not count and aliases (`import pickle as p`,
`from torch import load`) do. Flagged:

* `pickle.load` / `pickle.loads` / `pickle.Unpickler` (and the same from `_pickle`,
  `dill`, `cloudpickle`, `joblib`), `pandas.read_pickle`;
* `torch.load` without a literal `weights_only=True`;
* `numpy.load` with `allow_pickle` set to anything but a literal False.

The detector is checked on known-bad and known-safe snippets first, so the scan
cannot pass by finding nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".git", ".venv", "venv", "env", "node_modules", "build", "dist", "__pycache__"}
PICKLERS = {"pickle", "_pickle", "cPickle", "dill", "cloudpickle", "joblib"}
PICKLE_CALLS = {"load", "loads", "Unpickler"}


def _literal(node: ast.expr | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _has_star_kwargs(call: ast.Call) -> bool:
    return any(keyword.arg is None for keyword in call.keywords)


class Scanner(ast.NodeVisitor):
    """Resolves imported names to dotted origins and checks each call against the rules."""

    def __init__(self) -> None:
        self.origin: dict[str, str] = {}
        self.findings: list[tuple[int, str]] = []

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            bound = alias.asname or alias.name.split(".")[0]
            self.origin[bound] = alias.name if alias.asname else alias.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module:
            for alias in node.names:
                self.origin[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def _dotted(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.origin.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self._dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def visit_Call(self, node: ast.Call) -> None:
        name = self._dotted(node.func)
        if name:
            module, _, function = name.rpartition(".")
            root = module.split(".")[0]
            if (root in PICKLERS and function in PICKLE_CALLS) or name == "pandas.read_pickle":
                self.findings.append((node.lineno, f"{name}: unpickles arbitrary objects"))
            elif name == "torch.load" and (
                not _literal(_keyword(node, "weights_only"), True) or _has_star_kwargs(node)
            ):
                self.findings.append((node.lineno, "torch.load without weights_only=True"))
            elif name == "numpy.load" and (
                (
                    _keyword(node, "allow_pickle") is not None
                    and not _literal(_keyword(node, "allow_pickle"), False)
                )
                or _has_star_kwargs(node)
                or len(node.args) > 2  # allow_pickle passed by position
            ):
                self.findings.append((node.lineno, "numpy.load with allow_pickle"))
        self.generic_visit(node)


def unsafe_calls(source: str) -> list[tuple[int, str]]:
    scanner = Scanner()
    scanner.visit(ast.parse(source))
    return scanner.findings


def python_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if any(part in SKIP_DIRS or part.startswith(".") for part in parts[:-1]):
            continue
        files.append(path)
    return sorted(files)


BAD = {
    "pickle.load": "import pickle\npickle.load(open('f', 'rb'))",
    "pickle.loads alias": "import pickle as p\np.loads(b'')",
    "from pickle": "from pickle import loads\nloads(b'')",
    "from pickle alias": "from pickle import load as read\nread(f)",
    "Unpickler": "import pickle\npickle.Unpickler(f).load()",
    "_pickle": "import _pickle\n_pickle.loads(b'')",
    "joblib": "import joblib\njoblib.load('model.joblib')",
    "pandas": "import pandas as pd\npd.read_pickle('x.pkl')",
    "torch.load bare": "import torch\ntorch.load('w.pt')",
    "torch.load False": "import torch\ntorch.load('w.pt', weights_only=False)",
    "torch.load variable": "import torch\ntorch.load('w.pt', weights_only=flag)",
    "torch.load kwargs": "import torch\ntorch.load('w.pt', **options)",
    "from torch": "from torch import load\nload('w.pt')",
    "torch alias": "import torch as T\nT.load('w.pt')",
    "np.load pickle": "import numpy as np\nnp.load('a.npy', allow_pickle=True)",
    "np.load variable": "import numpy as np\nnp.load('a.npy', allow_pickle=yes)",
    "np.load positional": "import numpy as np\nnp.load('a.npy', None, True)",
    "from numpy": "from numpy import load\nload('a.npz', allow_pickle=True)",
}
SAFE = {
    "pickle.dumps": "import pickle\npickle.dumps(obj)",
    "torch.load safe": "import torch\ntorch.load('w.pt', weights_only=True, map_location='cpu')",
    "np.load plain": "import numpy as np\nnp.load('a.npy')",
    "np.load explicit": "import numpy as np\nnp.load('a.npz', allow_pickle=False)",
    "safetensors": "from safetensors.numpy import load\nload(data)",
    "json": "import json\njson.loads('{}')",
    "a string": "text = 'pickle.loads(data) and torch.load(path)'",
    "own load": "def load(path):\n    return path\nload('x')",
}


@pytest.mark.parametrize("name", BAD)
def test_the_detector_flags_each_unsafe_spelling(name: str) -> None:
    assert unsafe_calls(BAD[name]), BAD[name]


@pytest.mark.parametrize("name", SAFE)
def test_the_detector_leaves_safe_loading_alone(name: str) -> None:
    assert unsafe_calls(SAFE[name]) == [], SAFE[name]


def test_the_scan_covers_the_package_and_the_tests() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in python_files()}
    assert {"regviz/store.py", "regviz/train.py", "tests/test_no_unsafe_loading.py"} <= names


def test_no_python_file_in_the_repository_can_unpickle() -> None:
    findings = []
    for path in python_files():
        source = path.read_text(encoding="utf-8")
        for line, what in unsafe_calls(source):
            findings.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert findings == []
