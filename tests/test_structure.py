"""The house rules a newcomer relies on: small modules, Streamlit only in the UI, no cycles."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "regviz"
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path) -> set[str]:
    """Every module named by an import anywhere in the file, function bodies included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        targets = {n for n in _imports(path) if n in modules and n != name}
        # Importing a submodule loads its parent package first: not an edge of ours.
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    return graph


def test_no_module_of_the_package_is_over_400_lines():
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, long


def test_only_the_ui_imports_streamlit():
    offenders = [
        name
        for name, path in _modules().items()
        if not name.startswith("regviz.ui")
        and any(n == "streamlit" or n.startswith("streamlit.") for n in _imports(path))
    ]
    assert not offenders


def test_the_package_never_imports_the_measuring_tools():
    offenders = [
        name
        for name, path in _modules().items()
        if any(n.split(".")[0] == "benchmarks" or n.startswith("tests") for n in _imports(path))
    ]
    assert not offenders


def test_the_package_has_no_import_cycle():
    graph, state, cycles = _graph(), {}, []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert not cycles, [" -> ".join(cycle) for cycle in cycles]


def _shorthand_channels(path: Path) -> list[str]:
    """`.encode(x="x:Q")`, `tooltip=["a:N"]` and `alt.value(...)` arguments, by line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "encode"):
            continue
        for keyword in node.keywords:
            value = keyword.value
            items = value.elts if isinstance(value, ast.List) else [value]
            for item in items:
                is_text = isinstance(item, ast.Constant) and isinstance(item.value, str)
                is_value = isinstance(item, ast.Call) and ast.unparse(item.func) == "alt.value"
                if is_text or is_value:
                    found.append(f"{path.name}:{item.lineno} {keyword.arg}={ast.unparse(item)}")
    return found


def test_charts_encode_with_channel_objects_not_shorthand_strings():
    """Altair resolves a shorthand string or `alt.value` against its schema on every call
    (about 2 ms each, 5 ms for a tooltip list); `alt.X("x:Q")` costs 0.03 ms. The page
    builds its charts on the first run of every fresh server and live ones every second."""
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in _shorthand_channels(path)]
    assert found == []
