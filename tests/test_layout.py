"""The package's shape: no import loops, the layering docs/ARCHITECTURE.md describes, small modules,
no private members used across classes, one version."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import dcgan

SRC = Path(dcgan.__file__).resolve().parent
MAX_LINES = 400
# Lower layers never import higher ones (imports inside functions included).
LAYERS = [
    {"errors", "version", "fsutil", "images", "devices", "screenshot", "plots", "limits"},
    {"models", "data", "checkpoint", "report"},
    {"generation"},
    {"metrics"},
    {"training"},
    {"commands", "cli", "__init__", "__main__"},
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in SRC.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """dcgan modules that ``path`` imports anywhere in its body (``from pkg import sub`` -> pkg.sub)."""
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    out = set()
    tree = ast.parse(path.read_text())
    type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                 and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
                 for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in type_only:  # `if TYPE_CHECKING:` imports never run
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "dcgan"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "dcgan":
                continue
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                out.add(sub if sub in known else mod)
    return {m for m in out if m in known and m != name}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, set(mods)) for name, path in mods.items()}


def test_no_import_loops():
    graph = _graph()
    seen: dict[str, int] = {}  # 1: on the current path, 2: done
    loops = []

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph[node]):
            if seen.get(nxt) == 1:
                loops.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in seen:
                visit(nxt, path + [nxt])
        seen[node] = 2

    for node in sorted(graph):
        if node not in seen:
            visit(node, [node])
    assert not loops, "import loops: " + "; ".join(" -> ".join(loop) for loop in loops)


def _layer(module: str) -> int:
    part = module.split(".")[1] if "." in module else "__init__"
    for i, layer in enumerate(LAYERS):
        if part in layer:
            return i
    raise AssertionError(f"{module} is in no layer of this test (and of docs/ARCHITECTURE.md)")


def test_lower_layers_never_import_higher_ones():
    wrong = [f"{a} imports {b}" for a, deps in _graph().items() for b in deps
             if _layer(b) > _layer(a) and not a.startswith("dcgan.commands")]
    assert not wrong, wrong


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_modules_stay_small(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_no_private_member_of_a_dcgan_class_is_used_from_outside():
    """A name a dcgan class keeps private (``def _x`` or ``self._x = ...``) is only read on ``self``."""
    trees = {path: ast.parse(path.read_text()) for path in SRC.rglob("*.py")}
    private = set()
    for tree in trees.values():
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for node in ast.walk(cls):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("_") \
                        and not node.name.startswith("__"):
                    private.add(node.name)
                if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                        and isinstance(node.value, ast.Name) and node.value.id == "self" \
                        and node.attr.startswith("_") and not node.attr.startswith("__"):
                    private.add(node.attr)
    found = [f"{path.relative_to(SRC)}:{node.lineno} .{node.attr}"
             for path, tree in trees.items() for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and node.attr in private
             and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))]
    assert private and not found, found


def test_the_version_lives_in_a_leaf_module():
    from dcgan import version

    assert dcgan.__version__ == version.__version__
    assert not _imports("dcgan.version", SRC / "version.py", set(_modules()))
    pyproject = (SRC.parent.parent / "pyproject.toml").read_text()
    assert re.search(rf'^version = "{re.escape(version.__version__)}"$', pyproject, re.M)


def test_architecture_doc_names_every_package_and_flat_module():
    doc = (SRC.parent.parent / "docs" / "ARCHITECTURE.md").read_text()
    for path in sorted(SRC.iterdir()):
        if path.name.startswith("_") or path.name == "py.typed":
            continue
        name = path.name if path.is_dir() else path.name
        assert name in doc, f"docs/ARCHITECTURE.md does not mention {name}"
