"""A client of the public HTTP API that rides out faults: it retries what a fault can cause.

Refused or broken connections, timeouts, 401, 429 and 5xx answers are tried again (on the next
process of the service, if it has two) until the call's patience runs out (a service that has
not fetched the issuer's key set yet answers 401). Creating
POSTs carry an Idempotency-Key, so a retry after a lost answer does not create twice; callers of
the few POSTs that have no key accept the 409 of a step already taken. Messages name the call by
a label, never by its path: paths hold certificate numbers, which hold identity numbers.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from .auth import TokenIssuer
from .system import ServiceSet

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


class Unavailable(Exception):
    """A call that did not get a usable answer within its patience."""


@dataclass
class Token:
    """A development token for one principal, signed when first needed."""

    role: str
    subject: str
    claims: dict[str, str] = field(default_factory=dict)
    value: str | None = None


@dataclass
class Api:
    services: ServiceSet
    issuer: TokenIssuer
    patience: float = 90.0  # seconds a call keeps trying
    timeout: float = 15.0  # one try
    retried: Counter[str] = field(default_factory=Counter)  # what made calls try again, by kind
    http: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
        self.http = httpx.AsyncClient(timeout=self.timeout, limits=limits)

    async def close(self) -> None:
        await self.http.aclose()

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        label: str,
        body: Any = None,
        token: Token | None = None,
        key: str | None = None,
        patience: float | None = None,
    ) -> httpx.Response:
        """One call, tried until it gets an answer that is not a fault's (any 2xx/4xx but 401/429)."""
        deadline = time.monotonic() + (self.patience if patience is None else patience)
        pause = 0.2
        while True:
            headers = {"Idempotency-Key": key} if key else {}
            reason: str
            try:
                if token is not None:
                    if token.value is None:
                        token.value = self.issuer.issue(token.role, token.subject, token.claims)
                    headers["Authorization"] = f"Bearer {token.value}"
                url = self.services.url(service) + path
                answer = await self.http.request(method, url, json=body, headers=headers)
            except httpx.TransportError as error:
                reason = type(error).__name__
            else:
                if answer.status_code in RETRIED_STATUSES or (answer.status_code == 401 and token):
                    reason = str(answer.status_code)
                else:
                    return answer
            self.retried[reason] += 1
            if time.monotonic() > deadline:
                raise Unavailable(f"{label}: {reason}")
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, 2.0)

    async def once(
        self,
        service: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        token: Token | None = None,
        key: str | None = None,
        timeout: float,
    ) -> httpx.Response:
        """One try, no retry: what a person at a counter sees (httpx.HTTPError when no answer)."""
        headers = {"Idempotency-Key": key} if key else {}
        if token is not None:
            if token.value is None:
                token.value = self.issuer.issue(token.role, token.subject, token.claims)
            headers["Authorization"] = f"Bearer {token.value}"
        url = self.services.url(service) + path
        return await self.http.request(method, url, json=body, headers=headers, timeout=timeout)

    async def expect(
        self,
        service: str,
        method: str,
        path: str,
        *statuses: int,
        label: str,
        body: Any = None,
        token: Token | None = None,
        key: str | None = None,
        patience: float | None = None,
    ) -> httpx.Response:
        """`call`, and an UnexpectedAnswer unless the status is one of `statuses`."""
        answer = await self.call(
            service, method, path, label=label, body=body, token=token, key=key, patience=patience
        )
        if answer.status_code not in statuses:
            raise UnexpectedAnswer(label, answer)
        return answer


class UnexpectedAnswer(Exception):
    """An answer the story did not expect: its status and problem code (never the body's data)."""

    def __init__(self, label: str, answer: httpx.Response) -> None:
        code = ""
        if answer.headers.get("content-type", "").startswith("application/problem+json"):
            try:
                code = str(answer.json().get("code") or "")
            except ValueError:
                code = ""
        self.status = answer.status_code
        self.code = code
        super().__init__(f"{label}: {answer.status_code}{' ' + code if code else ''}")
