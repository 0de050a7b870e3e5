"""The import arrows of ARCHITECTURE.md: games -> never torch or agents; rlengine -> never agents."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "games": ("torch", "agents"),
    "rlengine": ("agents",),
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
    return out


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((REPO / package).rglob("*.py")):
        for lineno, module in imported_modules(path):
            top = module.split(".")[0]
            if top in forbidden:
                found.append(f"{path.relative_to(REPO)}:{lineno} imports {module}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_arrows_point_one_way(package):
    assert (REPO / package).is_dir()
    assert violations(package, FORBIDDEN[package]) == []


def test_the_checker_sees_a_violation(tmp_path, monkeypatch):
    bad = tmp_path / "games" / "go"
    bad.mkdir(parents=True)
    (bad / "x.py").write_text("def f():\n    import torch.nn as nn\n    from agents.dqn import thing\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert len(violations("games", FORBIDDEN["games"])) == 2


# ---- no import circles -------------------------------------------------------------------------
# An import inside a function counts: a lazy import that closes a circle is still a circle (games.go.gtp and
# games.go.players used to import each other that way, and agents.alphago's players and sl).

PACKAGES = ("games", "rlengine", "agents")


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """Module -> the modules of ``packages`` it imports anywhere in its text (``from a import b`` counts as
    importing ``a.b`` when that is a module, else ``a``; a package's ``__init__`` is not counted as imported
    by its submodules)."""
    paths = {_module_name(root, p): p for pkg in packages for p in sorted((root / pkg).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        out: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                out |= {alias.name for alias in node.names if alias.name in paths}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[:len(here) - node.level + 1] if node.level > 1 else here
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:
                    if f"{module}.{alias.name}" in paths:
                        out.add(f"{module}.{alias.name}")
                    elif module in paths:
                        out.add(module)
        out.discard(name)
        graph[name] = out
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circles():
    graph = import_graph(REPO)
    assert "games.go.players" not in graph["games.go.gtp"] and "games.go.gtp" not in graph["games.go.players"]
    assert "agents.alphago.sl" not in graph["agents.alphago.players"] | graph["agents.alphago.mcts"]
    assert import_cycles(graph) == []


def test_the_checker_sees_a_circle(tmp_path):
    go = tmp_path / "games" / "go"
    go.mkdir(parents=True)
    (tmp_path / "games" / "__init__.py").write_text("")
    (go / "__init__.py").write_text("from games.go.board import Position\n")
    (go / "board.py").write_text("from games.go import coords\n")
    (go / "coords.py").write_text("")
    (go / "gtp.py").write_text("from games.go.players import Player\n")
    (go / "players.py").write_text("def start():\n    from games.go.gtp import GtpClient\n")
    (go / "sgf.py").write_text("from . import coords\nfrom .board import Position\n")
    graph = import_graph(tmp_path, ("games",))
    assert graph["games.go.sgf"] == {"games.go.coords", "games.go.board"}
    assert import_cycles(graph) == [["games.go.gtp", "games.go.players"]]
