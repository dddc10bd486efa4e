"""The four services as the portal sees them: their public HTTP APIs (docs/api.md), called with the
signed-in person's bearer token and the page's language; nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from .settings import PortalSettings


class SignedOut(Exception):
    """A service refused the token (401): it expired or was revoked; the person signs in again."""


class ServiceUnavailable(Exception):
    """A service did not answer, or answered with a 5xx."""


@dataclass
class Services:
    certificate: httpx.AsyncClient
    notification: httpx.AsyncClient
    assessment: httpx.AsyncClient
    benefits: httpx.AsyncClient

    @classmethod
    def of(cls, settings: PortalSettings) -> Services:
        def client(base_url: str) -> httpx.AsyncClient:
            return httpx.AsyncClient(base_url=base_url, timeout=settings.request_timeout_seconds)

        return cls(
            certificate=client(settings.certificate_url),
            notification=client(settings.notification_url),
            assessment=client(settings.assessment_url),
            benefits=client(settings.benefits_url),
        )

    async def aclose(self) -> None:
        await self.certificate.aclose()
        await self.notification.aclose()
        await self.assessment.aclose()
        await self.benefits.aclose()

    async def dev_token(self, role: str, subject: str, claims: dict[str, str]) -> str | None:
        """A development token (`POST /v1/dev/tokens`); None where development sign-in is off."""
        answer = await _send(
            self.certificate,
            "POST",
            "/v1/dev/tokens",
            json={"role": role, "subject": subject, "claims": claims},
        )
        if answer.status_code == 404:
            return None
        _raise_for_status(answer)
        return str(answer.json()["access_token"])

    async def grading_check(
        self, token: str, language: str, category: str, age_years: int, measurements: dict[str, float]
    ) -> dict[str, Any]:
        """The assessment service's grading check (`POST /v1/grading/check`): what the measurements
        give. The form sends only numbers it has checked, so any other answer than 200 (a refusal,
        too many requests) means the check cannot be given now."""
        answer = await self.call(
            self.assessment,
            "POST",
            "/v1/grading/check",
            token,
            language,
            json={"category": category, "age_years": age_years, "measurements": measurements},
        )
        if answer.status_code != 200:
            raise ServiceUnavailable(str(answer.request.url))
        check: dict[str, Any] = answer.json()
        return check

    async def call(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        token: str,
        language: str,
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A call as the signed-in person. 401 raises SignedOut, 5xx ServiceUnavailable; other
        answers (2xx, 4xx problem details) are returned for the page to show."""
        all_headers = {"Authorization": f"Bearer {token}", "Accept-Language": language, **(headers or {})}
        answer = await _send(client, method, path, json=json, headers=all_headers, params=params)
        _raise_for_status(answer)
        return answer


async def _send(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        return await client.request(method, path, **kwargs)
    except httpx.HTTPError as error:
        raise ServiceUnavailable(str(client.base_url)) from error


def _raise_for_status(answer: httpx.Response) -> None:
    if answer.status_code == 401:
        raise SignedOut
    if answer.status_code >= 500:
        raise ServiceUnavailable(str(answer.request.url.copy_with(query=None)))
