"""Settings of the benefits service: where the policy catalogue is read from."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from dcert_shared.settings import ServiceSettings


class BenefitsSettings(ServiceSettings):
    service_name: str = "benefits"
    # The folder of policy files (one JSON file per benefit and policy.schema.json); by default
    # the catalogue shipped with the service (services/benefits/policies/).
    policies_dir: Path | None = None
    # How often versions recorded elsewhere are taken up and rule changes not applied yet are
    # applied to their holders (also at start; POST /v1/jobs/policy-effects does it at once).
    policy_effects_seconds: float = 60.0
    # Holders per transaction of a monthly run (each batch commits with the run's cursor).
    run_batch_size: int = Field(default=20_000, gt=0)
