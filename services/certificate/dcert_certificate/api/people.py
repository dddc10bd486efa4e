"""Erasing a person on a legal request (admins only): their data key is destroyed everywhere."""

from __future__ import annotations

from fastapi import APIRouter

from dcert_shared.api import principal_context
from dcert_shared.auth import CurrentPrincipal
from dcert_shared.ids import mask

from .dependencies import People, Policy, Service
from .schemas import ErasureAnswer, ErasureRequest

router = APIRouter(prefix="/v1", tags=["personal data"])


@router.post("/people/erasure", response_model=ErasureAnswer)
async def erase_person(
    body: ErasureRequest, principal: CurrentPrincipal, service: Service, people: People, policy: Policy
) -> ErasureAnswer:
    """删除个人信息: only when nothing of the person is open or live (409 otherwise). Their
    identity number, name, phone, address and findings open to nothing from now on, in every
    service, in rebuilt read models and after a restore from an older backup; their records
    stay, so every count stays right. A repeated request changes nothing (`erased_now: false`)."""
    policy.require_admin(principal)
    erased_now = await people.erase_person(
        principal_context(principal), service.person_ref(body.id_number), body.legal_basis
    )
    return ErasureAnswer(
        person=mask(body.id_number), erased=True, erased_now=erased_now, legal_basis=body.legal_basis
    )
