"""Root pytest configuration: real-infrastructure fixtures and markers by directory.

A test under ``tests/unit`` is marked ``unit``, under ``tests/integration`` ``integration``, under ``tests/e2e``
``e2e``, under ``tests/fuzz`` ``fuzz``, under ``tests/deploy`` ``deploy``: the layer is where the file lives, so a test cannot drift into
the wrong layer and ``pytest -m unit`` runs without infrastructure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["switchboard_testing.fixtures"]

_LAYERS = ("unit", "integration", "e2e", "fuzz", "deploy")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.path)).parts
        for layer in _LAYERS:
            if layer in parts:
                item.add_marker(getattr(pytest.mark, layer))
                break
