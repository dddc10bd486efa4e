"""Every read of the certificate service's read models: typed functions over a pool or the
connection of a unit of work, answering rows of the read models or small frozen values.

The routers translate HTTP around these, and the use cases find what they act on through them;
neither holds SQL. Who may read what is api/policy.py's. Callers use the package
(`queries.certificate(db, number)`); its modules group the reads by record.
"""

from __future__ import annotations

from .application_reads import (
    ApplicationListScope,
    ApplicationRecord,
    LatestCard,
    application,
    application_with_card,
    applications,
    applications_of_person,
    applications_past_public_notice,
    timeline_events,
)
from .card_reads import (
    BatchSummary,
    CardDue,
    CardFilter,
    batches,
    cards,
    cards_of_application,
    cards_of_batch,
    counting_cards,
    take_waiting_cards,
)
from .certificate_reads import (
    CredentialState,
    DeathReportRecord,
    StepFigures,
    certificate,
    certificate_by_number_and_name,
    certificate_holders,
    certificates_past_expiry,
    certificates_to_remind,
    credential_state,
    death_reports,
    sla_figures,
)
from .person_reads import (
    AccessLogEntry,
    AccessLogPlace,
    AgencyRecord,
    access_log,
    agencies,
    agency,
    people_with_agencies_run_out,
)
from .rows import Database

__all__ = [
    "AccessLogEntry",
    "AccessLogPlace",
    "AgencyRecord",
    "ApplicationListScope",
    "ApplicationRecord",
    "BatchSummary",
    "CardDue",
    "CardFilter",
    "CredentialState",
    "Database",
    "DeathReportRecord",
    "LatestCard",
    "StepFigures",
    "access_log",
    "agencies",
    "agency",
    "application",
    "application_with_card",
    "applications",
    "applications_of_person",
    "applications_past_public_notice",
    "batches",
    "cards",
    "cards_of_application",
    "cards_of_batch",
    "certificate",
    "certificate_by_number_and_name",
    "certificate_holders",
    "certificates_past_expiry",
    "certificates_to_remind",
    "counting_cards",
    "credential_state",
    "death_reports",
    "people_with_agencies_run_out",
    "sla_figures",
    "take_waiting_cards",
    "timeline_events",
]
