"""Server-side request forgery through a partner's webhook: an address written in one of the many
IPv6 forms that carry an IPv4 address (or that no public host has) must be refused as the plain
address would be, by the same rules, when the subscription is made and at each delivery."""

from __future__ import annotations

import ipaddress

import pytest

from dcert_notification.domain.errors import WebhookUrlRefused
from dcert_notification.domain.webhook_target import WebhookTarget, refusal


def refused_code(url: str, *, allow_private: bool) -> str:
    with pytest.raises(WebhookUrlRefused) as refused:
        WebhookTarget.parse(url, allow_private=allow_private)
    [error] = refused.value.errors or []
    assert error.field == "url"
    return error.code


@pytest.mark.parametrize(
    ("address", "code"),
    [
        # IPv4-compatible (::a.b.c.d, deprecated by RFC 4291 but still parsed and routed by some stacks)
        ("::127.0.0.1", "private_address"),
        ("::10.0.0.5", "private_address"),
        ("::192.168.1.1", "private_address"),
        # IPv4-mapped, in both spellings, and IPv4-translated (RFC 2765 SIIT)
        ("::ffff:10.0.0.5", "private_address"),
        ("::ffff:a00:5", "private_address"),
        ("::ffff:0:10.0.0.5", "private_address"),
        # Site-local (deprecated by RFC 3879, still private space where it is used)
        ("fec0::1", "private_address"),
        ("feff:ffff::1", "private_address"),
        # NAT64: the well-known prefix with a private IPv4, and the local-use prefix (RFC 8215)
        ("64:ff9b::10.0.0.5", "private_address"),
        ("64:ff9b:1::a00:5", "private_address"),
        ("64:ff9b:1:ffff::8.8.8.8", "private_address"),
        # 6to4 embedding a private or loopback IPv4 (RFC 3056)
        ("2002:a00:5::1", "private_address"),
        ("2002:7f00:1::", "private_address"),
        ("2002:c0a8:101::1", "private_address"),
        # Teredo (RFC 4380), documentation (RFC 3849, RFC 9637), discard (RFC 6666), ORCHID
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "private_address"),
        ("2001:db8::1", "private_address"),
        ("3fff::1", "private_address"),
        ("100::1", "private_address"),
        ("2001:20::1", "private_address"),
        # Outside global unicast (2000::/3): nothing public lives there
        ("5f00::1", "private_address"),
        ("4000::1", "private_address"),
        ("::", "private_address"),
        # IPv4 special-purpose blocks the standard library calls global on some versions
        ("192.0.0.8", "private_address"),
        ("100.64.0.1", "private_address"),
        ("198.18.0.1", "private_address"),
        ("192.88.99.1", "private_address"),
        ("0.0.0.0", "private_address"),
    ],
)
def test_internal_addresses_in_disguise_are_refused_where_private_targets_are(
    address: str, code: str
) -> None:
    url = f"http://[{address}]:8080/hook" if ":" in address else f"http://{address}:8080/hook"
    assert refused_code(url, allow_private=False) == code


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("::169.254.169.254", "metadata_address"),
        ("::ffff:0:169.254.169.254", "metadata_address"),
        ("64:ff9b::169.254.169.254", "metadata_address"),
        ("2002:a9fe:a9fe::1", "metadata_address"),
        ("::100.100.100.200", "metadata_address"),
        ("2002:6464:64c8::", "metadata_address"),
        ("::169.254.10.1", "link_local_address"),
        ("2002:a9fe:a01::1", "link_local_address"),
        ("64:ff9b::224.0.0.1", "multicast_address"),
        ("ff02::1", "multicast_address"),
    ],
)
def test_metadata_and_link_local_addresses_in_disguise_are_refused_everywhere(
    address: str, code: str
) -> None:
    """Embedded runs and tests allow loopback and private targets; never these."""
    assert refused_code(f"http://[{address}]/hook", allow_private=True) == code


@pytest.mark.parametrize(
    "address",
    [
        "2400:3200::1",  # a public resolver in China
        "2620:0:2d0:200::7",
        "2a00:1450:4001:82b::200e",
        "64:ff9b::8.8.8.8",  # NAT64 to a public IPv4
        "2002:808:808::1",  # 6to4 of a public IPv4
        "::ffff:114.114.114.114",
        "114.114.114.114",
        "8.8.8.8",
    ],
)
def test_genuine_public_addresses_are_still_accepted(address: str) -> None:
    url = f"https://[{address}]/hook" if ":" in address else f"https://{address}/hook"
    assert WebhookTarget.parse(url, allow_private=False).url == url


def test_a_resolved_address_in_disguise_is_refused_at_delivery_too() -> None:
    """A DNS name's AAAA records go through the same rules (the client resolves, then checks)."""
    target = WebhookTarget.parse("https://hooks.partner.example/", allow_private=False)
    for address in ("::10.0.0.5", "2002:a00:5::1", "64:ff9b:1::a00:5", "fec0::1"):
        with pytest.raises(WebhookUrlRefused):
            target.check_addresses([ipaddress.ip_address(address)], allow_private=False)
    assert refusal(ipaddress.ip_address("2400:3200::1"), allow_private=False) is None


def test_a_teredo_tunnel_is_no_public_target_even_to_a_public_client() -> None:
    # Teredo: server 65.54.227.120, client 8.8.8.8 (obfuscated: bits inverted in the last 32)
    public_client = ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:f7f7:f7f7")
    assert public_client.teredo is not None
    assert str(public_client.teredo[1]) == "8.8.8.8"
    assert refusal(public_client, allow_private=False) == "private_address"
    metadata_client = ipaddress.IPv6Address(int(public_client) & ~0xFFFFFFFF | (~0xA9FEA9FE & 0xFFFFFFFF))
    assert refusal(metadata_client, allow_private=True) == "metadata_address"
