"""`dcert keys`: the master key that wraps every person's data key, rotated while the services
run, and the e-certificate's signing key.

Master key rotation (docs/operations.md): every process of a service is given the new key as
`DCERT_MASTER_KEY` and the old one in `DCERT_PREVIOUS_MASTER_KEYS` (a rolling restart: each
opens what either key wraps, and wraps new data keys by the new one); `dcert keys rotate`, with
the same settings, re-wraps every data key by the new key in batches, and says when none needs
the old one, which the operator then removes from the settings.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from dcert_certificate.adapters import ecert
from dcert_certificate.settings import CertificateSettings
from dcert_shared.runtime import ServiceRuntime
from dcert_shared.vault import LocalKeyManager, master_key_use, rewrap_data_keys

from .targets import TARGETS, Target, opened, target
from .texts import YES_HELP, ask, refuse, run, say, screen

app = typer.Typer(help="Keys: the master key of the data keys, the e-certificate signing key.")

Yes = Annotated[bool, typer.Option("--yes", help=YES_HELP)]


@app.command("rotate")
def rotate(
    service: Annotated[str | None, typer.Option("--service", help="one service (default: every one)")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 500,
    yes: Yes = False,
) -> None:
    """Re-wrap every data key by the current master key (DCERT_MASTER_KEY); the previous ones
    (DCERT_PREVIOUS_MASTER_KEYS) must still be configured until this reports none is needed."""
    run(lambda: _rotate([target(service)] if service else list(TARGETS.values()), batch_size, yes))


async def _rotate(services: list[Target], batch_size: int, yes: bool) -> None:
    for service in services:
        async with opened(service) as service_app:
            await _rotate_one(service, service_app.state.runtime, batch_size, yes)


async def _rotate_one(service: Target, runtime: ServiceRuntime, batch_size: int, yes: bool) -> None:
    keys = runtime.vault.keys
    async with runtime.pool.acquire() as conn:
        use = await master_key_use(conn)
    _show_use(service.name, use.wrapped_by, keys.key_id)
    known = {keys.key_id} | (keys.previous_key_ids if isinstance(keys, LocalKeyManager) else frozenset())
    for key_id, count in use.wrapped_by.items():
        if key_id not in known:
            raise refuse("keys.unknown_wrapping", service=service.name, count=count, key_id=key_id)
    waiting = use.needing_other_than(keys.key_id)
    if waiting:
        ask(say("keys.rotate_plan", service=service.name, count=waiting, key_id=keys.key_id), yes)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns) as progress:
            task = progress.add_task(f"{service.name}: {say('keys.progress')}", total=waiting)
            while await _still_wrapped_by_others(runtime, keys.key_id) > 0:
                rewrapped = await rewrap_data_keys(runtime.pool, keys, batch_size)
                progress.advance(task, rewrapped)
                if not rewrapped:  # every row left is held by a transaction: taken once it ends
                    await asyncio.sleep(0.2)
    typer.echo(say("keys.rotated", service=service.name, key_id=keys.key_id))


async def _still_wrapped_by_others(runtime: ServiceRuntime, key_id: str) -> int:
    """Data keys a previous master key still wraps (data keys made meanwhile are the new key's)."""
    async with runtime.pool.acquire() as conn:
        return (await master_key_use(conn)).needing_other_than(key_id)


def _show_use(service: str, wrapped_by: dict[str, int], current: str) -> None:
    table = Table(title=f"{say('keys.use_title')}: {service}")
    table.add_column(say("keys.master_key"))
    table.add_column(say("keys.data_keys"), justify="right")
    for key_id, count in sorted(wrapped_by.items()):
        table.add_row(key_id + (say("keys.current") if key_id == current else ""), str(count))
    screen().print(table)


@app.command("rotate-ecert")
def rotate_ecert(yes: Yes = False) -> None:
    """A new e-certificate signing key signs from now on; codes of the earlier keys keep
    verifying. Keys from configuration (production) are rotated there instead."""
    run(lambda: _rotate_ecert(yes))


async def _rotate_ecert(yes: bool) -> None:
    certificate = target("certificate")
    settings = certificate.settings()
    assert isinstance(settings, CertificateSettings)
    if settings.ecert_signing_seed is not None:
        raise refuse("keys.ecert_from_configuration")
    async with opened(certificate) as service_app:
        ask(say("keys.ecert_plan"), yes)
        signer = await ecert.rotate_signing_key(service_app.state.runtime.pool)
    typer.echo(
        say("keys.ecert_rotated", key_id=signer.key_id, seconds=int(settings.ecert_key_refresh_seconds))
    )
