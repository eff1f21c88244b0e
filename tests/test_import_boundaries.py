"""The low-level modules import no capability: they read the installed list instead."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from bot import capabilities

ROOT = Path(__file__).resolve().parents[1]
LOW_LEVEL = [
    *sorted((ROOT / "bot" / "slack").rglob("*.py")),
    ROOT / "bot" / "app.py",
    ROOT / "bot" / "__main__.py",
    ROOT / "bot" / "services.py",
    ROOT / "bot" / "config.py",
]
"""The detector kernel is checked at run time only: it hands incidents to the alert pipeline, importing
its shape when it delivers, never when it is imported."""


def capability_packages() -> set[str]:
    """Every folder under bot/ whose __init__ assigns CAPABILITY, listed or not."""
    found = set()
    for init in (ROOT / "bot").glob("*/__init__.py"):
        tree = ast.parse(init.read_text())
        if any(
            isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "CAPABILITY" for t in n.targets)
            for n in tree.body
        ):
            found.add(f"bot.{init.parent.name}")
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Imports under ``if TYPE_CHECKING:`` are for annotations only: they load nothing at run time."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    return skipped


def imported_modules(path: Path) -> list[str]:
    """Every module a file imports, at the top or inside a function."""
    tree = ast.parse(path.read_text())
    skipped = _type_checking_nodes(tree)
    names: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return names


def test_the_capabilities_are_the_listed_folders() -> None:
    packages = capability_packages()
    assert packages >= {"bot.alerts", "bot.cost", "bot.refusals", "bot.triage", "bot.flags", "bot.ingest"}
    assert packages == {e for e in capabilities.INSTALLED if isinstance(e, str)}


def test_low_level_modules_import_no_capability() -> None:
    packages = capability_packages()
    offending = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in LOW_LEVEL
        for name in imported_modules(path)
        if any(name == p or name.startswith(p + ".") for p in packages)
    ]
    assert offending == []


def test_importing_them_loads_no_capability() -> None:
    """The same at run time, in a fresh interpreter: nothing pulls a capability in behind the list's back."""
    modules = ["bot.config", "bot.services", "bot.app", "bot.__main__", "bot.detectors", "bot.slack.bolt"]
    packages = sorted(capability_packages())
    code = (
        f"import sys, importlib; [importlib.import_module(m) for m in {modules!r}]; "
        f"print(sorted(n for n in sys.modules if any(n == p or n.startswith(p + '.') for p in {packages!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


def test_the_check_would_catch_a_capability_import(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    from bot.cost import command\n    import bot.refusals.shift\n")
    assert {"bot.cost", "bot.refusals.shift"} <= set(imported_modules(sneaky))
