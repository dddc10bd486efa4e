"""Loads the policy catalogue from its JSON files, checked against the JSON Schema at start-up.

The files live in `services/benefits/policies/` (installed as `dcert_benefits.policies`), one
per benefit, beside `policy.schema.json`. A file that does not match the schema, or whose rules
contradict each other, stops the start with a message naming the file and the place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]

from ..domain.calendar import NATIONAL
from ..domain.policies import RULE_FIELDS, BenefitPolicy, Catalogue, PolicyRule

SCHEMA_FILE = "policy.schema.json"
SOURCE_DIR = Path(__file__).resolve().parents[2] / "policies"


class PolicyCatalogueInvalid(ValueError):
    """A policy file is missing, unreadable or breaks the schema."""


def default_policies_dir() -> Path:
    """The source tree's `policies/` (editable installs, tests), else the installed package data."""
    if (SOURCE_DIR / SCHEMA_FILE).is_file():
        return SOURCE_DIR
    return Path(str(resources.files("dcert_benefits.policies")))


def load_catalogue(directory: Path | None = None) -> Catalogue:
    directory = directory or default_policies_dir()
    schema_path = directory / SCHEMA_FILE
    if not schema_path.is_file():
        raise PolicyCatalogueInvalid(f"{schema_path}: the policy schema is missing")
    validator = Draft202012Validator(_read(schema_path), format_checker=Draft202012Validator.FORMAT_CHECKER)
    files = sorted(path for path in directory.glob("*.json") if path.name != SCHEMA_FILE)
    if not files:
        raise PolicyCatalogueInvalid(f"{directory}: no policy files")
    policies = [_policy(path, validator) for path in files]
    codes = [policy.code for policy in policies]
    if len(set(codes)) != len(codes):
        raise PolicyCatalogueInvalid(f"{directory}: two files describe the same benefit")
    return Catalogue(policies)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise PolicyCatalogueInvalid(f"{path.name}: not readable JSON ({error})") from None


def _policy(path: Path, validator: Draft202012Validator) -> BenefitPolicy:
    document = _read(path)
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))
    if errors:
        first = errors[0]
        place = "/".join(str(part) for part in first.absolute_path) or "(top)"
        raise PolicyCatalogueInvalid(f"{path.name}: {place}: {first.message}")
    if path.stem != document["code"]:
        raise PolicyCatalogueInvalid(
            f"{path.name}: the file must be named after its code {document['code']!r}"
        )
    rules = tuple(_rule(raw) for raw in document["rules"])
    _check_rules(path.name, rules)
    return BenefitPolicy(
        code=document["code"],
        version=document["version"],
        name_zh=document["name"]["zh-CN"],
        name_en=document["name"]["en"],
        basis=document["basis"],
        rules=rules,
    )


def _rule(raw: dict[str, Any]) -> PolicyRule:
    return PolicyRule(
        rule_id=raw["id"],
        region=raw["region"],
        effective_from=date.fromisoformat(raw["effective_from"]),
        fields={name: raw[name] for name in RULE_FIELDS if name in raw},
    )


def _check_rules(file_name: str, rules: Iterable[PolicyRule]) -> None:
    seen_ids: set[str] = set()
    seen_starts: set[tuple[str, date]] = set()
    national = False
    for rule in rules:
        if rule.rule_id in seen_ids:
            raise PolicyCatalogueInvalid(f"{file_name}: rule id {rule.rule_id!r} is used twice")
        if (rule.region, rule.effective_from) in seen_starts:
            raise PolicyCatalogueInvalid(
                f"{file_name}: two rules of region {rule.region} start on {rule.effective_from}"
            )
        seen_ids.add(rule.rule_id)
        seen_starts.add((rule.region, rule.effective_from))
        national = national or rule.region == NATIONAL
    if not national:
        raise PolicyCatalogueInvalid(f"{file_name}: no national frame (a rule of region {NATIONAL})")
