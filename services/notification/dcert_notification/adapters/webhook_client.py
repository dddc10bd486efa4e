"""Outbound webhook requests: resolve and check the target, sign per Standard Webhooks, POST.

The host is resolved here, every address is checked against the target rules, and the request
goes to the checked address (with the original `Host` and TLS server name), so a DNS answer
that changes between the check and the connection cannot steer a delivery inside our network.
Redirects are not followed and proxies from the environment are not used, for the same reason.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from math import floor

import httpx
from standardwebhooks import Webhook

from dcert_shared.problems import DomainError

from ..domain.delivery import CONTENT_TYPE
from ..domain.webhook_target import IPAddress, WebhookTarget

log = logging.getLogger(__name__)

RESOLVE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Attempt:
    """What one try came to: a status code, or an error code when no answer came back."""

    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signed_headers(secrets: Sequence[str], webhook_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for one try (the timestamp is the try's, the id is stable).
    While a rotated secret overlaps, one signature per secret, space-separated, newest first."""
    at = at.astimezone(UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(floor(at.timestamp())),
        "webhook-signature": " ".join(Webhook(secret).sign(webhook_id, at, body) for secret in secrets),
        "content-type": CONTENT_TYPE,
    }


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=RESOLVE_TIMEOUT_SECONDS
    )
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))


ANSWER_READ_LIMIT = 8192  # bytes of a partner's answer read (and dropped) to keep the connection


class WebhookClient:
    """One pooled HTTP client for every delivery of this process."""

    def __init__(self, timeout_seconds: float, allow_private: bool, max_connections: int = 64) -> None:
        self.allow_private = allow_private
        self.timeout_seconds = timeout_seconds
        self._http = httpx.AsyncClient(
            timeout=timeout_seconds,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"user-agent": "dcert-notification/1.0"},
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def post(self, url: str, secrets: Sequence[str], webhook_id: str, body: str) -> Attempt:
        try:
            requests = await self._pinned_requests(url)
        except DomainError:
            return Attempt(None, "target_refused")
        except (OSError, TimeoutError, ValueError):
            return Attempt(None, "unresolvable")
        signed = signed_headers(secrets, webhook_id, body, datetime.now(UTC))
        attempt = Attempt(None, "unresolvable")
        for request in requests:  # the host's addresses in the resolver's order, until one connects
            attempt = await self._post(request, signed, body)
            if attempt.error != "ConnectError":
                return attempt
        return attempt

    async def _post(self, request: _PinnedRequest, signed: dict[str, str], body: str) -> Attempt:
        """One POST, bounded as a whole by the timeout. Up to a few KiB of the answer are read and
        dropped, so the connection can be kept for the next delivery; a longer answer closes it."""
        try:
            async with asyncio.timeout(self.timeout_seconds):
                async with self._http.stream(
                    "POST",
                    request.url,
                    content=body.encode(),
                    headers={**request.headers, **signed},
                    extensions=request.extensions,
                ) as response:
                    status = response.status_code
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read > ANSWER_READ_LIMIT:
                            break
        except (httpx.TimeoutException, TimeoutError):
            return Attempt(None, "timeout")
        except httpx.HTTPError as error:
            return Attempt(None, type(error).__name__)
        return Attempt(status, None if 200 <= status < 300 else "http_status")

    async def _pinned_requests(self, url: str) -> list[_PinnedRequest]:
        """The URL with its host replaced by each checked address, with the headers that keep it valid."""
        target = WebhookTarget.parse(url, allow_private=self.allow_private)
        if target.host_is_address:
            return [_PinnedRequest(url, {}, {})]
        addresses = await resolve(target.host, target.port)
        target.check_addresses(addresses, allow_private=self.allow_private)
        original = httpx.URL(url)
        headers = {"host": original.netloc.decode("ascii")}
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        return [
            _PinnedRequest(str(original.copy_with(host=str(address))), headers, extensions)
            for address in addresses
        ]


@dataclass(frozen=True)
class _PinnedRequest:
    url: str
    headers: dict[str, str]
    extensions: dict[str, str]
