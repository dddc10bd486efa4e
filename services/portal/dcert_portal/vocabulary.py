"""The portal's words for the services' codes, and the formats it checks before a form goes out:
one place for every page that shows a status, a matter, a role, an event type or a fact."""

from __future__ import annotations

import re
from typing import Final

from .application_form import CATEGORIES
from .i18n import N_

REGION_CODE = re.compile(r"[0-9]{6}")
DOCTOR_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,63}")

ROLES = {
    "applicant": N_("Applicant or agent"),
    "reviewer": N_("County reviewer"),
    "doctor": N_("Doctor"),
    "card_centre": N_("Card centre"),
    "partner": N_("Partner agency"),
    "admin": N_("Administrator"),
}
# Where each role starts after signing in (an applicant: their own home page).
ROLE_HOMES = {
    "reviewer": "/review",
    "doctor": "/worklist",
    "card_centre": "/cards",
    "partner": "/partner",
    "admin": "/admin",
}
PARTNER_ID = DOCTOR_ID  # both as their registrar gave them
STATUSES = {
    "submitted": N_("Submitted"),
    "assessing": N_("Being assessed"),
    "assessed": N_("Assessed, waiting for review"),
    "public_notice": N_("On public notice"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "returned": N_("Returned to you for changes"),
    "issued": N_("Certificate issued"),
    "completed": N_("Completed"),
    "withdrawn": N_("Withdrawn"),
}
MATTERS = {
    "new": N_("New certificate"),
    "renewal": N_("Renewal"),
    "replacement": N_("Replacement"),
    "grade_change": N_("Change of grade"),
    "transfer": N_("Transfer"),
    "cancellation": N_("Cancellation"),
}
LABELS = {"statuses": STATUSES, "matters": MATTERS, "categories": CATEGORIES}
# The event types a policy may grant and a partner may subscribe to: the published events of the
# certificate and benefits contexts (docs/api.md; services/notification/dcert_notification/domain/catalogue.py).
EVENT_TYPES: Final = {
    "ApplicationSubmitted": N_("Application submitted"),
    "AssessmentRequested": N_("Assessment requested"),
    "PublicNoticeStarted": N_("Public notice started"),
    "PublicNoticeEnded": N_("Public notice ended"),
    "ApplicationApproved": N_("Application approved"),
    "ApplicationRejected": N_("Application rejected"),
    "ApplicationReturned": N_("Application returned for correction"),
    "ApplicationResubmitted": N_("Application sent again after correction"),
    "ApplicationWithdrawn": N_("Application withdrawn"),
    "MigrationCertificateIssued": N_("Certificate issued on migration"),
    "CertificateIssued": N_("Certificate issued"),
    "CertificateImported": N_("Certificate imported from the national system"),
    "CardOrdered": N_("Card ordered"),
    "CardProductionStarted": N_("Card production started"),
    "CardProduced": N_("Card produced"),
    "CardDispatched": N_("Card dispatched"),
    "CardDelivered": N_("Card delivered"),
    "CardReportedLost": N_("Card reported lost"),
    "CardInvalidated": N_("Card invalidated"),
    "CertificateRenewed": N_("Certificate renewed"),
    "CertificateReportedLost": N_("Certificate reported lost"),
    "CertificateReplaced": N_("Certificate replaced"),
    "CertificateGradeChanged": N_("Certificate grade changed"),
    "CertificateTransferred": N_("Certificate transferred"),
    "CertificateCancelled": N_("Certificate cancelled"),
    "CertificateExpired": N_("Certificate expired"),
    "RenewalReminderDue": N_("Renewal reminder due"),
    "CertificatePutOnHold": N_("Certificate on hold (a death reported)"),
    "CertificateHoldLifted": N_("Certificate hold lifted"),
    "CertificateReinstated": N_("Certificate reinstated"),
    "BenefitActivated": N_("Benefit granted"),
    "BenefitNotEligible": N_("Not eligible for a benefit"),
    "BenefitSuspended": N_("Benefit suspended"),
    "BenefitTerminated": N_("Benefit ended"),
}
# The facts a partner may report to the benefits service (`POST /v1/facts`).
FACT_TYPES: Final = {
    "low_income_started": N_("Low income (低保) started"),
    "low_income_ended": N_("Low income (低保) ended"),
    "death": N_("Death"),
    "household_moved": N_("Household registration moved"),
    "long_term_care_started": N_("Long-term care started"),
    "long_term_care_ended": N_("Long-term care ended"),
    "death_corrected": N_("Death reported by mistake, corrected"),
    "guardianship": N_("Parent or guardian"),
}
# The steps of the SLA report (the certificate service's application_step).
SLA_STEPS: Final = {
    "assessment": N_("Assessment by a doctor"),
    "public_notice": N_("Public notice of the result"),
    "review": N_("Review by the county"),
    "correction": N_("Correction by the applicant"),
    "card": N_("Card production and delivery"),
}
DELIVERY_ERRORS: Final = {
    "timeout": N_("No answer in time"),
    "http_status": N_("Answered with an error status"),
    "target_refused": N_("The address was refused"),
    "ConnectError": N_("Could not connect"),
}
OUT_OF_DATE: Final = N_("The form was out of date. Check it and send it again.")
SHARING_LABELS: Final = {
    "event_types": EVENT_TYPES,
    "facts": FACT_TYPES,
    "steps": SLA_STEPS,
    "errors": DELIVERY_ERRORS,
}
