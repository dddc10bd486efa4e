"""Where a webhook may point: the rules that keep partner URLs from reaching inside our network.

A webhook is a request our servers make to an address a partner chose, so a careless rule is a
server-side request forgery. Link-local addresses (169.254/16, fe80::/10) and the cloud metadata
endpoints are never allowed; loopback and private addresses only where the deployment allows
them (embedded runs and tests deliver to 127.0.0.1). A host name is checked by name here and by
every address it resolves to when the subscription is made and again at each delivery.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urlsplit

from dcert_shared.problems import FieldError

from .errors import WebhookUrlRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services: AWS / Azure / GCP / Huawei / Oracle, AWS ECS tasks, Tencent Cloud,
# Alibaba Cloud, AWS over IPv6. Most are link-local too; Alibaba's is not.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "169.254.170.2", "169.254.0.23", "100.100.100.200", "fd00:ec2::254")
)
METADATA_HOSTS: frozenset[str] = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.tencentyun.com",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class WebhookTarget:
    """A partner's webhook URL that passed the rules; `host` is an IP literal or a DNS name."""

    url: str
    scheme: str
    host: str
    port: int

    @property
    def host_is_address(self) -> bool:
        return _as_address(self.host) is not None

    @classmethod
    def parse(cls, url: str, *, allow_private: bool) -> WebhookTarget:
        """Check the URL itself; the addresses a DNS name resolves to are checked by `check_addresses`."""
        if any(character.isspace() or character == "\\" or ord(character) < 32 for character in url):
            _refuse("invalid_url", "the URL contains spaces, control characters or backslashes")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            _refuse("invalid_url", "the URL cannot be parsed")
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            _refuse("scheme_not_allowed", "only http and https URLs are accepted")
        if "@" in parts.netloc:
            _refuse("credentials_not_allowed", "the URL must not carry a user name or password")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            _refuse("host_missing", "the URL has no host")
        if host in METADATA_HOSTS:
            _refuse("metadata_address", "cloud metadata endpoints are never allowed")
        if host == "localhost" or host.endswith(".localhost"):
            host_check = [ipaddress.ip_address("127.0.0.1")]
        else:
            address = _as_address(host)
            host_check = [address] if address is not None else []
        target = cls(url=url, scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80))
        target.check_addresses(host_check, allow_private=allow_private)
        return target

    def check_addresses(self, addresses: Iterable[IPAddress], *, allow_private: bool) -> None:
        """Refuse the target if any address its host stands for is not allowed."""
        for address in addresses:
            reason = refusal(address, allow_private=allow_private)
            if reason is not None:
                _refuse(reason, _MESSAGES[reason])


def refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why a webhook may not go to `address` (a stable code), or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return refusal(address.ipv4_mapped, allow_private=allow_private)
        if address in _NAT64:
            return refusal(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), allow_private=allow_private)
    if address in METADATA_ADDRESSES:
        return "metadata_address"
    if address.is_link_local:
        return "link_local_address"
    if address.is_multicast:
        return "multicast_address"
    if not address.is_global and not allow_private:
        return "private_address"
    return None


_MESSAGES = {
    "metadata_address": "cloud metadata endpoints are never allowed",
    "link_local_address": "link-local addresses (169.254.0.0/16, fe80::/10) are never allowed",
    "multicast_address": "multicast addresses are never allowed",
    "private_address": "loopback and private addresses are not allowed in this deployment",
}


def _as_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _refuse(code: str, message: str) -> NoReturn:
    raise WebhookUrlRefused(detail=message, errors=[FieldError(field="url", code=code, message=message)])
