"""Partner agencies (合作单位) and the data-sharing policy that decides what each one receives."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dcert_shared.aggregate import Aggregate
from dcert_shared.envelope import DomainEvent
from dcert_shared.ids import RegionCode
from dcert_shared.problems import Bilingual, DomainError, FieldError
from dcert_shared.regions import NATIONAL, covers

from .catalogue import FACT_TYPES, KNOWN_EVENT_TYPES
from .errors import PolicyInvalid
from .events import PartnerPolicyChanged, PartnerRegistered

FIELD_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,99}$"
_FIELD_NAME = re.compile(FIELD_NAME_PATTERN)


@dataclass(frozen=True)
class DataSharingPolicy:
    """数据共享策略: which event types a partner receives, which of their fields, and which facts
    it may report, within which jurisdiction (管辖范围: `regions`, province, city or county codes;
    `000000` the whole country). The same policy governs webhooks and any direct NATS access;
    a partner never chooses its own jurisdiction, only narrows it per subscription."""

    event_types: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    regions: tuple[str, ...] = (NATIONAL,)

    @classmethod
    def of(
        cls,
        event_types: Iterable[str],
        fields: Iterable[str],
        facts: Iterable[str],
        regions: Iterable[str] | None = None,
    ) -> DataSharingPolicy:
        """A checked policy: known event types and fact types, plain field names, each once, and
        real region codes. No `regions` at all (a body of API v1, which had none) is the whole
        country, written down as `000000` so that it shows; an empty list is refused."""
        areas, region_errors = _jurisdiction(regions)
        policy = cls(
            _distinct(event_types), _distinct(field.strip() for field in fields), _distinct(facts), areas
        )
        errors = [
            *(
                FieldError(
                    field="policy.event_types",
                    code="unknown_event_type",
                    message=Bilingual(f"未知的事件类型：{event_type}", f"unknown event type: {event_type}"),
                )
                for event_type in policy.event_types
                if event_type not in KNOWN_EVENT_TYPES
            ),
            *(
                FieldError(
                    field="policy.fields",
                    code="invalid_field_name",
                    message=Bilingual(f"不是有效的字段名：{field}", f"not a field name: {field}"),
                )
                for field in policy.fields
                if not _FIELD_NAME.match(field)
            ),
            *(
                FieldError(
                    field="policy.facts",
                    code="unknown_fact_type",
                    message=Bilingual(f"未知的信息类型：{fact}", f"unknown fact type: {fact}"),
                )
                for fact in policy.facts
                if fact not in FACT_TYPES
            ),
            *region_errors,
        ]
        if errors:
            raise PolicyInvalid(errors=errors)
        return policy

    def grants(self, event_type: str) -> bool:
        return event_type in self.event_types

    @property
    def nationwide(self) -> bool:
        return NATIONAL in self.regions

    def covers(self, region: str | None) -> bool:
        """Whether an event of `region` lies in the jurisdiction; one whose region is not known
        lies only in the whole country's."""
        if self.nationwide:
            return True
        return region is not None and any(covers(area, region) for area in self.regions)

    def outside(self, areas: Iterable[str]) -> list[str]:
        """The areas that do not lie wholly in the jurisdiction (a subscription narrows, never widens)."""
        return [area for area in areas if not (self.nationwide or (area != NATIONAL and self.covers(area)))]

    def share(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The event data reduced to the granted fields; a field the event lacks stays absent."""
        return {field: data[field] for field in self.fields if field in data}

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "event_types": list(self.event_types),
            "fields": list(self.fields),
            "facts": list(self.facts),
            "regions": list(self.regions),
        }


@dataclass(frozen=True)
class Onboarding:
    """What the impact assessment records of a partner besides its policy (PIPL Art. 55-56)."""

    legal_basis: str = ""
    purpose: str = ""
    contacts: tuple[Mapping[str, str], ...] = ()


class Partner(Aggregate):
    """合作单位: a partner agency (civil affairs, social security, transport, ...) and its policy,
    versioned: each change is a new version, and the old ones stay in the stream."""

    stream_type = "partner"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.name = ""
        self.policy = DataSharingPolicy()
        self.policy_version = 0
        self.legal_basis = ""
        self.purpose = ""

    @classmethod
    def register(
        cls, partner_id: str, name: str, policy: DataSharingPolicy, onboarding: Onboarding = Onboarding()
    ) -> Partner:
        partner = cls(partner_id)
        partner.trigger(
            PartnerRegistered(
                partner_id=partner_id,
                name=name,
                event_types=list(policy.event_types),
                fields=list(policy.fields),
                facts=list(policy.facts),
                regions=list(policy.regions),
                policy_version=1,
                legal_basis=onboarding.legal_basis,
                purpose=onboarding.purpose,
                contacts=[dict(contact) for contact in onboarding.contacts],
            )
        )
        return partner

    def change_policy(self, policy: DataSharingPolicy, legal_basis: str | None, purpose: str | None) -> bool:
        """A new version of the policy; False (no event) when nothing changes."""
        basis = self.legal_basis if legal_basis is None else legal_basis
        why = self.purpose if purpose is None else purpose
        if (policy, basis, why) == (self.policy, self.legal_basis, self.purpose):
            return False
        self.trigger(
            PartnerPolicyChanged(
                partner_id=self.id,
                policy_version=self.policy_version + 1,
                event_types=list(policy.event_types),
                fields=list(policy.fields),
                facts=list(policy.facts),
                regions=list(policy.regions),
                legal_basis=basis,
                purpose=why,
            )
        )
        return True

    def apply(self, event: DomainEvent) -> None:
        match event:
            case PartnerRegistered():
                self.name = event.name
                self.policy = DataSharingPolicy(
                    tuple(event.event_types), tuple(event.fields), tuple(event.facts), tuple(event.regions)
                )
                self.policy_version = event.policy_version
                self.legal_basis, self.purpose = event.legal_basis, event.purpose
            case PartnerPolicyChanged():
                self.policy = DataSharingPolicy(
                    tuple(event.event_types), tuple(event.fields), tuple(event.facts), tuple(event.regions)
                )
                self.policy_version = event.policy_version
                self.legal_basis, self.purpose = event.legal_basis, event.purpose


def _distinct(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _jurisdiction(regions: Iterable[str] | None) -> tuple[tuple[str, ...], list[FieldError]]:
    """The regions of a policy, each once, the whole country alone when it is named; and what is
    wrong with them."""
    if regions is None:
        return (NATIONAL,), []
    areas = _distinct(region.strip() for region in regions)
    if not areas:
        return areas, [
            FieldError(
                field="policy.regions",
                code="regions_empty",
                message=Bilingual(
                    "管辖范围不能为空（全国为 000000）",
                    "the jurisdiction cannot be empty (000000: the whole country)",
                ),
            )
        ]
    errors = []
    for area in areas:
        if area == NATIONAL:
            continue
        try:
            RegionCode.parse(area)
        except (DomainError, ValueError):
            errors.append(
                FieldError(
                    field="policy.regions",
                    code="region_invalid",
                    message=Bilingual(f"不是有效的行政区划代码：{area}", f"not a region code: {area}"),
                )
            )
    return ((NATIONAL,) if NATIONAL in areas else areas), errors
