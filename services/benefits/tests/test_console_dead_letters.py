"""An operator replays a consumer's dead letter with `dcert dead-letters` once its cause is
fixed: the event is handled, and the person's later events, parked behind it, follow in order."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from dcert_dev.testing import eventually, run_console

if TYPE_CHECKING:
    from conftest import BenefitsService

# A fault of the moment (a bug since fixed, a table a DBA locked down by mistake): every event
# the service's consumers take fails until it is removed.
BREAK = (
    "CREATE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'broken'; END $$",
    "CREATE TRIGGER refuse_events BEFORE INSERT ON inbox FOR EACH ROW EXECUTE FUNCTION refuse_events()",
)
MEND = "DROP TRIGGER refuse_events ON inbox"


async def test_a_dead_letter_replayed_lets_the_persons_later_events_follow_in_order(
    impatient_service: BenefitsService,
) -> None:
    service = impatient_service
    for statement in BREAK:
        await service.fetch(statement)
    holder = await service.issue_certificate(level=1, issued_on=date(2025, 5, 20))
    await service.certificate_event(
        "CertificateCancelled",
        holder,
        reason="voluntary",
        effective_date="2026-03-10",
        application_id=None,
    )

    async def dead_lettered() -> list[dict[str, object]]:
        return await service.fetch("SELECT id, event_type FROM dead_letters WHERE replayed_at IS NULL")

    [letter] = await eventually(dead_lettered)
    assert letter["event_type"] == "CertificateIssued"
    console = {"benefits": service.settings}

    listed = await run_console(console, "--lang", "en", "dead-letters", "list", "--service", "benefits")
    assert listed.status == 0, listed.errors
    assert "CertificateIssued" in listed.output
    assert "RaiseError" in listed.output
    assert holder.id_number not in listed.output
    assert holder.person_ref not in listed.output

    not_asked = await run_console(console, "dead-letters", "replay", "benefits", typed="n\n")
    assert not_asked.status == 1
    assert not_asked.errors.strip().endswith("未执行：操作未获确认")
    still_broken = await run_console(console, "--lang", "en", "dead-letters", "replay", "benefits", "--yes")
    assert still_broken.status == 1
    assert still_broken.errors.strip().splitlines()[-1] == (
        f"dead letter {letter['id']} (benefits-certificates) failed again (RaiseError);"
        " the ones after it were not replayed"
    )
    assert await dead_lettered() == [letter]

    await service.fetch(MEND)
    replayed = await run_console(console, "--lang", "en", "dead-letters", "replay", "benefits", "--yes")
    assert replayed.status == 0, replayed.errors
    assert replayed.output.strip() == f"dead letter {letter['id']} (benefits-certificates): handled"
    assert await dead_lettered() == []

    async def ended() -> bool:
        nursing = (await service.benefits_of(holder.number))["nursing_subsidy"]
        return nursing["status"] == "terminated"

    # Issued (replayed here), then cancelled (parked behind it, handled by the service).
    await eventually(ended)
    nothing = await run_console(console, "--lang", "en", "dead-letters", "replay", "benefits", "--yes")
    assert (nothing.status, nothing.errors.strip()) == (
        1,
        "No open dead letter of the benefits service matches",
    )
