"""The shared packages' layers: contracts import neither the platform nor the test support (nor the heavy
runtime libraries), and the platform never imports the test support."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import switchboard_contracts
import switchboard_platform

#: Modules a process that imports every contract module must not have loaded.
_NOT_FOR_CONTRACTS = (
    "switchboard_platform",
    "switchboard_testing",
    "fastapi",
    "faststream",
    "aiokafka",
    "pymongo",
    "opentelemetry",
)


def _package_dir(package: object) -> Path:
    return Path(package.__file__).parent  # type: ignore[attr-defined]


def _modules(package: object) -> list[str]:
    root = _package_dir(package)
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _imported(path: Path) -> set[str]:
    """Top-level packages ``path`` imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_importing_every_contract_loads_no_platform_test_support_or_runtime_library() -> None:
    script = (
        "import importlib, sys\n"
        f"for name in {_modules(switchboard_contracts)!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(_NOT_FOR_CONTRACTS)!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)  # noqa: S603
    assert result.stdout.strip() == "[]"


def test_contracts_name_neither_the_platform_nor_the_test_support() -> None:
    for path in _package_dir(switchboard_contracts).rglob("*.py"):
        assert not _imported(path) & {"switchboard_platform", "switchboard_testing"}, path


def test_the_platform_never_names_the_test_support() -> None:
    for path in _package_dir(switchboard_platform).rglob("*.py"):
        assert "switchboard_testing" not in _imported(path), path
