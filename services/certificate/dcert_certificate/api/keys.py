"""The e-certificate's keys (docs/e-certificate.md): published for offline checks, rotated by an admin.

Embedded runs rotate over this API and keep their keys in the database; production takes its
keys from configuration, so the operator rotates there and these routes refuse (409).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Path, Request
from pydantic import BaseModel

from dcert_shared.api import Pool
from dcert_shared.problems import Conflict
from dcert_shared.runtime import ServiceRuntime, Worker

from ..adapters import ecert
from ..settings import CertificateSettings
from .dependencies import Admin, Signer

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/e-certificate/keys", tags=["verification"])


class KeysFromConfiguration(Conflict):
    code = "keys_from_configuration"
    title_zh = "签名密钥由部署配置提供，请由运维人员修改配置（DCERT_ECERT_SIGNING_SEED 与 DCERT_ECERT_PREVIOUS_PUBLIC_KEYS）后重启服务"
    title_en = "The signing keys come from configuration: the operator rotates them by changing DCERT_ECERT_SIGNING_SEED and DCERT_ECERT_PREVIOUS_PUBLIC_KEYS and restarting"


class PublicKeys(BaseModel):
    """The keys that verify codes now; saved as a file, it is what the offline verifier reads."""

    algorithm: Literal["Ed25519"] = "Ed25519"
    current_key_id: str
    keys: dict[str, str]  # key id -> raw public key, base64url


def _published(signer: ecert.ECertificateSigner) -> PublicKeys:
    return PublicKeys(current_key_id=signer.key_id, keys=signer.public_keys())


def _keys_in_database(request: Request) -> None:
    settings: CertificateSettings = request.app.state.settings
    if settings.ecert_signing_seed is not None:
        raise KeysFromConfiguration()


@router.get("", response_model=PublicKeys)
async def public_keys(keys: Signer) -> PublicKeys:
    """Anyone, without a token: the public keys for verifying codes offline (Ed25519, raw, base64url)."""
    return _published(keys)


@router.post("/rotation", status_code=201, response_model=PublicKeys)
async def rotate(request: Request, _admin: Admin, db: Pool) -> PublicKeys:
    """An admin: a new key signs from now on; codes of the earlier keys keep verifying."""
    _keys_in_database(request)
    request.app.state.signer = await ecert.rotate_signing_key(db)
    log.info("e-certificate signing key rotated to %s", request.app.state.signer.key_id)
    return _published(request.app.state.signer)


@router.post("/{key_id}/retirement", response_model=PublicKeys)
async def retire(
    request: Request, key_id: Annotated[str, Path(max_length=64)], _admin: Admin, db: Pool
) -> PublicKeys:
    """An admin: codes signed by this earlier key stop verifying, offline once the keys are fetched again."""
    _keys_in_database(request)
    request.app.state.signer = await ecert.retire_signing_key(db, key_id)
    log.info("e-certificate signing key %s retired", key_id)
    return _published(request.app.state.signer)


def refresh_keys_worker(app: FastAPI) -> Worker:
    """A worker reloading `app.state.signer` every `ecert_key_refresh_seconds`, so that a replica
    signs with, and verifies by, keys another replica rotated or retired."""
    settings: CertificateSettings = app.state.settings

    async def refresh_signing_keys(runtime: ServiceRuntime, stopping: asyncio.Event) -> None:
        if settings.ecert_signing_seed is not None:
            return  # configured keys change only with the configuration, by a restart
        while True:
            try:
                await asyncio.wait_for(stopping.wait(), settings.ecert_key_refresh_seconds)
                return
            except TimeoutError:
                pass
            try:
                app.state.signer = await ecert.load_or_create_signer(runtime.pool, None)
            except Exception:
                log.exception("reloading the e-certificate keys failed; trying again")

    return refresh_signing_keys
