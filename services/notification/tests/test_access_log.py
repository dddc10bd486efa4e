"""A partner agency receiving a person's data through its webhook is a read of their record:
recorded once it is delivered, never for a try that failed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dcert_dev.testing import eventually

if TYPE_CHECKING:
    from conftest import NotificationService

PERSON = "ab" * 32


async def test_a_delivered_webhook_is_recorded_in_the_persons_access_log_and_a_failed_try_is_not(
    service: NotificationService,
) -> None:
    receiver = service.receiver(plan=[503])
    token = await service.partner(fields=("category", "level"))
    await service.subscribe(token, receiver)
    await service.publish(
        "certificate",
        "CertificateIssued",
        {
            "certificate_number": "33050220160417001741",
            "person_ref": PERSON,
            "category": "physical",
            "level": 1,
        },
    )
    first, second = await receiver.got(2)
    webhook_id = second.headers["webhook-id"]
    assert first.headers["webhook-id"] == webhook_id

    async def recorded() -> list[dict[str, Any]] | None:
        return await service.fetch("SELECT * FROM access_log WHERE person_ref = $1", PERSON) or None

    [read] = await eventually(recorded)
    [delivery] = await service.deliveries(status="delivered")
    assert (read["reader_role"], read["reader_organisation"]) == ("partner", delivery["partner_id"])
    assert (read["record_kind"], read["record_ref"], read["purpose"]) == (
        "partner_delivery",
        webhook_id,
        "partner_sharing",
    )
    assert (read["service"], read["route"]) == ("notification", "webhook CertificateIssued")
