"""The service refuses to start on a broken policy catalogue, before touching any server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dcert_benefits.adapters.policy_files import PolicyCatalogueInvalid, default_policies_dir
from dcert_benefits.bootstrap import create_app
from dcert_benefits.settings import BenefitsSettings


def test_a_broken_policy_file_stops_the_start(tmp_path: Path) -> None:
    shutil.copytree(default_policies_dir(), tmp_path, dirs_exist_ok=True)
    living = tmp_path / "living_subsidy.json"
    living.write_text(living.read_text(encoding="utf-8").replace("26200", '"262 元"'), encoding="utf-8")
    settings = BenefitsSettings(
        database_url="postgresql://nowhere/none",
        nats_url="nats://127.0.0.1:1",
        environment="test",
        policies_dir=tmp_path,
    )
    assert settings.service_name == "benefits"
    with pytest.raises(PolicyCatalogueInvalid, match="living_subsidy.json: rules/2/monthly_amount_fen"):
        create_app(settings)
