"""Address classification and resolution checks. Nothing here connects: names resolve through a fake resolver."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest

from switchboard_platform.http import ApiError
from switchboard_platform.netsafety import (
    AddressKind,
    AddressPolicy,
    BlockedAddress,
    CheckedUrl,
    InvalidUrl,
    IPAddress,
    UnresolvableHost,
    check_endpoint_url,
    classify,
    overriding_resolver,
    parse_webhook_url,
    resolve_checked,
)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("93.184.215.14", AddressKind.PUBLIC),
        ("2606:4700::6810:84e5", AddressKind.PUBLIC),
        ("127.0.0.1", AddressKind.LOOPBACK),
        ("127.8.9.10", AddressKind.LOOPBACK),
        ("::1", AddressKind.LOOPBACK),
        ("10.1.2.3", AddressKind.PRIVATE),
        ("172.20.0.1", AddressKind.PRIVATE),
        ("192.168.1.1", AddressKind.PRIVATE),
        ("fd12:3456::1", AddressKind.PRIVATE),
        ("169.254.10.10", AddressKind.LINK_LOCAL),
        ("fe80::1", AddressKind.LINK_LOCAL),
        ("169.254.169.254", AddressKind.METADATA),
        ("fd00:ec2::254", AddressKind.METADATA),
        ("100.100.100.200", AddressKind.METADATA),
        ("100.64.0.1", AddressKind.CGNAT),
        ("0.0.0.0", AddressKind.RESERVED),
        ("::", AddressKind.RESERVED),
        ("224.0.0.1", AddressKind.RESERVED),
        ("192.0.2.10", AddressKind.RESERVED),
        ("::ffff:127.0.0.1", AddressKind.LOOPBACK),
        ("::ffff:169.254.169.254", AddressKind.METADATA),
        ("64:ff9b::a00:1", AddressKind.PRIVATE),
        ("2002:a00:1::", AddressKind.PRIVATE),
    ],
)
def test_classify(address: str, kind: AddressKind) -> None:
    assert classify(ipaddress.ip_address(address)) is kind


# The allow-list: only global unicast is public; every special range is refused under the category its error
# names, and an address embedding an IPv4 address is judged by that IPv4 address.
@pytest.mark.parametrize(
    ("address", "kind"),
    [
        # public
        ("8.8.8.8", AddressKind.PUBLIC),
        ("1.1.1.1", AddressKind.PUBLIC),
        ("2001:4860:4860::8888", AddressKind.PUBLIC),
        ("2a00:1450:4001:80b::200e", AddressKind.PUBLIC),
        ("2620:4f:8000::1", AddressKind.PUBLIC),
        # IPv6 outside global unicast
        ("fec0::1", AddressKind.PRIVATE),
        ("fec0:0:0:1::1", AddressKind.PRIVATE),
        ("feff::1", AddressKind.PRIVATE),
        ("fc00::1", AddressKind.PRIVATE),
        ("64:ff9b:1::a00:1", AddressKind.PRIVATE),
        ("fe80::1%eth0", AddressKind.LINK_LOCAL),
        ("febf::1", AddressKind.LINK_LOCAL),
        ("ff02::1", AddressKind.RESERVED),
        ("ff0e::1", AddressKind.RESERVED),
        ("100::1", AddressKind.RESERVED),
        ("5f00::1", AddressKind.RESERVED),
        ("4000::1", AddressKind.RESERVED),
        ("e000::1", AddressKind.RESERVED),
        ("::ffff:0:a00:1", AddressKind.RESERVED),
        # special-purpose ranges inside 2000::/3
        ("2001:db8::1", AddressKind.RESERVED),
        ("3fff::1", AddressKind.RESERVED),
        ("2001:2::1", AddressKind.RESERVED),
        ("2001:10::1", AddressKind.RESERVED),
        ("2001:1::1", AddressKind.RESERVED),
        # IPv4 special ranges Python's ipaddress calls global
        ("224.0.0.1", AddressKind.RESERVED),
        ("239.255.255.250", AddressKind.RESERVED),
        ("192.88.99.1", AddressKind.RESERVED),
        ("192.0.0.9", AddressKind.RESERVED),
        # and the others
        ("198.18.0.1", AddressKind.RESERVED),
        ("198.51.100.7", AddressKind.RESERVED),
        ("203.0.113.7", AddressKind.RESERVED),
        ("240.0.0.1", AddressKind.RESERVED),
        ("255.255.255.255", AddressKind.RESERVED),
        ("0.1.2.3", AddressKind.RESERVED),
        ("100.127.255.254", AddressKind.CGNAT),
        ("172.31.255.255", AddressKind.PRIVATE),
        ("127.255.255.254", AddressKind.LOOPBACK),
        ("169.254.170.2", AddressKind.METADATA),
        # embedded IPv4: mapped, compatible, NAT64, 6to4, Teredo (client obfuscated, server plain)
        ("::ffff:8.8.8.8", AddressKind.PUBLIC),
        ("::ffff:10.0.0.1", AddressKind.PRIVATE),
        ("::ffff:100.64.0.1", AddressKind.CGNAT),
        ("::808:808", AddressKind.PUBLIC),
        ("::a00:1", AddressKind.PRIVATE),
        ("::7f00:1", AddressKind.LOOPBACK),
        ("64:ff9b::808:808", AddressKind.PUBLIC),
        ("64:ff9b::7f00:1", AddressKind.LOOPBACK),
        ("64:ff9b::a9fe:a9fe", AddressKind.METADATA),
        ("2002:808:808::1", AddressKind.PUBLIC),
        ("2002:7f00:1::", AddressKind.LOOPBACK),
        ("2002:a9fe:a9fe::1", AddressKind.METADATA),
        ("2001:0:808:808:0:0:f7f7:f7f7", AddressKind.PUBLIC),
        ("2001:0:808:808:0:0:80ff:fffe", AddressKind.LOOPBACK),
        ("2001:0:808:808:0:0:f5ff:fffe", AddressKind.PRIVATE),
        ("2001:0:a00:1:0:0:f7f7:f7f7", AddressKind.PRIVATE),
        ("2001::1", AddressKind.RESERVED),
    ],
)
def test_only_global_unicast_is_public(address: str, kind: AddressKind) -> None:
    assert classify(ipaddress.ip_address(address)) is kind


@pytest.mark.parametrize("address", ["fec0::1", "2001:db8::1", "ff02::1", "224.0.0.1", "192.88.99.1"])
async def test_special_ranges_are_refused_by_the_default_policy(address: str) -> None:
    policy = AddressPolicy()
    with pytest.raises(BlockedAddress, match=rf"\({address}\), which webhooks may not target"):
        await resolve_checked(f"[{address}]" if ":" in address else address, 443, policy, _resolver({}))


def test_default_policy_allows_only_public() -> None:
    policy = AddressPolicy()
    assert policy.allows(AddressKind.PUBLIC)
    assert not any(policy.allows(kind) for kind in AddressKind if kind is not AddressKind.PUBLIC)


def test_metadata_is_never_allowed_even_when_private_is() -> None:
    policy = AddressPolicy(allow_loopback=True, allow_private=True)
    assert not policy.allows(AddressKind.METADATA)
    assert not policy.allows(AddressKind.RESERVED)


def _resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    calls: list[str] = []

    async def resolve(host: str, port: int) -> Sequence[IPAddress]:
        calls.append(host)
        if host not in table:
            raise OSError("no such host")
        return [ipaddress.ip_address(a) for a in table[host]]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


async def test_a_name_resolving_to_a_private_address_is_blocked() -> None:
    resolver = _resolver({"internal.example": ["10.0.0.5"]})
    with pytest.raises(BlockedAddress, match=r"private address \(10.0.0.5\)"):
        await resolve_checked("internal.example", 443, AddressPolicy(), resolver)


async def test_one_bad_address_among_good_ones_blocks_the_name() -> None:
    resolver = _resolver({"rebind.example": ["93.184.215.14", "169.254.169.254"]})
    with pytest.raises(BlockedAddress) as caught:
        await resolve_checked("rebind.example", 443, AddressPolicy(), resolver)
    assert caught.value.kind is AddressKind.METADATA


async def test_ip_literals_are_checked_without_resolving() -> None:
    resolver = _resolver({})
    with pytest.raises(BlockedAddress):
        await resolve_checked("[::1]", 443, AddressPolicy(), resolver)
    assert resolver.calls == []


async def test_loopback_passes_when_the_policy_allows_it() -> None:
    resolver = _resolver({"receiver.test": ["127.0.0.1"]})
    addresses = await resolve_checked("receiver.test", 443, AddressPolicy(allow_loopback=True), resolver)
    assert addresses == [ipaddress.ip_address("127.0.0.1")]


async def test_unresolvable_names_are_reported() -> None:
    with pytest.raises(UnresolvableHost):
        await resolve_checked("nowhere.invalid", 443, AddressPolicy(), _resolver({}))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "https://"),
        ("http://example.com/hook", "HTTPS"),
        ("https://user:pw@example.com/hook", "credentials"),
        ("https:///nohost", "no host"),
        ("https://example.com:99999/x", "valid URL"),
    ],
)
def test_bad_urls_say_why(url: str, message: str) -> None:
    with pytest.raises(InvalidUrl, match=message):
        parse_webhook_url(url, allow_http=False)


def test_http_is_allowed_in_development_mode() -> None:
    assert parse_webhook_url("http://127.0.0.1:9000/hook", allow_http=True) == ("http", "127.0.0.1", 9000)


async def test_overrides_answer_before_dns_and_are_still_classified() -> None:
    fallback = _resolver({"other.example": ["93.184.215.14"]})
    resolver = overriding_resolver({"Example.com.": "127.0.0.1"}, fallback)

    assert await resolver("example.com", 443) == [ipaddress.ip_address("127.0.0.1")]
    assert await resolver("other.example", 443) == [ipaddress.ip_address("93.184.215.14")]
    with pytest.raises(BlockedAddress):
        await resolve_checked("example.com", 443, AddressPolicy(), resolver)


async def test_a_blocked_address_names_webhooks_unless_told_otherwise() -> None:
    resolver = _resolver({"internal.example": ["10.0.0.5"]})
    with pytest.raises(BlockedAddress) as webhook:
        await resolve_checked("internal.example", 443, AddressPolicy(), resolver)
    assert str(webhook.value) == (
        "internal.example resolves to a private address (10.0.0.5), which webhooks may not target"
    )
    with pytest.raises(BlockedAddress) as llm:
        await resolve_checked("internal.example", 443, AddressPolicy(), resolver, target="LLM base URLs")
    assert str(llm.value) == (
        "internal.example resolves to a private address (10.0.0.5), which LLM base URLs may not target"
    )


async def test_check_endpoint_url_returns_the_stripped_url_when_allowed() -> None:
    resolver = _resolver({"hooks.example": ["93.184.215.14"]})
    checked = await check_endpoint_url(
        " https://hooks.example/h ", field="url", allow_http=False, policy=AddressPolicy(), resolver=resolver
    )
    assert checked == CheckedUrl("https://hooks.example/h")


async def test_a_host_that_does_not_resolve_is_accepted_with_a_warning_naming_the_field() -> None:
    checked = await check_endpoint_url(
        "https://hooks.internal/h",
        field="outgoing_webhook_url",
        allow_http=False,
        policy=AddressPolicy(),
        resolver=_resolver({}),
    )
    assert checked.url == "https://hooks.internal/h"
    assert [warning.body() for warning in checked.warnings] == [
        {
            "code": "unresolved_host",
            "field": "outgoing_webhook_url",
            "message": "outgoing_webhook_url: hooks.internal does not resolve from here; accepted anyway: every "
            "address it resolves to is checked when it is used, and refused if not allowed",
        }
    ]


async def test_a_host_that_does_not_resolve_is_still_refused_for_other_faults() -> None:
    with pytest.raises(ApiError, match="HTTPS"):
        await check_endpoint_url(
            "http://hooks.internal/h",
            field="url",
            allow_http=False,
            policy=AddressPolicy(),
            resolver=_resolver({}),
        )


@pytest.mark.parametrize(
    ("url", "target", "message"),
    [
        (
            "http://hooks.example/h",
            "webhooks",
            "url: URL must use HTTPS (plain http is allowed only for tenants in development mode)",
        ),
        (
            "https://169.254.169.254/",
            "webhooks",
            "url: 169.254.169.254 resolves to a metadata address (169.254.169.254), which webhooks may not target",
        ),
        (
            "https://169.254.169.254/",
            "LLM base URLs",
            "url: 169.254.169.254 resolves to a metadata address (169.254.169.254), "
            "which LLM base URLs may not target",
        ),
    ],
)
async def test_check_endpoint_url_is_a_422_naming_the_field(url: str, target: str, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        await check_endpoint_url(
            url, field="url", allow_http=False, policy=AddressPolicy(), resolver=_resolver({}), target=target
        )
    assert (caught.value.status_code, caught.value.code, str(caught.value), caught.value.field) == (
        422,
        "invalid_url",
        message,
        "url",
    )


async def test_a_wildcard_override_answers_every_other_name_without_dns() -> None:
    async def no_dns(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        raise AssertionError(f"DNS asked for {host}")

    resolver = overriding_resolver({"*": "192.0.2.1", "hooks.test": "127.0.0.1"}, no_dns)

    assert await resolver("hooks.test", 443) == [ipaddress.ip_address("127.0.0.1")]
    assert await resolver("anything.generated.example", 443) == [ipaddress.ip_address("192.0.2.1")]
