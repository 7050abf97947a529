"""The import rules between nutwist's layers (the README's "Architecture" section).

Every module's imports are read with :mod:`ast`, at module level and inside
functions alike (an import in a function is a dependency all the same).  Imports
under ``if TYPE_CHECKING:`` count for the layer rules (a type from a higher layer
is a dependency on it too) but not for cycles (they never run).  The rules:

- ``nutwist/protocols/`` imports nothing from ``services/``, ``monitor/``, ``cli/``,
  ``drivers/`` or the twistd plugins (``tap``, ``monitor_tap``);
- nothing outside ``nutwist/cli/`` imports ``nutwist/cli/``;
- the process leaf (``process``, ``privs``) imports nothing of nutwist's but itself;
- there are no import cycles among nutwist's modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nutwist"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(
    tree: ast.AST, here: str, is_package: bool, known: set[str], typing_too: bool
) -> set[str]:
    """The nutwist modules ``here`` imports; under ``if TYPE_CHECKING`` with ``typing_too``."""
    found: set[str] = set()

    def resolve(name: str) -> str | None:
        # the longest known module that ``name`` is or lies in
        while name:
            if name in known:
                return name
            name = name.rpartition(".")[0]
        return None

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test) and not typing_too:
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = resolve(alias.name)
                if target:
                    found.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_package else here.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            for alias in node.names:
                # ``from pkg import mod`` imports the module pkg.mod when there is one
                target = resolve(f"{module}.{alias.name}") or resolve(module)
                if target:
                    found.add(target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(here)
    return found


def import_graph(typing_too: bool) -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(), str(path))
        found = _imports(tree, name, path.name == "__init__.py", known, typing_too)
        graph[name] = {m for m in found if m != "nutwist"}
    return graph


#: what runs (for cycles), and what is named at all (for the layer rules)
RUNTIME = import_graph(typing_too=False)
GRAPH = import_graph(typing_too=True)


def in_layer(module: str, layer: str) -> bool:
    return module == layer or module.startswith(layer + ".")


def offending(source: str, targets: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{m} imports {t}"
        for m, deps in GRAPH.items()
        if in_layer(m, source)
        for t in deps
        if any(in_layer(t, layer) for layer in targets)
    )


def test_the_graph_is_read() -> None:
    # a broken reader would make every rule below pass vacuously
    assert "nutwist.protocols.net" in GRAPH and "nutwist.cli.upsd" in GRAPH
    assert "nutwist.services.runner" in GRAPH["nutwist.cli.driver"]
    assert "nutwist.process" in GRAPH["nutwist.services.runner"]
    # a function-level import counts
    assert "nutwist.services.runner" in RUNTIME["nutwist.cli.driver"]


def test_protocols_import_no_higher_layer() -> None:
    bad = offending(
        "nutwist.protocols",
        ("nutwist.monitor", "nutwist.cli", "nutwist.drivers", "nutwist.tap", "nutwist.monitor_tap"),
    )
    assert bad == []


def test_protocols_import_no_services() -> None:
    bad = offending("nutwist.protocols", ("nutwist.services",))
    assert bad == []


def test_only_cli_imports_cli() -> None:
    bad = sorted(
        f"{m} imports {t}"
        for m, deps in GRAPH.items()
        if not in_layer(m, "nutwist.cli")
        for t in deps
        if in_layer(t, "nutwist.cli")
    )
    assert bad == []


def test_process_leaf_imports_only_the_leaf() -> None:
    leaf = {"nutwist.process", "nutwist.privs", "nutwist.paths"}
    bad = sorted(f"{m} imports {t}" for m in leaf for t in GRAPH[m] if t not in leaf)
    assert bad == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_no_import_cycles() -> None:
    assert _cycles(RUNTIME) == []


def test_the_cycle_finder_finds_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
