"""Every dependency the certificate routes declare: the use cases and the e-certificate signer
from `app.state`, and the policy (who may see what: api/policy.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dcert_shared.api import Admin, from_app_state

from ..adapters.ecert import ECertificateSigner
from ..application.cards import CardCommands
from ..application.clocks import ClockJobs
from ..application.deaths import DeathReports
from ..application.decisions import DecisionCommands
from ..application.people import PersonCommands
from ..application.service import CertificateService
from ..application.submissions import SubmissionCommands
from .policy import CertificatePolicy

__all__ = [
    "Admin",
    "Cards",
    "Clocks",
    "Deaths",
    "Decisions",
    "People",
    "Policy",
    "Service",
    "Signer",
    "Submissions",
]

Service = Annotated[CertificateService, Depends(from_app_state("service", CertificateService))]
Submissions = Annotated[SubmissionCommands, Depends(from_app_state("submissions", SubmissionCommands))]
Decisions = Annotated[DecisionCommands, Depends(from_app_state("decisions", DecisionCommands))]
People = Annotated[PersonCommands, Depends(from_app_state("people", PersonCommands))]
Clocks = Annotated[ClockJobs, Depends(from_app_state("clocks", ClockJobs))]
Cards = Annotated[CardCommands, Depends(from_app_state("cards", CardCommands))]
Deaths = Annotated[DeathReports, Depends(from_app_state("death_reports", DeathReports))]
# The signer of now: a key rotation (here or by another replica) replaces it.
Signer = Annotated[ECertificateSigner, Depends(from_app_state("signer", ECertificateSigner))]


def certificate_policy(service: Service) -> CertificatePolicy:
    return CertificatePolicy(service.person_ref)


Policy = Annotated[CertificatePolicy, Depends(certificate_policy)]
