"""What partners may be granted: the published event types by context, and the fact types.

The one list of event types a data-sharing policy may name (docs/events.md and docs/api.md). The
service consumes exactly these contexts; an event type added to a context is grantable once it
is added here.
"""

from __future__ import annotations

from collections.abc import Mapping

PARTNER_EVENT_TYPES: Mapping[str, frozenset[str]] = {
    "certificate": frozenset(
        {
            "ApplicationSubmitted",
            "AssessmentRequested",
            "PublicNoticeStarted",
            "PublicNoticeEnded",
            "ApplicationApproved",
            "ApplicationRejected",
            "ApplicationReturned",
            "ApplicationResubmitted",
            "ApplicationWithdrawn",
            "MigrationCertificateIssued",
            "CertificateIssued",
            "CertificateImported",
            "CardOrdered",
            "CardProductionStarted",
            "CardProduced",
            "CardDispatched",
            "CardDelivered",
            "CardReportedLost",
            "CardInvalidated",
            "CertificateRenewed",
            "CertificateReportedLost",
            "CertificateReplaced",
            "CertificateGradeChanged",
            "CertificateTransferred",
            "CertificateCancelled",
            "CertificateExpired",
            "RenewalReminderDue",
            "CertificatePutOnHold",
            "CertificateHoldLifted",
            "CertificateReinstated",
        }
    ),
    "benefits": frozenset(
        {
            "BenefitActivated",
            "BenefitNotEligible",
            "BenefitSuspended",
            "BenefitTerminated",
        }
    ),
}

SOURCE_CONTEXTS: tuple[str, ...] = tuple(PARTNER_EVENT_TYPES)

KNOWN_EVENT_TYPES: frozenset[str] = frozenset().union(*PARTNER_EVENT_TYPES.values())

# The facts a partner agency may report to the benefits service (docs/api.md, `POST /v1/facts`).
FACT_TYPES: frozenset[str] = frozenset(
    {
        "low_income_started",
        "low_income_ended",
        "death",
        "household_moved",
        "long_term_care_started",
        "long_term_care_ended",
        "death_corrected",  # a death reported by mistake: the hold lifts, or the certificate lives again
        "guardianship",  # 监护: who is the person's parent or guardian (the certificate service's agents)
    }
)
