"""Stored secrets: a copy of a service's database holds no answer a caller was meant to see alone.

Before: a partner creating a subscription with an `Idempotency-Key` had its answer, signing secret
included, saved in `idempotency_keys` in the clear for a week; anyone with a backup of the
notification database could sign webhooks as the platform. Applications saved the same way held
the applicant's name and identity number in the clear beside the sealed events.
"""

from __future__ import annotations

import asyncio
import secrets

import asyncpg

from ..system import System, WebhookReceiver, application, new_person


async def _saved_answers(database_url: str, principal_suffix: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT response::text AS response FROM idempotency_keys WHERE principal LIKE $1",
            f"%:{principal_suffix}",
        )
    finally:
        await conn.close()
    return [row["response"] for row in rows]


def test_a_subscriptions_secret_is_not_stored_in_the_clear_and_a_retry_still_sees_it(
    system: System, admin: str
) -> None:
    # A receiver of its own, and a jurisdiction no other test issues certificates in: the
    # session partner's receiver counts what it is delivered.
    receiver = WebhookReceiver()
    subject = f"secret-keeper-{secrets.token_hex(3)}"
    policy = {"event_types": ["CertificateIssued"], "fields": ["certificate_number"], "regions": ["650000"]}
    registered = system.call(
        "notification", "POST", "/v1/partners", {"name": "保险公司", "policy": policy}, admin
    )
    assert registered.status_code == 201, registered.text
    token = system.token("partner", subject, partner_id=registered.json()["id"])
    body = {"url": receiver.url, "event_types": ["CertificateIssued"]}
    key = {"Idempotency-Key": secrets.token_hex(8)}

    try:
        first = system.call("notification", "POST", "/v1/subscriptions", body, token, headers=key)
        again = system.call("notification", "POST", "/v1/subscriptions", body, token, headers=key)
    finally:
        receiver.close()

    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.headers.get("Idempotent-Replayed") == "true"
    secret = first.json()["secret"]
    assert secret.startswith("whsec_")
    assert again.json() == first.json()
    stored = asyncio.run(_saved_answers(system.databases["notification"], subject))
    assert len(stored) == 1
    assert secret not in stored[0]
    assert secret.removeprefix("whsec_") not in stored[0]


def test_an_applications_saved_answer_holds_no_identity_number_in_the_clear(system: System) -> None:
    person = new_person()
    subject = f"saved-answer-{secrets.token_hex(3)}"
    token = system.token("applicant", subject, id_number=person)
    key = {"Idempotency-Key": secrets.token_hex(8)}
    body = application(person)

    first = system.call("certificate", "POST", "/v1/applications", body, token, headers=key)
    again = system.call("certificate", "POST", "/v1/applications", body, token, headers=key)

    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json()["id"] == first.json()["id"]
    stored = asyncio.run(_saved_answers(system.databases["certificate"], subject))
    assert len(stored) == 1
    assert person not in stored[0]
    assert first.json()["id"] not in stored[0]
