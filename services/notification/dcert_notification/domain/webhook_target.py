"""Where a webhook may point: the rules that keep partner URLs from reaching inside our network.

A webhook is a request our servers make to an address a partner chose, so a careless rule is a
server-side request forgery. Link-local addresses (169.254/16, fe80::/10) and the cloud metadata
endpoints are never allowed; loopback and private addresses only where the deployment allows
them (embedded runs and tests deliver to 127.0.0.1). A host name is checked by name here and by
every address it resolves to when the subscription is made and again at each delivery.

An IPv6 address may carry an IPv4 one (IPv4-compatible `::a.b.c.d`, mapped `::ffff:a.b.c.d`,
translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`): the IPv4 address inside
is judged instead, so no form of 169.254.169.254 gets through (a Teredo address is judged by
its client and is private besides). Otherwise
only global unicast (2000::/3) outside the special-purpose blocks counts as public; the rest
(site-local `fec0::/10`, the local-use NAT64 prefix `64:ff9b:1::/48`, documentation, ...) is
private. The blocks are listed here rather than taken from `ipaddress.is_global`, whose answer
differs between Python patch releases.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urlsplit

from dcert_shared.problems import Bilingual, FieldError

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
# IPv4 blocks of the IANA special-purpose registry that no public host is reached at (including
# the ones some Python releases call global: 192.0.0.0/24, 100.64.0.0/10, 192.88.99.0/24).
_NOT_PUBLIC_V4 = tuple(
    ipaddress.IPv4Network(block)
    for block in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
# Inside 2000::/3 but not public: IETF protocol assignments (Teredo, ORCHID, benchmarking, ...),
# documentation (RFC 3849, RFC 9637). 6to4 (2002::/16) is judged by the IPv4 address it carries.
_NOT_PUBLIC_V6 = tuple(ipaddress.IPv6Network(block) for block in ("2001::/23", "2001:db8::/32", "3fff::/20"))
# Forms that carry an IPv4 address in their last 32 bits.
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LINK_LOCAL_V6 = ipaddress.IPv6Network("fe80::/10")


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
            _refuse(
                "invalid_url",
                Bilingual(
                    "地址中含有空格、控制字符或反斜杠",
                    "the URL contains spaces, control characters or backslashes",
                ),
            )
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            _refuse("invalid_url", Bilingual("无法解析该地址", "the URL cannot be parsed"))
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            _refuse(
                "scheme_not_allowed",
                Bilingual("只接受 http 和 https 地址", "only http and https URLs are accepted"),
            )
        if "@" in parts.netloc:
            _refuse(
                "credentials_not_allowed",
                Bilingual("地址中不得含有用户名或密码", "the URL must not carry a user name or password"),
            )
        host = (parts.hostname or "").rstrip(".")
        if not host:
            _refuse("host_missing", Bilingual("地址中没有主机名", "the URL has no host"))
        if host in METADATA_HOSTS:
            _refuse("metadata_address", _MESSAGES["metadata_address"])
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
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return refusal(embedded, allow_private=allow_private)
        # Teredo (2001::/32) is no public address whatever its client; the client decides the code.
        client = address.teredo[1] if address.teredo is not None else None
        if client is not None and (reason := refusal(client, allow_private=allow_private)) is not None:
            return reason
    if address in METADATA_ADDRESSES:
        return "metadata_address"
    if address.is_link_local or address in _LINK_LOCAL_V6:
        return "link_local_address"
    if address.is_multicast:
        return "multicast_address"
    if not _public(address) and not allow_private:
        return "private_address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, in every form that carries one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    # `::` and `::1` are the unspecified and loopback addresses, not IPv4-compatible ones.
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _IPV4_TRANSLATED or address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv4Address):
        return address.is_global and not any(address in block for block in _NOT_PUBLIC_V4)
    return (
        address in _GLOBAL_UNICAST
        and address.is_global
        and not any(address in block for block in _NOT_PUBLIC_V6)
    )


_MESSAGES = {
    "metadata_address": Bilingual("不允许使用云平台元数据地址", "cloud metadata endpoints are never allowed"),
    "link_local_address": Bilingual(
        "不允许使用链路本地地址（169.254.0.0/16、fe80::/10）",
        "link-local addresses (169.254.0.0/16, fe80::/10) are never allowed",
    ),
    "multicast_address": Bilingual("不允许使用组播地址", "multicast addresses are never allowed"),
    "private_address": Bilingual(
        "本部署不允许使用环回地址和内网地址",
        "loopback and private addresses are not allowed in this deployment",
    ),
}


def _as_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _refuse(code: str, message: Bilingual) -> NoReturn:
    raise WebhookUrlRefused(detail=message, errors=[FieldError(field="url", code=code, message=message)])
