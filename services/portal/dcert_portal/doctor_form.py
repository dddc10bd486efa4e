"""The doctor's result form (docs/api.md, assessment service, `POST /v1/assessments/{id}/result`):
its fields, the API body it makes, and the consistency check explained in words before submitting.

The check is the assessment service's (`POST /v1/grading/check`, GB/T 26341-2010 as its
`domain/grading.py` holds it): the page asks it and puts its answer into words. The service stays
the judge when the result is sent: it refuses a level that contradicts the measurements without
an override reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from .application_form import CATEGORIES, FieldError
from .i18n import N_

# The single categories a result form grades; a multiple disability (多重残疾) is graded by its
# components, each one of these categories with its own level and measurements.
RESULT_CATEGORIES: Final = ["visual", "hearing", "speech", "physical", "intellectual", "mental"]
MULTIPLE: Final = "multiple"
FORM_CATEGORIES: Final = [*RESULT_CATEGORIES, MULTIPLE]
LEVELS: Final = {
    1: N_("Level 1 (一级), the most severe"),
    2: N_("Level 2 (二级)"),
    3: N_("Level 3 (三级)"),
    4: N_("Level 4 (四级), the least severe"),
}
# Measurement name -> (label, hint): the hint says the category it belongs to and its unit.
MEASUREMENTS: Final = {
    "best_corrected_acuity": (
        N_("Best corrected visual acuity"),
        N_("Visual disability: the better eye, decimal, for example 0.04."),
    ),
    "visual_field_radius_deg": (
        N_("Visual field radius (degrees)"),
        N_("Visual disability: the radius of the visual field in degrees, for example 8."),
    ),
    "hearing_loss_db": (
        N_("Hearing loss (dB HL)"),
        N_("Hearing disability: the better ear, average loss in dB HL, for example 85."),
    ),
    "speech_intelligibility_pct": (
        N_("Speech intelligibility (%)"),
        N_("Speech disability: from 0 to 100, for example 30."),
    ),
    "iq": (N_("IQ"), N_("Intellectual disability, from the age of 7.")),
    "dq": (N_("Development quotient (DQ)"), N_("Intellectual disability, ages 0 to 6.")),
    "whodas_score": (
        N_("WHO-DAS II score"),
        N_("Intellectual disability (adults) and mental disability (adults): from 0 to 180."),
    ),
    "illness_months": (
        N_("Months the illness has lasted"),
        N_("Mental disability: it is graded after more than 12 months of illness."),
    ),
}
RANGES: Final = {
    "best_corrected_acuity": (0, 2),
    "visual_field_radius_deg": (0, 90),
    "hearing_loss_db": (-10, 140),
    "speech_intelligibility_pct": (0, 100),
    "iq": (0, 200),
    "dq": (0, 200),
    "whodas_score": (0, 180),
    "illness_months": (0, 1200),
}


def component_field(category: str, name: str | None = None) -> str:
    """A component's form field: its checkbox `component-<category>`, else `component-<category>-<name>`."""
    return f"component-{category}" if name is None else f"component-{category}-{name}"


# The measurements the form offers for each category: a component shows only its own.
MEASURES: Final = {
    "visual": ("best_corrected_acuity", "visual_field_radius_deg"),
    "hearing": ("hearing_loss_db",),
    "speech": ("speech_intelligibility_pct",),
    "intellectual": ("iq", "dq", "whodas_score"),
    "mental": ("whodas_score", "illness_months"),
    "physical": (),
}
# A component's fields in the page's order: the checkbox, its category's measurements, its level.
COMPONENT_FIELDS: Final = [
    field_name
    for category in RESULT_CATEGORIES
    for field_name in (
        component_field(category),
        *(component_field(category, name) for name in MEASURES[category]),
        component_field(category, "level"),
    )
]
FIELD_ORDER: Final = [
    "category",
    *MEASUREMENTS,
    "level",
    "components",
    *COMPONENT_FIELDS,
    "override_reason",
    "findings",
]


# The service's outcomes in which the level is checked against the measurements.
CHECKED: Final = ("levels", "no_level", "short_illness")


@dataclass(frozen=True)
class Check:
    """The assessment service's grading check of the measurements, for the page to put into words."""

    outcome: str  # levels, no_level, short_illness, not_measured, functional_assessment, adaptive_behaviour
    levels: tuple[int, ...] = ()
    each: tuple[tuple[str, float, int | None], ...] = ()  # measure, value, the level it gives
    foreign: tuple[str, ...] = ()  # entered measures that are not of the category, in the page's order

    @classmethod
    def from_answer(cls, answer: dict[str, Any]) -> Check:
        """The service's `GradingCheck`."""
        foreign = set(answer["foreign_measurements"])
        return cls(
            outcome=str(answer["outcome"]),
            levels=tuple(answer["expected_levels"]),
            each=tuple((item["measure"], float(item["value"]), item["level"]) for item in answer["weighed"]),
            foreign=tuple(name for name in MEASUREMENTS if name in foreign),
        )

    def admits(self, level: int | None) -> bool | None:
        """Whether the level agrees; None when nothing is checked or no level was chosen."""
        if level is None or self.outcome not in CHECKED:
            return None
        return level in self.levels


def describe_levels(levels: tuple[int, ...]) -> tuple[str, dict[str, object]]:
    if len(levels) == 1:
        return N_("level %(level)s"), {"level": levels[0]}
    return N_("level %(low)s to %(high)s"), {"low": levels[0], "high": levels[-1]}


