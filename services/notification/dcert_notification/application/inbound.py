"""Other services' events as the notification service reads them: only the fields it uses, typed.

A partner's delivery forwards the whole published payload (filtered by its policy); these models
name what this service itself decides on: where an event is, whom it is about, what to tell them.
"""

from __future__ import annotations

from dcert_shared.consumer import InboundEvent


class PublishedEvent(InboundEvent):
    """Any public event, for the partners' deliveries: what it is about and where."""

    person_ref: str | None = None
    certificate_number: str | None = None
    application_id: str | None = None
    household_region: str | None = None
    region: str | None = None
    to_region: str | None = None

    @property
    def named_region(self) -> str | None:
        """The household region the event names (a transfer's: where it goes), if any."""
        return next(
            (region for region in (self.household_region, self.region, self.to_region) if region is not None),
            None,
        )


class AboutPerson(InboundEvent):
    """An event people may be told of: the person, the application and the certificate it is about."""

    person_ref: str | None = None
    application_id: str | None = None
    certificate_number: str | None = None


class ApplicationSubmitted(AboutPerson):
    """certificate.ApplicationSubmitted: which matter, and who made it for the person (an agent)."""

    matter: str | None = None
    agent_ref: str | None = None


class CardOrdered(AboutPerson):
    """certificate.CardOrdered: how the card is handed over (`counter` or `mail`)."""

    delivery: str | None = None


class AppointmentBooked(AboutPerson):
    """assessment.AppointmentBooked: when (ISO 8601), and whether the doctor comes home."""

    starts_at: str
    home_visit: bool = False


class GradeRecorded(AboutPerson):
    """assessment.GradeRecorded: 2 is the provincial committee's final answer."""

    round: int = 0


class CertificateIssued(AboutPerson):
    expires_on: str


class RenewalReminderDue(AboutPerson):
    expires_on: str
    window_opens_on: str


class BenefitActivated(AboutPerson):
    benefit: str
    active_from: str


class BenefitTerminated(AboutPerson):
    benefit: str
    active_to: str
