"""Provider adapters for notices: e-mail over SMTP, SMS through an HTTP provider.

Both raise `ChannelError` with a short, body-free reason (never the address, the number or the
text) on any failure, so the sender can record and retry without logging personal data.

SMS providers in China (Aliyun, Tencent Cloud, ...) take a signed request naming a registered
template and its parameters; the interface here is the common shape: `POST <url>` with a bearer
key and `{"to", "sign_name", "template", "params", "text"}`; a 2xx answer is accepted. A deployment
adapts the provider behind that, or replaces `SmsChannel`.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
import httpx


class ChannelError(Exception):
    """A try that did not deliver; `reason` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Channel(Protocol):
    name: str

    async def send(self, to: str, title: str, text: str, template: str, params: dict[str, str]) -> None: ...


class SmtpChannel:
    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout_seconds: float = 10,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.starttls, self.timeout_seconds = starttls, timeout_seconds

    async def send(self, to: str, title: str, text: str, template: str, params: dict[str, str]) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = title
        message.set_content(text)  # UTF-8, as Chinese text needs
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.starttls,
                timeout=self.timeout_seconds,
            )
        except aiosmtplib.SMTPResponseException as error:
            raise ChannelError(f"smtp_{error.code}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise ChannelError(type(error).__name__) from None


class SmsChannel:
    name = "sms"

    def __init__(self, url: str, api_key: str, sign_name: str, timeout_seconds: float = 10) -> None:
        self.url, self.sign_name = url, sign_name
        self._http = httpx.AsyncClient(
            timeout=timeout_seconds,
            follow_redirects=False,
            trust_env=False,
            headers={"authorization": f"Bearer {api_key}", "user-agent": "dcert-notification/1.0"},
        )

    async def send(self, to: str, title: str, text: str, template: str, params: dict[str, str]) -> None:
        body = {"to": to, "sign_name": self.sign_name, "template": template, "params": params, "text": text}
        try:
            answer = await self._http.post(self.url, json=body)
        except httpx.HTTPError as error:
            raise ChannelError(type(error).__name__) from None
        if not answer.is_success:
            raise ChannelError(f"http_{answer.status_code}")

    async def close(self) -> None:
        await self._http.aclose()
