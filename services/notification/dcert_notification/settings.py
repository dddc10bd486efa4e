"""Settings of the notification service: webhook timeouts, the retry schedule, allowed targets."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from dcert_shared.settings import ServiceSettings

# Seconds between tries: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 12 h, 24 h:
# twelve tries over about 52 hours, so a partner that is down for a day still gets everything.
DEFAULT_RETRY_SCHEDULE_SECONDS: list[float] = [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 86400]


class NotificationSettings(ServiceSettings):
    service_name: str = "notification"
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_schedule_seconds: list[float] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_SCHEDULE_SECONDS), min_length=1
    )
    # Loopback and private targets: allowed in embedded and test runs (partners' receivers run
    # on 127.0.0.1 there), refused in production unless set explicitly. Link-local and cloud
    # metadata addresses are refused whatever this says.
    webhook_allow_private_targets: bool | None = None
    delivery_poll_seconds: float = Field(default=1.0, gt=0)
    delivery_concurrency: int = Field(default=16, ge=1, le=256)
    # After a secret rotation the old secret goes on signing (beside the new one) this long.
    webhook_secret_overlap_hours: float = Field(default=24.0, ge=0)
    # Notices to people. E-mail goes out through this SMTP server, SMS through this HTTP provider;
    # a channel without its setting is not offered (the in-app inbox needs none).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "残疾人证服务 <noreply@dcert.example.cn>"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    sms_provider_url: str | None = None
    sms_api_key: SecretStr | None = None
    sms_sign_name: str = "残疾人证"
    notice_retry_schedule_seconds: list[float] = Field(
        default_factory=lambda: [60.0, 300.0, 1800.0, 7200.0, 21600.0], min_length=1
    )
    dispute_working_days: int = Field(default=10, ge=1)

    @model_validator(mode="after")
    def _delays_are_not_negative(self) -> NotificationSettings:
        if any(delay < 0 for delay in self.webhook_retry_schedule_seconds):
            raise ValueError("DCERT_WEBHOOK_RETRY_SCHEDULE_SECONDS: delays must not be negative")
        return self

    @property
    def allow_private_targets(self) -> bool:
        """`webhook_allow_private_targets` if set, else true everywhere but in production."""
        if self.webhook_allow_private_targets is not None:
            return self.webhook_allow_private_targets
        return self.environment != "production"
