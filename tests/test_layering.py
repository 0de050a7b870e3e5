"""The import arrows of DESIGN.md: games -> never torch or agents; rlengine -> never agents."""

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
