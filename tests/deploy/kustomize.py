"""Rendering deploy/k8s with kustomize, as ``kubectl apply -k`` would send it, for the deployment tests.

``kubectl kustomize`` (or a standalone ``kustomize build``) renders a kustomization; ``Render`` holds the parsed
objects with lookups the tests share.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import yaml

from .apps import ROOT, App

K8S = ROOT / "deploy" / "k8s"
Obj = dict[str, Any]

INSTALL_HINT = (
    "neither kubectl nor kustomize is installed: install kubectl (it contains kustomize), or kustomize alone "
    "through the Go module proxy with `GOBIN=/usr/local/bin go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0`"
)


def _kustomize_command(directory: Path) -> list[str]:
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        return [kubectl, "kustomize", str(directory)]
    kustomize = shutil.which("kustomize")
    if kustomize is not None:
        return [kustomize, "build", str(directory)]
    pytest.fail(INSTALL_HINT)


@dataclass
class Render:
    """One overlay as kustomize renders it."""

    overlay: str
    text: str
    objects: list[Obj]

    def all(self, kind: str) -> list[Obj]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def find(self, kind: str, name: str) -> Obj | None:
        return next((obj for obj in self.all(kind) if obj["metadata"]["name"] == name), None)

    def get(self, kind: str, name: str) -> Obj:
        obj = self.find(kind, name)
        assert obj is not None, f"{self.overlay} renders no {kind} {name}"
        return obj

    def deployment(self, app: App) -> Obj:
        return self.get("Deployment", app.name)

    def pod(self, app: App) -> Obj:
        spec = self.deployment(app)["spec"]["template"]["spec"]
        assert isinstance(spec, dict)
        return spec

    def container(self, app: App) -> Obj:
        (container,) = [c for c in self.pod(app)["containers"] if c["name"] == app.name]
        assert isinstance(container, dict)
        return container

    def init_container(self, app: App, name: str = "ensure-topics") -> Obj:
        (container,) = [c for c in self.pod(app).get("initContainers", []) if c["name"] == name]
        assert isinstance(container, dict)
        return container

    @cached_property
    def config_maps(self) -> dict[str, dict[str, str]]:
        return {obj["metadata"]["name"]: obj.get("data") or {} for obj in self.all("ConfigMap")}

    @cached_property
    def secrets(self) -> dict[str, dict[str, str]]:
        """Rendered Secrets' data, decoded."""
        return {
            obj["metadata"]["name"]: {
                key: base64.b64decode(value).decode() for key, value in (obj.get("data") or {}).items()
            }
            for obj in self.all("Secret")
        }

    def workloads(self) -> Iterator[tuple[str, Obj]]:
        """(name, pod spec) of every Deployment and StatefulSet."""
        for obj in self.objects:
            if obj["kind"] in {"Deployment", "StatefulSet"}:
                yield obj["metadata"]["name"], obj["spec"]["template"]["spec"]


def render_kustomization(directory: Path, name: str) -> Render:
    """``directory`` rendered by kustomize; fails the test naming it when kustomize refuses."""
    # S603: argv from shutil.which and a path this test suite chose; no shell, no outside input.
    completed = subprocess.run(  # noqa: S603
        _kustomize_command(directory),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=ROOT,
    )
    if completed.returncode != 0:
        pytest.fail(f"kustomize could not render {directory}:\n{completed.stderr}")
    objects = [obj for obj in yaml.safe_load_all(completed.stdout) if obj]
    return Render(name, completed.stdout, objects)
