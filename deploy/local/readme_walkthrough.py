"""Run the README's walkthrough as written, and check that its webhook arrived with a valid signature.

    python3 deploy/local/readme_walkthrough.py [--readme README.md] [--timeout 180] [--show]

The walkthrough is every ```bash block between the markers ``<!-- walkthrough -->`` and ``<!-- /walkthrough -->``
in README.md (several marked regions are joined in order). The blocks run as one bash script (``set -euo
pipefail``) from the repository root, in this process's environment (CI gives it the plain one a newcomer has),
with its output streamed as it comes. It passes when the script succeeds within the timeout and its output has
at least one delivery line with a verified signature and none with a failed one: a line containing
``signature ok`` / ``signature failed`` (what ``switchboard listen`` prints per delivery), or a JSON object with
``"signature": "ok"`` (``switchboard listen --json``). So the walkthrough must show the delivery in its output.
When the script ends, whatever it left running in the background (an inbox, a listener) is stopped.

Exit status: 0 passed, 1 failed (one line on stderr says why), 2 the README has no usable walkthrough.
``--show`` prints the script that would run, and runs nothing. Python standard library only: it runs before
anything is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

START = "<!-- walkthrough -->"
END = "<!-- /walkthrough -->"
PRELUDE = "set -euo pipefail\n"
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_VERDICT = re.compile(r"\bsignature (ok|failed)\b")
ROOT = Path(__file__).resolve().parents[2]


class WalkthroughError(ValueError):
    """The README's walkthrough markers or blocks are not usable."""


def extract_blocks(markdown: str) -> list[str]:
    """The ```bash blocks between the walkthrough markers, in order. Blocks in other languages (output shown as
    ```text, say) are skipped; markers inside code blocks are text, not markers."""
    blocks: list[str] = []
    inside_region = False
    regions = 0
    fence: str | None = None
    is_bash = False
    current: list[str] = []
    for number, line in enumerate(markdown.splitlines(), start=1):
        if fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                if inside_region and is_bash:
                    blocks.append("\n".join(current) + "\n")
                fence, current = None, []
            elif is_bash:
                current.append(line)
            continue
        match = _FENCE.match(line.rstrip())
        if match:
            fence = match["fence"]
            language = match["info"].strip().split(maxsplit=1)
            is_bash = bool(language) and language[0] in {"bash", "sh", "shell"}
            continue
        marker = line.strip()
        if marker == START:
            if inside_region:
                raise WalkthroughError(f"line {number}: {START} inside an open walkthrough region")
            inside_region = True
            regions += 1
        elif marker == END:
            if not inside_region:
                raise WalkthroughError(f"line {number}: {END} without a {START} before it")
            inside_region = False
    if fence is not None:
        raise WalkthroughError("a code block is not closed")
    if inside_region:
        raise WalkthroughError(f"{START} is not closed by {END}")
    if regions == 0:
        raise WalkthroughError(f"no {START} ... {END} region")
    if not blocks:
        raise WalkthroughError("the walkthrough region has no ```bash block")
    return blocks


def script(blocks: list[str]) -> str:
    return PRELUDE + "\n".join(blocks)


def check_delivery(output: str) -> str | None:
    """Why the output does not show a delivery with a verified signature, or None when it does."""
    verified = failed = 0
    for line in output.splitlines():
        verdict: str | None = None
        stripped = line.strip()
        if stripped.startswith("{"):
            try:
                record = json.loads(stripped)
            except ValueError:
                record = None
            if isinstance(record, dict) and "signature" in record:
                verdict = "ok" if record["signature"] == "ok" else "failed"
        if verdict is None and (match := _VERDICT.search(line)):
            verdict = match[1]
        if verdict == "ok":
            verified += 1
        elif verdict == "failed":
            failed += 1
    if failed:
        return f"{failed} delivery line(s) with a failed signature"
    if not verified:
        return "no delivery line with 'signature ok' in the walkthrough's output: the webhook did not arrive"
    return None


@dataclass
class Outcome:
    returncode: int | None  # None: timed out
    output: str


def run(text: str, cwd: Path, timeout_s: float, echo: bool = True) -> Outcome:
    """Run the script with bash in its own process group; stream (when ``echo``) and collect its output; stop
    what it left running once it ends."""
    # The README's own text, run the way a reader runs it: that is the point of this tool.
    process = subprocess.Popen(  # noqa: S603
        ["bash", "--noprofile", "--norc", "-c", text],  # noqa: S607 - bash from the caller's (system) PATH
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    lines: list[str] = []
    stdout = process.stdout
    if stdout is None:  # not reached: stdout=PIPE; narrows the type
        raise RuntimeError("no pipe from bash")

    def pump() -> None:
        for raw in iter(stdout.readline, b""):
            line = raw.decode(errors="replace")
            lines.append(line)
            if echo:
                sys.stdout.write(line)
                sys.stdout.flush()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    returncode: int | None
    try:
        returncode = process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        returncode = None
    finally:
        _stop_group(process)
        reader.join(timeout=5)
    return Outcome(returncode, "".join(lines))


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the script and every process of its group: background jobs share it (bash without job control), so
    none outlives the run or keeps the output pipe open. SIGTERM first, SIGKILL after 5 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)  # reap bash itself, or the group never looks empty
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="deploy/local/readme_walkthrough.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds for the whole walkthrough")
    parser.add_argument("--show", action="store_true", help="print the script and exit")
    args = parser.parse_args(argv)
    try:
        blocks = extract_blocks(args.readme.read_text())
    except (OSError, WalkthroughError) as exc:
        print(f"error: {args.readme}: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    text = script(blocks)
    if args.show:
        sys.stdout.write(text)
        return 0
    print(f"--- the walkthrough of {args.readme.name}: {len(blocks)} bash blocks ---", flush=True)  # noqa: T201
    outcome = run(text, args.readme.resolve().parent, args.timeout)
    if outcome.output and not outcome.output.endswith("\n"):
        print()  # noqa: T201 - the script's last line had no newline (curl's error body, say)
    print("--- end of the walkthrough ---", flush=True)  # noqa: T201
    if outcome.returncode is None:
        problem: str | None = f"the walkthrough did not finish within {args.timeout:g} s"
    elif outcome.returncode != 0:
        problem = f"the walkthrough failed (bash exit status {outcome.returncode})"
    else:
        problem = check_delivery(outcome.output)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)  # noqa: T201
        return 1
    print("walkthrough passed: the webhook was delivered and its signature verified", flush=True)  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
