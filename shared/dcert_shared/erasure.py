"""Erasure of a person (crypto-shredding) in every service, and again after a backup is restored.

The certificate service records `PersonErased` (an admin's act on a legal request) and destroys
the person's data key in the same transaction. Every other service consumes the event and
destroys its own key of that person (`erasure_subscription`). All of them keep their sealed
values where they are, so streams replay and counts stay right: they just open to nothing.

A database restored from a backup taken before an erasure holds the key again. The erasures
therefore live twice: in the certificate service's store and in a stream of their own on the
broker, `ERASURES`, which sources them from the certificate stream and never ages them out
(the event streams keep a year). At every start each service reads that stream and destroys
any key it still holds of an erased person (`reapply_erasures`), before it answers a request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

import asyncpg
import nats.errors
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamSource
from nats.js.errors import NotFoundError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from .broker import Naming, StreamLimits
from .consumer import Subscription
from .envelope import EventEnvelope
from .uow import UnitOfWork
from .vault import Vault

log = logging.getLogger(__name__)

PERSON_ERASED = "PersonErased"
ERASING_CONTEXT = "certificate"


def erasure_stream_name(naming: Naming) -> str:
    return f"{naming.prefix.upper()}_ERASURES" if naming.prefix else "ERASURES"


def erasure_stream_config(naming: Naming, limits: StreamLimits) -> StreamConfig:
    """Every `PersonErased` of the certificate stream, kept without an age limit."""
    return StreamConfig(
        name=erasure_stream_name(naming),
        sources=[
            StreamSource(
                name=naming.event_stream(ERASING_CONTEXT),
                filter_subject=naming.event_subject(ERASING_CONTEXT, PERSON_ERASED),
            )
        ],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        # Full is refused, never forgotten: an erasure must not fall out of this stream.
        discard=DiscardPolicy.NEW,
        max_age=0,
        max_bytes=limits.max_bytes // 8,
        num_replicas=limits.replicas,
    )


def erasure_subscription(vault: Vault) -> Subscription:
    """Destroys this service's data key of each person the certificate service erases."""

    async def on_person_erased(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        if await vault.erase(uow.conn, str(envelope.payload["person_ref"])):
            log.info("a person's data key was destroyed (erasure %s)", envelope.event_id)

    return Subscription("person-erased", ERASING_CONTEXT, [PERSON_ERASED], on_person_erased)


async def erased_people(js: JetStreamContext, naming: Naming) -> list[str]:
    """The person refs of every erasure on the broker, oldest first."""
    stream = erasure_stream_name(naming)
    try:
        state = (await js.stream_info(stream)).state
    except NotFoundError:
        return []
    people: list[str] = []
    if not state.messages:
        return people
    for sequence in range(state.first_seq, state.last_seq + 1):
        try:
            message = await js.get_msg(stream, sequence)
        except NotFoundError:
            continue
        data = json.loads(message.data or b"{}").get("data", {})
        if isinstance(data.get("person_ref"), str):
            people.append(data["person_ref"])
    return people


async def reapply_erasures(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    naming: Naming,
    vault: Vault,
    on_key_destroyed: Callable[[str], Awaitable[None]] | None = None,
) -> int:
    """Destroy every key this database still holds of a person erased on the broker (after a
    restore from an older backup); `on_key_destroyed` lets the erasing service record it again.
    Returns how many keys were destroyed now."""
    destroyed = 0
    # A stream just made on a cluster answers once its replicas have chosen a leader.
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(
            (nats.errors.TimeoutError, nats.errors.NoRespondersError, TimeoutError)
        ),
        wait=wait_exponential(multiplier=0.2, max=2),
        stop=stop_after_delay(60),
        reraise=True,
    ):
        with attempt:
            erased = await erased_people(js, naming)
    for person_ref in dict.fromkeys(erased):
        async with pool.acquire() as conn:
            if await vault.is_erased(conn, person_ref):
                continue
            await vault.erase(conn, person_ref)
        destroyed += 1
        if on_key_destroyed is not None:
            await on_key_destroyed(person_ref)
    if destroyed:
        log.warning("%d erasure(s) re-applied: this database held keys of erased people", destroyed)
    return destroyed
