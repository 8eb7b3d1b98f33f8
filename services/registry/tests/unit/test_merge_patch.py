"""JSON Merge Patch (RFC 7396), the semantics of every registry PUT/PATCH on integrations and conversations."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from switchboard_registry.domain.patch import InvalidConfig, is_masked, merge_patch, validated


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [
        # RFC 7396 appendix A
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({"a": "foo"}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc_7396(
    target: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert merge_patch(target, patch) == expected


def test_merge_patch_leaves_its_arguments_unchanged() -> None:
    target = {"config": {"callback_url": "https://a.example/h", "workflow_id": "1"}}
    patch = {"config": {"workflow_id": None}}

    merge_patch(target, patch)

    assert target == {"config": {"callback_url": "https://a.example/h", "workflow_id": "1"}}
    assert patch == {"config": {"workflow_id": None}}


def test_a_masked_secret_is_recognised_by_its_prefix() -> None:
    assert is_masked("••••abcd")
    assert not is_masked("abcd••••")
    assert not is_masked(None)


class _Limits(BaseModel):
    timeout_seconds: int = Field(le=30)


def test_validated_names_the_first_invalid_field() -> None:
    with pytest.raises(InvalidConfig) as raised:
        validated(_Limits, {"timeout_seconds": 31})
    assert raised.value.field == "timeout_seconds"
    assert "30" in raised.value.message
