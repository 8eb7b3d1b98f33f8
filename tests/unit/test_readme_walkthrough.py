"""deploy/local/readme_walkthrough.py: which blocks of a README it runs, and what counts as a delivered webhook."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "readme_walkthrough", ROOT / "deploy" / "local" / "readme_walkthrough.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


walkthrough = _load()

SAMPLE = """# Title

```bash
make up   # before the markers: not part of the walkthrough
```

<!-- walkthrough -->
```bash
echo one
```

Some prose, then output shown as text:

```text
not run
```

```bash
echo two
```
<!-- /walkthrough -->

```bash
echo after   # after the markers: not run
```

<!-- walkthrough -->
```bash
echo three
```
<!-- /walkthrough -->
"""


def test_blocks_between_the_markers_in_order() -> None:
    assert walkthrough.extract_blocks(SAMPLE) == ["echo one\n", "echo two\n", "echo three\n"]


def test_the_script_runs_under_errexit_and_pipefail() -> None:
    text = walkthrough.script(["echo one\n", "echo two\n"])
    assert text.startswith("set -euo pipefail\n")
    assert text.index("echo one") < text.index("echo two")


def test_a_marker_inside_a_code_block_is_text() -> None:
    markdown = "```markdown\n<!-- walkthrough -->\n```\n<!-- walkthrough -->\n```bash\necho ok\n```\n<!-- /walkthrough -->\n"
    assert walkthrough.extract_blocks(markdown) == ["echo ok\n"]


def test_a_longer_fence_holds_a_shorter_one() -> None:
    markdown = "<!-- walkthrough -->\n````bash\ncat <<'EOF'\n```\nEOF\n````\n<!-- /walkthrough -->\n"
    assert walkthrough.extract_blocks(markdown) == ["cat <<'EOF'\n```\nEOF\n"]


@pytest.mark.parametrize(
    ("markdown", "message"),
    [
        ("```bash\necho\n```\n", "no <!-- walkthrough -->"),
        ("<!-- walkthrough -->\n```bash\necho\n```\n", "is not closed"),
        ("<!-- /walkthrough -->\n", "without a <!-- walkthrough -->"),
        ("<!-- walkthrough -->\n<!-- walkthrough -->\n", "inside an open walkthrough region"),
        ("<!-- walkthrough -->\n```text\nx\n```\n<!-- /walkthrough -->\n", "has no ```bash block"),
        ("<!-- walkthrough -->\n```bash\necho\n<!-- /walkthrough -->\n", "a code block is not closed"),
    ],
)
def test_unusable_markers_are_refused(markdown: str, message: str) -> None:
    with pytest.raises(walkthrough.WalkthroughError, match=message):
        walkthrough.extract_blocks(markdown)


def test_the_readme_has_a_walkthrough() -> None:
    blocks = walkthrough.extract_blocks((ROOT / "README.md").read_text())
    script = "\n".join(blocks)
    assert "switchboard listen" in script
    assert "switchboard events send" in script


@pytest.mark.parametrize(
    "output",
    [
        "created\ndelivery msg_2Lx conversation.created signature ok\n",
        "12:00:01  conversation.created  msg_2Lx  attempt 1  signature ok  12 ms\n",
        json.dumps({"event": "conversation.created", "webhook_id": "msg_2Lx", "signature": "ok"}) + "\n",
    ],
)
def test_a_verified_delivery_passes(output: str) -> None:
    assert walkthrough.check_delivery(output) is None


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("", "no delivery line"),
        ('{"status":"accepted","id":"first-event"}\n', "no delivery line"),
        ("the signature okay-ish\n", "no delivery line"),
        (
            "delivery msg_1 conversation.created signature failed (no matching v1 signature)\n",
            "failed signature",
        ),
        (json.dumps({"signature": "failed"}) + "\n", "failed signature"),
        ("delivery msg_1 signature ok\ndelivery msg_2 signature failed\n", "failed signature"),
    ],
)
def test_no_verified_delivery_fails(output: str, message: str) -> None:
    problem = walkthrough.check_delivery(output)
    assert problem is not None
    assert message in problem
