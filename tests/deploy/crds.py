"""Custom resources validated against their operators' own CRDs, offline.

`make tools` (``deploy/local/tools.sh crds``) caches each operator's CustomResourceDefinitions at the versions and
checksums ``deploy/k8s/crds/versions.env`` pins. Each served version's ``openAPIV3Schema`` is turned into a JSON
Schema the way the API server reads it, and checked with ``jsonschema`` (the same library kubernetes-validate
uses for the built-in kinds, so one mechanism covers every object and no other toolchain is needed):

- strict like ``kubectl apply --validate=strict``: an object with ``properties`` accepts no other field unless it
  says ``x-kubernetes-preserve-unknown-fields`` (a misspelt field fails instead of being pruned silently);
- ``x-kubernetes-int-or-string`` accepts both, ``nullable`` accepts null.

What is not checked: CEL rules (``x-kubernetes-validations``) and ``metadata`` beyond its type — the API server's
own parts that need a server. Why not kubeconform: it would need a Go build and a CRD-to-JSON-Schema conversion
step of its own, for the same jsonschema check in the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in the lock; a dependency of kubernetes-validate
import kubernetes_validate  # type: ignore[import-untyped]  # ships no type hints
import pytest
import yaml

from .apps import ROOT

PINS = ROOT / "deploy" / "k8s" / "crds" / "versions.env"
INSTALL_HINT = "the operators' CRDs are not in the cache: run `make tools` (deploy/local/tools.sh crds)"
#: The CRD files each component's custom resources need, by the directory tools.sh caches them in.
CRD_FILES = {
    "keda-{KEDA_VERSION}": ["keda.sh_scaledobjects.yaml"],
    "prometheus-operator-{PROMETHEUS_OPERATOR_VERSION}": [
        "monitoring.coreos.com_servicemonitors.yaml",
        "monitoring.coreos.com_prometheusrules.yaml",
    ],
    "strimzi-{STRIMZI_VERSION}": [
        "kafka.strimzi.io_kafkas.yaml",
        "kafka.strimzi.io_kafkanodepools.yaml",
        "kafka.strimzi.io_kafkatopics.yaml",
    ],
}
#: The Kubernetes version kubernetes-validate knows the built-in kinds of (as test_k8s.py).
KUBERNETES_VERSION = "1.32"

Obj = dict[str, Any]


def pins() -> dict[str, str]:
    """versions.env's KEY=VALUE lines."""
    result = {}
    for line in PINS.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            result[key.strip()] = value.strip()
    return result


def cache_dir() -> Path:
    """Where tools.sh keeps them: as deploy/local/lib.sh's SB_CACHE_DIR."""
    explicit = os.environ.get("SB_CACHE_DIR")
    if explicit:
        return Path(explicit) / "crds"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "switchboard" / "crds"


def crd_paths() -> list[Path]:
    versions = pins()
    return [
        cache_dir() / directory.format(**versions) / name
        for directory, names in CRD_FILES.items()
        for name in names
    ]


def structural_to_json_schema(node: Obj) -> Obj:
    """A CRD's structural schema as the JSON Schema the API server effectively enforces (see the module doc)."""
    schema: Obj = {}
    for key, value in node.items():
        if key in {"x-kubernetes-validations", "description"}:
            continue  # CEL needs a server; descriptions are prose
        if key == "properties":
            schema[key] = {name: structural_to_json_schema(sub) for name, sub in value.items()}
        elif key in {"items", "not"} or (key == "additionalProperties" and isinstance(value, dict)):
            schema[key] = structural_to_json_schema(value)
        elif key in {"anyOf", "allOf", "oneOf"}:
            schema[key] = [structural_to_json_schema(sub) for sub in value]
        else:
            schema[key] = value
    if schema.pop("x-kubernetes-int-or-string", False):
        schema.pop("type", None)
        schema["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    preserve = schema.pop("x-kubernetes-preserve-unknown-fields", False)
    if schema.pop("nullable", False) and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    if "properties" in schema and "additionalProperties" not in schema and not preserve:
        schema["additionalProperties"] = False
    return schema


@dataclass(frozen=True)
class CustomResourceSchemas:
    """The JSON Schema of every served (apiVersion, kind) of the cached CRDs."""

    schemas: dict[tuple[str, str], Obj]

    def errors(self, obj: Obj) -> list[str]:
        """What is wrong with ``obj`` for its operator, one line each; empty when it is valid."""
        key = (obj.get("apiVersion", ""), obj.get("kind", ""))
        where = f"{key[1]}/{obj.get('metadata', {}).get('name', '?')}"
        schema = self.schemas.get(key)
        if schema is None:
            return [f"{where}: no CRD serves {key[0]} {key[1]}"]
        validator = jsonschema.Draft4Validator(schema)
        return sorted(
            f"{where}: {'.'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
            for error in validator.iter_errors(obj)
        )


def _served_versions(crd: Obj) -> Iterator[tuple[tuple[str, str], Obj]]:
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    for version in crd["spec"]["versions"]:
        if version.get("served", False):
            yield (f"{group}/{version['name']}", kind), version["schema"]["openAPIV3Schema"]


@cache
def _load(paths: tuple[Path, ...]) -> CustomResourceSchemas:
    schemas: dict[tuple[str, str], Obj] = {}
    for path in paths:
        for crd in yaml.safe_load_all(path.read_text()):
            if crd and crd.get("kind") == "CustomResourceDefinition":
                for key, schema in _served_versions(crd):
                    schemas[key] = structural_to_json_schema(schema)
    return CustomResourceSchemas(schemas)


def custom_resource_schemas() -> CustomResourceSchemas:
    """The cached CRDs' schemas; fails the test with the command to run when they are not cached."""
    paths = crd_paths()
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        pytest.fail(f"{INSTALL_HINT}; missing: {', '.join(missing)}")
    return _load(tuple(paths))


@cache
def _is_builtin(api_version: str, kind: str) -> bool:
    try:
        kubernetes_validate.validate({"apiVersion": api_version, "kind": kind}, KUBERNETES_VERSION)
    except kubernetes_validate.SchemaNotFoundError:
        return False
    except kubernetes_validate.ValidationError:
        return True
    return True


def is_custom(obj: Obj) -> bool:
    """True for a kind the Kubernetes API does not define itself (a custom resource)."""
    return not _is_builtin(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
