"""deploy/local/readme_walkthrough.py running a README's walkthrough (CI runs the real one after `make up`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .apps import ROOT

SCRIPT = ROOT / "deploy" / "local" / "readme_walkthrough.py"


def walk(tmp_path: Path, *blocks: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    fenced = "".join(f"```bash\n{block}\n```\n\n" for block in blocks)
    readme = tmp_path / "README.md"
    readme.write_text(f"# Sample\n\n<!-- walkthrough -->\n{fenced}<!-- /walkthrough -->\n")
    # This repository's own script on a README written above: no outside input.
    return subprocess.run(  # noqa: S603
        [sys.executable, str(SCRIPT), "--readme", str(readme), "--timeout", str(timeout)],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_a_walkthrough_showing_a_verified_delivery_passes(tmp_path: Path) -> None:
    result = walk(
        tmp_path, "test -f README.md  # runs beside the README", "echo 'delivery msg_1 signature ok'"
    )
    assert result.returncode == 0, result.stderr
    assert "delivery msg_1 signature ok" in result.stdout
    assert "walkthrough passed" in result.stdout


def test_blocks_share_one_shell(tmp_path: Path) -> None:
    result = walk(tmp_path, "VERDICT=ok", 'echo "signature $VERDICT"')
    assert result.returncode == 0, result.stderr


def test_a_failing_command_stops_the_walkthrough(tmp_path: Path) -> None:
    result = walk(tmp_path, "false | cat", "echo 'signature ok'")
    assert result.returncode == 1
    assert "signature ok" not in result.stdout
    assert result.stderr.strip() == "error: the walkthrough failed (bash exit status 1)"


def test_a_walkthrough_without_a_delivery_fails(tmp_path: Path) -> None:
    result = walk(tmp_path, 'echo \'{"status": "accepted"}\'')
    assert result.returncode == 1
    assert "no delivery line with 'signature ok'" in result.stderr


def test_what_it_left_running_is_stopped(tmp_path: Path) -> None:
    pid_file = tmp_path / "background.pid"
    result = walk(tmp_path, f"sleep 300 & echo $! >{pid_file}", "echo 'signature ok'")
    assert result.returncode == 0, result.stderr
    stat = Path(f"/proc/{pid_file.read_text().strip()}/stat")
    # gone, or a zombie waiting for init to reap it
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_a_walkthrough_that_hangs_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    result = walk(tmp_path, "sleep 300", timeout=1)
    assert result.returncode == 1
    assert "did not finish within 1 s" in result.stderr


@pytest.mark.parametrize("readme", ["# no walkthrough\n", "<!-- walkthrough -->\n"])
def test_a_readme_without_a_usable_walkthrough_is_refused(tmp_path: Path, readme: str) -> None:
    path = tmp_path / "README.md"
    path.write_text(readme)
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(SCRIPT), "--readme", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