Gettext = Callable[..., str]


def _untranslated(message: str, **params: object) -> str:
    return message % params if params else message


@dataclass
class ResultForm:
    """What the doctor typed, kept as typed."""

    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(cls, data: Any) -> ResultForm:
        names = ["category", "level", "findings", "override_reason", *MEASUREMENTS, *COMPONENT_FIELDS]
        return cls({name: str(data.get(name, "")).strip() for name in names})

    def level(self) -> int | None:
        return _level(self.values.get("level", ""))

    def is_multiple(self) -> bool:
        return self.values.get("category") == MULTIPLE

    def ticked(self) -> list[str]:
        """The categories ticked as components of a multiple disability, in the page's order."""
        return [category for category in RESULT_CATEGORIES if self.values.get(component_field(category))]

    def component_level(self, category: str) -> int | None:
        return _level(self.values.get(component_field(category, "level"), ""))

    def measurements(self, gettext: Gettext = _untranslated) -> tuple[dict[str, float], list[FieldError]]:
        """The numbers entered, and a mistake at each field that is not a number in range."""
        return self._numbers({name: name for name in RANGES}, gettext)

    def component_measurements(
        self, category: str, gettext: Gettext = _untranslated
    ) -> tuple[dict[str, float], list[FieldError]]:
        """A component's numbers (only its category's fields), and its mistakes named by category."""
        fields = {name: component_field(category, name) for name in MEASURES[category]}
        numbers, errors = self._numbers(fields, gettext)
        kind = gettext(CATEGORIES[category])
        return numbers, [
            FieldError(
                error.name,
                gettext(N_("%(category)s: %(message)s")) % {"category": kind, "message": error.message},
            )
            for error in errors
        ]

    def _numbers(self, fields: dict[str, str], gettext: Gettext) -> tuple[dict[str, float], list[FieldError]]:
        numbers: dict[str, float] = {}
        errors = []
        for name, field_name in fields.items():
            low, high = RANGES[name]
            text = self.values.get(field_name, "").replace(",", ".").replace("，", ".")
            if not text:
                continue
            try:
                number = float(text)
            except ValueError:
                errors.append(FieldError(field_name, gettext(N_("Enter a number, for example 0.04 or 85."))))
                continue
            if number != number or not low <= number <= high:  # NaN or out of range
                errors.append(
                    FieldError(
                        field_name,
                        gettext(N_("Enter a number from %(low)s to %(high)s."), low=low, high=high),
                    )
                )
                continue
            numbers[name] = number
        return numbers, errors

    def component_errors(self, gettext: Gettext = _untranslated) -> list[FieldError]:
        """The mistakes of a multiple disability's components: all of them at once."""
        ticked = self.ticked()
        errors = []
        if len(ticked) < 2:
            errors.append(
                FieldError(
                    "components",
                    gettext(
                        N_(
                            "Tick two or more kinds of disability: a multiple disability has at least two components."
                        )
                    ),
                )
            )
        for category in ticked:
            errors.extend(self.component_measurements(category, gettext)[1])
            if self.component_level(category) is None:
                errors.append(
                    FieldError(
                        component_field(category, "level"),
                        gettext(
                            N_("%(category)s: choose the level."), category=gettext(CATEGORIES[category])
                        ),
                    )
                )
        return errors

    def own_errors(self, gettext: Gettext = _untranslated) -> list[FieldError]:
        """The mistakes found before asking the service (nothing is sent while any remains)."""
        errors = []
        if self.values.get("category") not in FORM_CATEGORIES:
            errors.append(FieldError("category", gettext(N_("Choose the kind of disability you assessed."))))
        if self.is_multiple():
            errors.extend(self.component_errors(gettext))
        else:
            errors.extend(self.measurements(gettext)[1])
            if self.level() is None:
                errors.append(FieldError("level", gettext(N_("Choose the level."))))
        if len(self.values.get("findings", "")) > 4000:
            errors.append(FieldError("findings", gettext(N_("Write no more than 4000 characters."))))
        if len(self.values.get("override_reason", "")) > 2000:
            errors.append(FieldError("override_reason", gettext(N_("Write no more than 2000 characters."))))
        return errors

    def body(self) -> dict[str, Any]:
        """The API body: every measurement entered, so that the service judges them all.

        A multiple disability sends its ticked components (the service derives the level), and
        neither a level nor measurements of its own."""
        common = {
            "findings": self.values.get("findings") or None,
            "override_reason": self.values.get("override_reason") or None,
        }
        if self.is_multiple():
            return {
                "category": MULTIPLE,
                **common,
                "components": [
                    {
                        "category": category,
                        "level": self.component_level(category),
                        "measurements": self.component_measurements(category)[0],
                    }
                    for category in self.ticked()
                ],
            }
        return {
            "category": self.values["category"],
            "level": self.level(),
            "measurements": self.measurements()[0],
            **common,
        }


def _level(value: str) -> int | None:
    return int(value) if value in ("1", "2", "3", "4") else None


def ordered(errors: list[FieldError]) -> list[FieldError]:
    """One error per field, in the page's order."""
    by_field: dict[str, FieldError] = {}
    for error in errors:
        by_field.setdefault(error.name, error)
    return [by_field[name] for name in FIELD_ORDER if name in by_field]
