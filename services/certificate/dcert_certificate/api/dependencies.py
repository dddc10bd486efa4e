"""Every dependency the certificate routes declare: the use cases and the e-certificate signer
from `app.state`, and the policy (who may see what: api/policy.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dcert_shared.auth import Principal, require_role

from ..adapters.ecert import ECertificateSigner
from ..application.cards import CardCommands
from ..application.clocks import ClockJobs
from ..application.deaths import DeathReports
from ..application.decisions import DecisionCommands
from ..application.people import PersonCommands
from ..application.service import CertificateService
from ..application.submissions import SubmissionCommands
from .policy import CertificatePolicy


def certificate_service(request: Request) -> CertificateService:
    service: CertificateService = request.app.state.service
    return service


def submission_commands(request: Request) -> SubmissionCommands:
    submissions: SubmissionCommands = request.app.state.submissions
    return submissions


def decision_commands(request: Request) -> DecisionCommands:
    decisions: DecisionCommands = request.app.state.decisions
    return decisions


def person_commands(request: Request) -> PersonCommands:
    people: PersonCommands = request.app.state.people
    return people


def clock_jobs(request: Request) -> ClockJobs:
    clocks: ClockJobs = request.app.state.clocks
    return clocks


Service = Annotated[CertificateService, Depends(certificate_service)]
Submissions = Annotated[SubmissionCommands, Depends(submission_commands)]
Decisions = Annotated[DecisionCommands, Depends(decision_commands)]
People = Annotated[PersonCommands, Depends(person_commands)]
Clocks = Annotated[ClockJobs, Depends(clock_jobs)]


def card_commands(request: Request) -> CardCommands:
    cards: CardCommands = request.app.state.cards
    return cards


def death_reports(request: Request) -> DeathReports:
    deaths: DeathReports = request.app.state.death_reports
    return deaths


def signer(request: Request) -> ECertificateSigner:
    """The signer of now: a key rotation (here or by another replica) replaces it."""
    keys: ECertificateSigner = request.app.state.signer
    return keys


def certificate_policy(service: Service) -> CertificatePolicy:
    return CertificatePolicy(service.person_ref)


Cards = Annotated[CardCommands, Depends(card_commands)]
Deaths = Annotated[DeathReports, Depends(death_reports)]
Signer = Annotated[ECertificateSigner, Depends(signer)]
Policy = Annotated[CertificatePolicy, Depends(certificate_policy)]
Admin = Annotated[Principal, Depends(require_role("admin"))]  # rotating the e-certificate keys
