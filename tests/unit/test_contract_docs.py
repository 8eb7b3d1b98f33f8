"""The committed AsyncAPI document is the one the code generates (regenerate with `make docs`)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_asyncapi", ROOT / "docs" / "generate_asyncapi.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_asyncapi_matches_the_code() -> None:
    committed = (ROOT / "docs" / "asyncapi.json").read_text()
    assert committed == _generator().render(), "docs/asyncapi.json is stale: run `make docs`"


def test_asyncapi_documents_platform_events() -> None:
    document = json.loads((ROOT / "docs" / "asyncapi.json").read_text())
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert "platform.events" in addresses
