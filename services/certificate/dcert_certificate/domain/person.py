"""The person: the consistency boundary of "one open `new` application, one live certificate".

Its stream is keyed by the keyed hash of the identity number (never the number itself), so two
requests for the same person, from any region, contend on one stream and one of them decides
again on fresh state. Every path that makes a certificate live (issue, replacement, grade
change, renewal after expiry) records it here, and a second live one is refused.
"""

from __future__ import annotations

from datetime import date

from dcert_shared.aggregate import Aggregate
from dcert_shared.envelope import DomainEvent

from .errors import (
    LiveCertificateExists,
    OpenApplicationExists,
    PersonErasedError,
    PersonHasLiveRecords,
    ReapplicationBarredError,
)
from .events import (
    LiveCertificateClosed,
    LiveCertificateRecorded,
    OpenApplicationClosed,
    OpenApplicationRecorded,
    PersonErased,
    ReapplicationBarred,
)


class Person(Aggregate):
    stream_type = "person"

    @property
    def partition_key(self) -> str:
        """The person: every event about them is kept in order by consumers, whatever its stream."""
        return self.id

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.open_applications: dict[str, str] = {}  # application id -> matter
        self.live_certificate: str | None = None
        self.barred_until: date | None = None
        self.erased_on: date | None = None

    def open_new_application(self, application_id: str, today: date) -> None:
        if self.erased_on is not None:
            raise PersonErasedError()
        if self.barred_until is not None and today <= self.barred_until:
            raise ReapplicationBarredError(detail=f"until {self.barred_until.isoformat()}")
        if self.live_certificate is not None:
            raise LiveCertificateExists()
        if "new" in self.open_applications.values():
            raise OpenApplicationExists()
        self.trigger(OpenApplicationRecorded(application_id=application_id, matter="new"))

    def close_application(self, application_id: str) -> None:
        if application_id in self.open_applications:
            self.trigger(OpenApplicationClosed(application_id=application_id))

    def record_live(self, certificate_number: str) -> None:
        """This certificate is now the person's one live certificate."""
        if self.live_certificate == certificate_number:
            return
        if self.live_certificate is not None:
            raise LiveCertificateExists()
        self.trigger(LiveCertificateRecorded(certificate_number=certificate_number))

    def certificate_issued(self, application_id: str, certificate_number: str) -> None:
        self.close_application(application_id)
        self.record_live(certificate_number)

    def certificate_closed(self, certificate_number: str) -> None:
        if self.live_certificate == certificate_number:
            self.trigger(LiveCertificateClosed(certificate_number=certificate_number))

    def certificate_superseded(self, old_number: str, new_number: str) -> None:
        """Replacement or grade change: the old number closes and the new one opens at once."""
        self.certificate_closed(old_number)
        self.record_live(new_number)

    def erase(self, legal_basis: str, today: date, *, reapplied: bool = False) -> bool:
        """Erase the person's data; only once nothing of theirs is open or live. False when
        already erased (a repeated request changes nothing). `reapplied`: the key is gone already
        (a restore from a backup older than the erasure), so the erasure is only recorded again."""
        if self.erased_on is not None:
            return False
        if not reapplied and (self.open_applications or self.live_certificate is not None):
            raise PersonHasLiveRecords()
        self.trigger(
            PersonErased(person_ref=self.id, legal_basis=legal_basis, erased_on=today, reapplied=reapplied)
        )
        return True

    def bar_reapplication(self, until: date) -> None:
        self.trigger(ReapplicationBarred(until=until))

    def apply(self, event: DomainEvent) -> None:
        match event:
            case OpenApplicationRecorded(application_id=application_id, matter=matter):
                self.open_applications[application_id] = matter
            case OpenApplicationClosed(application_id=application_id):
                self.open_applications.pop(application_id, None)
            case LiveCertificateRecorded(certificate_number=number):
                self.live_certificate = number
            case LiveCertificateClosed():
                self.live_certificate = None
            case ReapplicationBarred(until=until):
                self.barred_until = until
            case PersonErased(erased_on=erased_on):
                self.erased_on = erased_on
