"""seed 004 widget origins: accepted as browsers send them, refused with a reason otherwise."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from switchboard_registry.domain.widget import WidgetPolicy, origin


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://www.acme.com", "https://www.acme.com"),
        ("https://WWW.Acme.com/", "https://www.acme.com"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("https://*.acme.com", "https://*.acme.com"),  # the ingress matches any subdomain
    ],
)
def test_origins_are_normalized_like_the_origin_header(given: str, expected: str) -> None:
    assert origin(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "www.acme.com",
        "ftp://acme.com",
        "https://acme.com/chat",
        "https://acme.com?x=1",
        "https://u:p@acme.com",
        "*",
    ],
)
def test_anything_but_an_origin_is_refused(given: str) -> None:
    with pytest.raises(ValueError, match="origin"):
        origin(given)


def test_the_policy_names_the_bad_origin_and_drops_duplicates() -> None:
    policy = WidgetPolicy(allowed_origins=["https://acme.com", "https://ACME.com/"], csrf=True)
    assert policy.allowed_origins == ["https://acme.com"]
    with pytest.raises(ValidationError) as raised:
        WidgetPolicy(allowed_origins=["https://acme.com/path"])
    assert raised.value.errors()[0]["loc"] == ("allowed_origins",)
