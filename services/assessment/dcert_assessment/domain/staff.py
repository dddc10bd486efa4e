"""Accredited institutions (评定机构), their doctors (评残医生), and values that must stay unique."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from dcert_shared.aggregate import Aggregate
from dcert_shared.envelope import DomainEvent
from dcert_shared.problems import Bilingual, FieldError

from .errors import CategoriesOutsideInstitution
from .events import (
    AccreditationLapsed,
    AccreditationRenewed,
    DoctorRegistered,
    DoctorReinstated,
    DoctorSuspended,
    InstitutionRegistered,
    UniqueKeyClaimed,
)


class Institution(Aggregate):
    """评定机构: an institution of a region, accredited for some disability categories."""

    stream_type = "institution"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.region = ""
        self.categories: tuple[str, ...] = ()
        self.accredited_until: date | None = None
        self.lapsed = False

    @classmethod
    def register(
        cls,
        institution_id: str,
        name: str,
        region: str,
        categories: Iterable[str],
        accredited_until: date | None = None,
    ) -> Institution:
        institution = cls(institution_id)
        institution.trigger(
            InstitutionRegistered(
                institution_id=institution_id,
                name=name,
                region=region,
                categories=_distinct(categories),
                accredited_until=accredited_until,
            )
        )
        return institution

    def renew_accreditation(self, until: date) -> None:
        self.trigger(AccreditationRenewed(institution_id=self.id, accredited_until=until))

    def lapse_if_expired(self, today: date) -> bool:
        """Once per lapse: the day after `accredited_until` the institution stops assessing."""
        if self.lapsed or self.accredited_until is None or today <= self.accredited_until:
            return False
        self.trigger(AccreditationLapsed(institution_id=self.id, accredited_until=self.accredited_until))
        return True

    def apply(self, event: DomainEvent) -> None:
        match event:
            case InstitutionRegistered():
                self.region = event.region
                self.categories = tuple(event.categories)
                self.accredited_until = event.accredited_until
            case AccreditationRenewed():
                self.accredited_until = event.accredited_until
                self.lapsed = False
            case AccreditationLapsed():
                self.lapsed = True


class Doctor(Aggregate):
    """评残医生: assesses only the categories they are qualified for, all within their institution's."""

    stream_type = "doctor"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.institution_id = ""
        self.categories: tuple[str, ...] = ()
        self.suspended = False

    @classmethod
    def register(
        cls,
        doctor_id: str,
        institution: Institution,
        name: str,
        license_no: str,
        categories: Iterable[str],
        home_visits: bool = False,
        person_ref: str | None = None,
    ) -> Doctor:
        wanted = _distinct(categories)
        outside = [category for category in wanted if category not in institution.categories]
        if outside:
            raise CategoriesOutsideInstitution(
                detail=Bilingual(
                    f"不在本机构的评定类别内：{'、'.join(outside)}",
                    f"not among the institution's categories: {', '.join(outside)}",
                ),
                errors=[
                    FieldError(
                        field="categories",
                        code="outside_institution",
                        message=Bilingual(
                            f"本机构不评定 {category}", f"the institution does not assess {category}"
                        ),
                    )
                    for category in outside
                ],
            )
        doctor = cls(doctor_id)
        doctor.trigger(
            DoctorRegistered(
                doctor_id=doctor_id,
                institution_id=institution.id,
                categories=wanted,
                name=name,
                license_no=license_no,
                home_visits=home_visits,
                person_ref=person_ref,
            )
        )
        return doctor

    def qualified_for(self, category: str) -> bool:
        return category in self.categories

    def suspend(self, reason: str) -> bool:
        if self.suspended:
            return False
        self.trigger(DoctorSuspended(doctor_id=self.id, reason=reason))
        return True

    def reinstate(self) -> bool:
        if not self.suspended:
            return False
        self.trigger(DoctorReinstated(doctor_id=self.id))
        return True

    def apply(self, event: DomainEvent) -> None:
        match event:
            case DoctorRegistered():
                self.institution_id = event.institution_id
                self.categories = tuple(event.categories)
            case DoctorSuspended():
                self.suspended = True
            case DoctorReinstated():
                self.suspended = False


class UniqueKey(Aggregate):
    """A value that may belong to one owner only (a licence number, an application's assessment).

    Its stream is keyed by the value, so two owners claiming it at once collide on the stream
    version: the second one decides again and finds it taken.
    """

    stream_type = "unique"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.owner_id = ""

    @staticmethod
    def key_id(kind: str, value: str) -> str:
        return f"{kind}:{value}"

    @classmethod
    def claim(cls, kind: str, value: str, owner_id: str) -> UniqueKey:
        key = cls(cls.key_id(kind, value))
        key.trigger(UniqueKeyClaimed(owner_id=owner_id))
        return key

    def apply(self, event: DomainEvent) -> None:
        match event:
            case UniqueKeyClaimed():
                self.owner_id = event.owner_id


def _distinct(categories: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(categories))
