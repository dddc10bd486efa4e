"""What the certificate routes are given: the use cases, from `app.state` (who may see what:
api/policy.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..application.clocks import ClockJobs
from ..application.decisions import DecisionCommands
from ..application.people import PersonCommands
from ..application.service import CertificateService
from ..application.submissions import SubmissionCommands


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
