"""Settings of the certificate service (local rules are configuration, not code)."""

from __future__ import annotations

import base64
from datetime import date

from pydantic import SecretStr, model_validator

from dcert_shared.settings import ServiceSettings


class CertificateSettings(ServiceSettings):
    service_name: str = "certificate"
    public_notice_working_days: int = 5  # 公示: 5 working days (DOMAIN.md), local
    holidays: list[date] = []
    notice_check_seconds: float = 30.0
    # Ed25519 seed (32 bytes, base64) signing e-certificates; production must set it.
    ecert_signing_seed: SecretStr | None = None

    @model_validator(mode="after")
    def _production_needs_a_signing_key(self) -> CertificateSettings:
        if self.environment == "production" and self.ecert_signing_seed is None:
            raise ValueError("DCERT_ECERT_SIGNING_SEED must be set in production (base64 Ed25519 seed)")
        return self

    @property
    def ecert_seed_bytes(self) -> bytes | None:
        if self.ecert_signing_seed is None:
            return None
        return base64.b64decode(self.ecert_signing_seed.get_secret_value())
