"""How deploy/local gets its prerequisites on a fresh machine: installed with apt when we are root and apt-get is
there, otherwise one line naming what to install (lib.sh, tools.sh).

Each test runs the scripts with a PATH of its own: a sandbox directory holding the few system commands the
scripts use plus stand-ins for ``id`` (root or not) and ``apt-get`` (records its arguments and "installs" a
package by creating a command of that name), so what is installed on this machine does not matter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from .apps import ROOT

LOCAL = ROOT / "deploy" / "local"
SYSTEM_COMMANDS = (
    "bash", "awk", "cat", "chmod", "dirname", "env", "grep", "head", "ln", "mkdir", "realpath", "rm", "sed", "tail",
)  # fmt: skip


@dataclass
class Sandbox:
    bin: Path
    apt_log: Path

    def script(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text("#!/bin/bash\n" + body)
        path.chmod(0o755)

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        bash = self.bin / "bash"
        # A fixed bash snippet from this test module, under a PATH we built: no outside input.
        return subprocess.run(  # noqa: S603
            [str(bash), "-c", command],
            env={"PATH": str(self.bin), "HOME": str(self.bin.parent)},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def apt_calls(self) -> list[str]:
        return self.apt_log.read_text().splitlines() if self.apt_log.exists() else []


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in SYSTEM_COMMANDS:
        found = shutil.which(name)
        assert found is not None, name
        (bin_dir / name).symlink_to(found)
    box = Sandbox(bin_dir, tmp_path / "apt.log")
    box.script("id", "echo 0\n")
    # apt-get install PKG...: each package becomes a command of the same name in the sandbox.
    box.script(
        "apt-get",
        f'echo "$*" >>{box.apt_log}\n'
        "if [[ $1 == install ]]; then\n"
        '  for p in "$@"; do [[ $p == -* || $p == install ]] && continue\n'
        f'    printf "#!/bin/bash\\n" >{bin_dir}/$p; chmod +x {bin_dir}/$p; done\n'
        "fi\n",
    )
    return box


def lib(snippet: str) -> str:
    return f"source {LOCAL / 'lib.sh'}\n{snippet}"


def test_as_root_with_apt_a_missing_command_is_installed(sandbox: Sandbox) -> None:
    result = sandbox.run(
        lib('install_or_explain sb-frob sb-frob "testing"; die_if_missing; command -v sb-frob')
    )
    assert result.returncode == 0, result.stderr
    assert sandbox.apt_calls() == ["update -qq", "install -y -qq --no-install-recommends sb-frob"]


def test_one_apt_get_update_for_several_packages(sandbox: Sandbox) -> None:
    result = sandbox.run(
        lib("install_or_explain sb-a sb-a x; install_or_explain sb-b sb-b y; die_if_missing")
    )
    assert result.returncode == 0, result.stderr
    assert [call.split()[0] for call in sandbox.apt_calls()] == ["update", "install", "install"]


def test_a_present_command_is_left_alone(sandbox: Sandbox) -> None:
    sandbox.script("sb-frob", "")
    assert sandbox.run(lib('install_or_explain sb-frob sb-frob "testing"; die_if_missing')).returncode == 0
    assert sandbox.apt_calls() == []


def test_not_root_stops_with_one_line_naming_the_package(sandbox: Sandbox) -> None:
    sandbox.script("id", "echo 1000\n")
    result = sandbox.run(
        lib('install_or_explain sb-frob sb-frob-pkg "the frobs need it"; die_if_missing; echo on')
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: 'sb-frob' not found; the frobs need it (install it: apt-get install sb-frob-pkg, or your system's"
        " package)"
    ]
    assert sandbox.apt_calls() == []


def test_root_without_apt_stops_with_one_line(sandbox: Sandbox) -> None:
    (sandbox.bin / "apt-get").unlink()
    result = sandbox.run(lib('install_or_explain sb-frob sb-frob-pkg "testing"; die_if_missing'))
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "apt-get install sb-frob-pkg" in result.stderr


def test_a_failing_apt_get_is_reported(sandbox: Sandbox) -> None:
    sandbox.script("apt-get", 'echo "E: Unable to locate package $*" >&2; exit 100\n')
    result = sandbox.run(lib('install_or_explain sb-frob sb-frob-pkg "testing"; die_if_missing'))
    assert result.returncode == 1
    assert "E: Unable to locate package" in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "error: 'sb-frob' not found and apt-get install sb-frob-pkg failed; testing"
    )


def test_make_test_tools_install_docker_compose_and_chromium(sandbox: Sandbox) -> None:
    sandbox.script("kubectl", "")  # kustomize comes with it
    sandbox.script("promtool", "")
    result = sandbox.run(f"{LOCAL / 'tools.sh'} test {sandbox.bin}")
    assert result.returncode == 0, result.stderr
    assert sandbox.apt_calls()[1:] == [
        "install -y -qq --no-install-recommends docker-compose",
        "install -y -qq --no-install-recommends chromium",
    ]
    assert (sandbox.bin / "docker-compose").exists()
    assert (sandbox.bin / "chromium").exists()


def test_make_test_tools_name_docker_compose_and_chromium_when_they_cannot_install_them(
    sandbox: Sandbox,
) -> None:
    sandbox.script("id", "echo 1000\n")
    sandbox.script("kubectl", "")
    sandbox.script("promtool", "")
    result = sandbox.run(f"{LOCAL / 'tools.sh'} test {sandbox.bin}")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert "apt-get install docker-compose" in lines[0]
    assert "apt-get install chromium" in lines[1]


def test_a_docker_compose_plugin_is_enough(sandbox: Sandbox) -> None:
    sandbox.script("docker", '[[ "$*" == "compose version" ]]\n')
    sandbox.script("kubectl", "")
    sandbox.script("promtool", "")
    sandbox.script("chromium", "")
    assert sandbox.run(f"{LOCAL / 'tools.sh'} test {sandbox.bin}").returncode == 0
    assert sandbox.apt_calls() == []


def test_make_test_tools_install_promtool_from_the_prometheus_package(sandbox: Sandbox) -> None:
    sandbox.script("kubectl", "")
    sandbox.script("docker-compose", "")
    sandbox.script("chromium", "")
    # Debian's prometheus package is where promtool comes from: the stand-in installs the command by that name.
    sandbox.script(
        "apt-get",
        f'echo "$*" >>{sandbox.apt_log}\n'
        f'if [[ $1 == install ]]; then printf "#!/bin/bash\\n" >{sandbox.bin}/promtool; '
        f"chmod +x {sandbox.bin}/promtool; fi\n",
    )
    result = sandbox.run(f"{LOCAL / 'tools.sh'} test {sandbox.bin}")
    assert result.returncode == 0, result.stderr
    assert sandbox.apt_calls()[-1] == "install -y -qq --no-install-recommends prometheus"


def test_make_test_tools_name_the_prometheus_package_when_they_cannot_install_it(sandbox: Sandbox) -> None:
    sandbox.script("id", "echo 1000\n")
    sandbox.script("kubectl", "")
    sandbox.script("docker-compose", "")
    sandbox.script("chromium", "")
    result = sandbox.run(f"{LOCAL / 'tools.sh'} test {sandbox.bin}")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: 'promtool' not found; make test checks and unit-tests the Prometheus alert rules with it "
        "(install it: apt-get install prometheus, or your system's package)"
    ]


def test_uv_already_there_is_not_installed_again(sandbox: Sandbox) -> None:
    sandbox.script("uv", "")
    result = sandbox.run(f"{LOCAL / 'tools.sh'} uv {sandbox.bin / 'uv'} 0.13.8")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("version", "toolchain", "usable"),
    [
        ("go1.26.8", "local", True),
        ("go1.24.0", "local", True),
        ("go1.22.6", "auto", True),  # fetches the go1.24 toolchain FerretDB's go.mod asks for
        ("go1.22.6", "local", False),
        ("go1.19.8", "auto", False),  # Debian 12's golang-go: too old to fetch toolchains
    ],
)
def test_which_go_can_build_ferretdb(sandbox: Sandbox, version: str, toolchain: str, usable: bool) -> None:
    sandbox.script("go", f'case "$2" in GOVERSION) echo {version} ;; GOTOOLCHAIN) echo {toolchain} ;; esac\n')
    result = sandbox.run(lib('go_usable "$(find_go)" 24'))
    assert (result.returncode == 0) is usable, result.stderr


def _crds(tmp_path: Path, curl_body: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`tools.sh crds` with a stand-in curl (first on the real PATH) and a cache of its own."""
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    (fake / "curl").write_text("#!/bin/bash\n" + curl_body)
    (fake / "curl").chmod(0o755)
    cache = tmp_path / "cache"
    # A fixed command of this repository under a PATH we built: no outside input.
    result = subprocess.run(  # noqa: S603
        [str(LOCAL / "tools.sh"), "crds"],
        env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "SB_CACHE_DIR": str(cache)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result, cache


def test_a_crd_download_whose_checksum_differs_from_the_pin_is_refused(tmp_path: Path) -> None:
    # curl -o FILE URL: write something that is not the pinned module zip.
    result, cache = _crds(tmp_path, 'while [[ $1 != -o ]]; do shift; done; echo tampered >"$2"\n')
    assert result.returncode == 1
    assert "deploy/k8s/crds/versions.env pins" in result.stderr
    assert "refusing github.com/kedacore/keda/v2@" in result.stderr
    assert list((cache / "crds").iterdir()) == []  # neither the download nor a half-made directory


def test_cached_crds_are_not_downloaded_again(tmp_path: Path) -> None:
    pins = dict(
        line.split("=", 1)
        for line in (ROOT / "deploy" / "k8s" / "crds" / "versions.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    cache = tmp_path / "cache" / "crds"
    for name in (
        f"keda-{pins['KEDA_VERSION']}",
        f"prometheus-operator-{pins['PROMETHEUS_OPERATOR_VERSION']}",
        f"strimzi-{pins['STRIMZI_VERSION']}",
    ):
        (cache / name).mkdir(parents=True)
        (cache / name / ".complete").touch()
    result, _ = _crds(tmp_path, "echo 'curl must not run' >&2; exit 7\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_the_ferretdb_binary_is_kept_under_a_name_its_patches_decide(tmp_path: Path) -> None:
    """infra.sh keeps the FerretDB it builds in a directory named for the release and the patches' contents, so
    a change to a patch builds a new binary instead of reusing one built without it; private test servers
    (``switchboard_testing.private_ferretdb``) ask infra.sh for that path."""
    local = tmp_path / "local"
    shutil.copytree(LOCAL, local, ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "SB_CACHE_DIR": str(tmp_path / "cache")}

    def binary() -> Path:
        # This repository's script, copied, with fixed arguments.
        answer = subprocess.run(  # noqa: S603
            [str(local / "infra.sh"), "ferretdb-binary"], env=env, capture_output=True, text=True, check=True
        )
        return Path(answer.stdout.strip())

    first = binary()
    assert first.parent.parent == tmp_path / "cache"
    assert first.parent.name.startswith("ferretdb-v1.24.2-")
    assert first.name == "ferretdb"
    assert binary() == first
    patch = next((local / "ferretdb" / "patches").glob("*.patch"))
    patch.write_text(patch.read_text() + "\n")
    assert binary() != first
