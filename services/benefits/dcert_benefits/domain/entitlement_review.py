"""应享未享: who the rules say should receive a benefit and does not, and the other way round.

Pure: the holders' circumstances and their benefits' states in, findings out. The reports read
the snapshot every holding keeps (`CircumstancesNoted`) and the benefits' current states.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .eligibility import Circumstances, Eligible, decide
from .policies import Catalogue

# Refusals that a fact another agency holds would lift: the people to look after first.
MISSING_FACT_REASONS = frozenset({"no_low_income_fact", "no_long_term_care", "age_unknown"})


class FindingKind(StrEnum):
    ENTITLED_NOT_RECEIVING = "entitled_not_receiving"  # the rules say yes, nothing is paid
    POSSIBLY_ENTITLED = "possibly_entitled"  # only a fact is missing (e.g. no 低保 fact yet)
    RECEIVING_NOT_ENTITLED = "receiving_not_entitled"  # paid, but the rules now say no


@dataclass(frozen=True)
class Holder:
    certificate_number: str
    circumstances: Circumstances
    statuses: Mapping[str, str]  # benefit code -> active, not_eligible, terminated


@dataclass(frozen=True)
class Finding:
    certificate_number: str
    household_region: str
    benefit: str
    kind: FindingKind
    reason_code: str
    status: str | None
    monthly_amount_fen: int | None


def review(catalogue: Catalogue, holders: Iterable[Holder], month_start: date) -> list[Finding]:
    """Each holder against each benefit as the catalogue decides them for the month."""
    findings: list[Finding] = []
    for holder in holders:
        for code in catalogue.codes:
            decision = decide(catalogue, code, holder.circumstances, month_start)
            status = holder.statuses.get(code)
            receiving = status == "active"
            if isinstance(decision, Eligible):
                if receiving:
                    continue
                kind, reason, amount = (
                    FindingKind.ENTITLED_NOT_RECEIVING,
                    decision.reason_code,
                    decision.monthly_amount_fen,
                )
            elif receiving:
                kind, reason, amount = FindingKind.RECEIVING_NOT_ENTITLED, decision.reason_code, None
            elif decision.reason_code in MISSING_FACT_REASONS:
                kind, reason, amount = FindingKind.POSSIBLY_ENTITLED, decision.reason_code, None
            else:
                continue
            findings.append(
                Finding(
                    certificate_number=holder.certificate_number,
                    household_region=holder.circumstances.household_region,
                    benefit=code,
                    kind=kind,
                    reason_code=reason,
                    status=status,
                    monthly_amount_fen=amount,
                )
            )
    return findings
