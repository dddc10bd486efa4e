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
    validator = _validator(directory)
    files = sorted(path for path in directory.glob("*.json") if path.name != SCHEMA_FILE)
    if not files:
        raise PolicyCatalogueInvalid(f"{directory}: no policy files")
    policies = [_policy_file(path, validator) for path in files]
    codes = [policy.code for policy in policies]
    if len(set(codes)) != len(codes):
        raise PolicyCatalogueInvalid(f"{directory}: two files describe the same benefit")
    return Catalogue(policies)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise PolicyCatalogueInvalid(f"{path.name}: not readable JSON ({error})") from None


def policy_document_json_schema() -> dict[str, Any]:
    """The policy schema for an OpenAPI document: its rule definition inlined (a `$ref` there
    would point into the OpenAPI document), and the rule `_check_rules` adds that JSON Schema can
    say, a national frame. Rule ids used twice and overlapping rules it cannot say."""
    schema = _read(default_policies_dir() / SCHEMA_FILE)
    rule = schema.pop("$defs")["rule"]
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    national = {"type": "object", "properties": {"region": {"const": NATIONAL}}, "required": ["region"]}
    schema["properties"]["rules"] = {**schema["properties"]["rules"], "items": rule, "contains": national}
    return schema  # type: ignore[no-any-return]


def _validator(directory: Path | None = None) -> Draft202012Validator:
    schema_path = (directory or default_policies_dir()) / SCHEMA_FILE
    return Draft202012Validator(_read(schema_path), format_checker=Draft202012Validator.FORMAT_CHECKER)


def parse_policy(document: Any, source: str, validator: Draft202012Validator | None = None) -> BenefitPolicy:
    """A policy document (a file's content, or a version sent to the admin API) checked against
    the schema and for rules that contradict each other; `source` names it in the complaint."""
    validator = validator or _validator()
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))
    if errors:
        first = errors[0]
        place = "/".join(str(part) for part in first.absolute_path) or "(top)"
        raise PolicyCatalogueInvalid(f"{source}: {place}: {first.message}")
    rules = tuple(_rule(raw) for raw in document["rules"])
    _check_rules(source, rules)
    return BenefitPolicy(
        code=document["code"],
        version=document["version"],
        name_zh=document["name"]["zh-CN"],
        name_en=document["name"]["en"],
        basis=document["basis"],
        rules=rules,
        document=document,
    )


def _policy_file(path: Path, validator: Draft202012Validator) -> BenefitPolicy:
    document = _read(path)
    policy = parse_policy(document, path.name, validator)
    if path.stem != policy.code:
        raise PolicyCatalogueInvalid(f"{path.name}: the file must be named after its code {policy.code!r}")
    return policy


def _rule(raw: dict[str, Any]) -> PolicyRule:
    return PolicyRule(
        rule_id=raw["id"],
        region=raw["region"],
        effective_from=date.fromisoformat(raw["effective_from"]),
        effective_to=date.fromisoformat(raw["effective_to"]) if "effective_to" in raw else None,
        fields={name: raw[name] for name in RULE_FIELDS if name in raw},
    )


def _check_rules(source: str, rules: Iterable[PolicyRule]) -> None:
    """Rule ids unique; each region's rules one after another, never two at the same time."""
    seen_ids: set[str] = set()
    by_region: dict[str, list[PolicyRule]] = {}
    for rule in rules:
        if rule.rule_id in seen_ids:
            raise PolicyCatalogueInvalid(f"{source}: rule id {rule.rule_id!r} is used twice")
        seen_ids.add(rule.rule_id)
        if rule.effective_to is not None and rule.effective_to < rule.effective_from:
            raise PolicyCatalogueInvalid(f"{source}: rule {rule.rule_id!r} ends before it starts")
        by_region.setdefault(rule.region, []).append(rule)
    if NATIONAL not in by_region:
        raise PolicyCatalogueInvalid(f"{source}: no national frame (a rule of region {NATIONAL})")
    for region, in_region in by_region.items():
        in_region.sort(key=lambda rule: rule.effective_from)
        for earlier, later in zip(in_region, in_region[1:], strict=False):
            if earlier.effective_from == later.effective_from:
                raise PolicyCatalogueInvalid(
                    f"{source}: two rules of region {region} start on {later.effective_from}"
                    f" ({earlier.rule_id!r}, {later.rule_id!r})"
                )
            if earlier.effective_to is not None and earlier.effective_to >= later.effective_from:
                raise PolicyCatalogueInvalid(
                    f"{source}: rules {earlier.rule_id!r} and {later.rule_id!r} of region {region} overlap:"
                    f" the first runs to {earlier.effective_to}, the second starts on {later.effective_from}"
                )
