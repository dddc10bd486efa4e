"""The new-certificate form (matter `new`, docs/api.md): what it asks, the API body it makes, and the
API's field errors (RFC 9457 `errors`) mapped back onto its fields, all of them at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from .i18n import N_
from .pages import problem_text

CATEGORIES: Final = {
    "visual": N_("Visual disability"),
    "hearing": N_("Hearing disability"),
    "speech": N_("Speech disability"),
    "physical": N_("Physical disability"),
    "intellectual": N_("Intellectual disability"),
    "mental": N_("Mental disability"),
    "multiple": N_("Multiple disabilities"),
}
RELATIONSHIPS: Final = {
    "parent": N_("Parent"),
    "guardian": N_("Guardian"),
    "spouse": N_("Spouse"),
    "child": N_("Son or daughter"),
    "relative": N_("Other relative"),
    "entrusted": N_("Entrusted person"),
}
# Form field name -> the API's dotted path. The order is the page's: the error summary follows it.
TEXT_FIELDS: Final = {
    "applicant_id_number": "applicant.id_number",
    "applicant_name": "applicant.name",
    "applicant_phone": "applicant.phone",
    "applicant_household_region": "applicant.household_region",
    "applicant_residence_region": "applicant.residence_region",
    "applicant_address": "applicant.address",
    "agent_id_number": "agent.id_number",
    "agent_name": "agent.name",
    "agent_relationship": "agent.relationship",
}
FIELD_ORDER: Final = [*TEXT_FIELDS, "declared_category", "home_visit", "consent"]
API_PATHS: Final = {path: name for name, path in TEXT_FIELDS.items()} | {
    "declared_category": "declared_category",
    "home_visit": "home_visit",
    "consent": "consent",
    "applicant": "applicant_id_number",
    "agent": "agent_name",
}
REQUIRED: Final = N_("Fill this in.")


@dataclass
class FieldError:
    name: str  # the form field it belongs to
    message: str


@dataclass
class NewApplicationForm:
    """What the person typed, kept as typed, so that a page with errors shows it all again."""

    values: dict[str, str] = field(default_factory=dict)
    as_agent: bool = False
    home_visit: bool = False
    consent: bool = False

    @classmethod
    def from_form(cls, data: Any) -> NewApplicationForm:
        values = {name: str(data.get(name, "")).strip() for name in [*TEXT_FIELDS, "declared_category"]}
        return cls(
            values=values,
            as_agent=data.get("as_agent") == "yes",
            home_visit=data.get("home_visit") == "yes",
            consent=data.get("consent") == "yes",
        )

    def body(self) -> dict[str, Any]:
        """The API body (docs/api.md, `POST /v1/applications`); the API is the judge of the values."""
        v = self.values
        agent = (
            {
                "id_number": v["agent_id_number"],
                "name": v["agent_name"],
                "relationship": v["agent_relationship"],
            }
            if self.as_agent
            else None
        )
        return {
            "matter": "new",
            "applicant": {
                "id_number": v["applicant_id_number"],
                "name": v["applicant_name"],
                "phone": v["applicant_phone"],
                "household_region": v["applicant_household_region"],
                "residence_region": v["applicant_residence_region"],
                "address": v["applicant_address"],
            },
            "agent": agent,
            "declared_category": v["declared_category"] or None,
            "home_visit": self.home_visit,
            "consent": self.consent,
        }

    def checks_of_its_own(self) -> list[FieldError]:
        """What the API would only report after its field checks pass: asked here so that the
        person sees every problem in one go."""
        errors = [
            FieldError(name, REQUIRED)
            for name in TEXT_FIELDS
            if not self.values.get(name) and (self.as_agent or not name.startswith("agent_"))
        ]
        if not self.values.get("declared_category"):
            errors.append(FieldError("declared_category", N_("Choose the kind of disability.")))
        if not self.consent:
            errors.append(FieldError("consent", N_("Agree to the use of your information to apply.")))
        return errors


def field_errors(problem: dict[str, Any], own: list[FieldError]) -> tuple[list[FieldError], str | None]:
    """Every field error of the form's own checks and of an API problem, one per field (the
    form's own first: "fill this in" says more than a length rule), in the page's order; and the
    problem's title when it names no field (shown at the top alone)."""
    by_field = {error.name: error for error in reversed(own)}
    placed = 0
    for item in problem.get("errors") or []:
        name = API_PATHS.get(str(item.get("field", "")))
        if name is not None:
            placed += 1
            if name not in by_field:
                by_field[name] = FieldError(name, str(item.get("message") or problem.get("title") or ""))
    ordered = [by_field[name] for name in FIELD_ORDER if name in by_field]
    unplaced = problem_text(problem) if problem and not placed else None
    return ordered, unplaced
