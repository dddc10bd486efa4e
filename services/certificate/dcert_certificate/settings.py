"""Settings of the certificate service (local rules are configuration, not code)."""

from __future__ import annotations

import base64

from pydantic import Field, SecretStr, field_validator, model_validator

from dcert_shared.settings import ServiceSettings

from .offline_verify import public_key


class CertificateSettings(ServiceSettings):
    service_name: str = "certificate"
    # Local rules (docs/domain.md, the new-certificate path): periods in working days on the official calendar.
    public_notice_working_days: int = 5  # 公示
    review_working_days: int = 10  # 县级审核
    dispute_working_days: int = 10  # 复核申请期
    notice_check_seconds: float = 30.0
    renewal_window_months: int = 6  # 换领: may apply this long before expiry, or after it
    renewal_reminder_days: int = 30  # the holder is reminded this many days before the window opens
    renewal_requires_assessment: bool = False
    reapplication_bar_days: int = 365  # after a voluntary cancellation
    expiry_check_seconds: float = 3600.0
    card_overdue_days: int = 30
    # Ed25519 seed (32 bytes, base64) signing e-certificates; production must set it.
    ecert_signing_seed: SecretStr | None = None
    # Earlier keys whose codes still verify, as JSON: {"<key id>": "<base64url raw public key>"}.
    ecert_previous_public_keys: dict[str, str] = {}
    ecert_key_refresh_seconds: float = 60.0  # replicas pick up a key rotated by another this often
    # How long an online e-certificate code (DC1T, the one the phone shows) verifies after it is
    # made: long enough to scan it, short enough that a screenshot is soon worthless.
    ecert_online_code_seconds: int = Field(default=90, ge=5, le=600)

    @field_validator("ecert_previous_public_keys")
    @classmethod
    def _previous_keys_are_ed25519(cls, keys: dict[str, str]) -> dict[str, str]:
        for key_id, text in keys.items():
            try:
                public_key(text)
            except ValueError:
                raise ValueError(f"{key_id}: not a 32-byte Ed25519 public key in base64url") from None
        return keys

    @model_validator(mode="after")
    def _production_needs_a_signing_key(self) -> CertificateSettings:
        if self.environment == "production" and self.ecert_signing_seed is None:
            raise ValueError("DCERT_ECERT_SIGNING_SEED must be set in production (base64 Ed25519 seed)")
        return self

    @model_validator(mode="after")
    def _online_codes_live_long_enough_to_scan(self) -> CertificateSettings:
        # Under 30 s a code shown on a phone may be stale before the gate's scanner reads it;
        # tests shorten it to see a code go stale.
        if self.environment == "production" and self.ecert_online_code_seconds < 30:
            raise ValueError("DCERT_ECERT_ONLINE_CODE_SECONDS must be at least 30 in production")
        return self

    @property
    def ecert_seed_bytes(self) -> bytes | None:
        if self.ecert_signing_seed is None:
            return None
        return base64.b64decode(self.ecert_signing_seed.get_secret_value())
