"""Whether a holder of the export becomes a certificate here, and the events that make them one.

The person's stream decides, as for an application: one live certificate per person in the
whole country, nothing for an erased person. A certificate stream that was imported before
(whatever became of it since) makes the row `present`, so a second run of a file, or a run
resumed after a crash, imports nothing twice.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from .certificate import Certificate, Holder
from .legacy_import import LegacyCertificate
from .person import Person, last_day_as_minor


class ImportOutcome(StrEnum):
    IMPORTED = "imported"
    PRESENT = "present"  # imported by an earlier run


def import_holder(
    person: Person, certificate: Certificate, legacy: LegacyCertificate, today: date, benefits_from: date
) -> ImportOutcome | str:
    """Import `legacy` onto these streams, or say why not: `present`, or the code of the
    refusal (`live_certificate_exists`, `open_application_exists`, `person_erased`,
    `reapplication_barred`) that an application of the person would meet now."""
    if certificate.imported:
        return ImportOutcome.PRESENT
    refusal = person.new_application_refusal(today)
    if refusal is not None:
        return refusal
    if certificate.is_live:  # a number live without its person knowing: never overwritten
        return "live_certificate_exists"
    certificate.import_legacy(
        legacy,
        Holder(
            person_ref=legacy.person_ref,
            agent_refs=person.verified_agents,
            name=legacy.name,
            mail_address=legacy.address or "",
            age_years=_age(legacy.birth_date, today),
        ),
        benefits_from,
    )
    person.record_live(certificate.id)
    age = _age(legacy.birth_date, today)
    if legacy.guardian is not None:
        # The national register's word, as a household-register fact would give it: the
        # guardian's claim to act for the child, when they make one here, is verified by it.
        person.guardian_recorded(
            legacy.guardian.ref,
            legacy.guardian.relationship,
            last_day_as_minor(legacy.birth_date) if age < 18 else None,
            [legacy.household_region],
        )
    return ImportOutcome.IMPORTED


def _age(birth_date: date, today: date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
