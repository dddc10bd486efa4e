"""People's routes: how to reach me (contact and language), my inbox; the notices' delivery record."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from dcert_shared.i18n import negotiate

from ..adapters import people, queries
from ..domain.errors import NoticeNotFound
from ..domain.notices import Language, NoticeKind, render
from .dependencies import Admin, MyPersonRef, PersonalDataVault, Pool

router = APIRouter(prefix="/v1", tags=["people"])
ChannelName = Literal["inbox", "sms", "email"]


def _inbox_only() -> list[ChannelName]:
    return ["inbox"]


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    language: Language = "zh-CN"
    phone: str | None = Field(None, pattern=r"^1[3-9][0-9]{9}$", description="a mainland mobile number")
    email: str | None = Field(None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    channels: list[ChannelName] = Field(
        default_factory=_inbox_only, description="inbox always; sms and email when given"
    )


class ContactPublic(BaseModel):
    language: Language
    channels: list[str]
    phone: str | None = Field(description="masked")
    email: str | None = Field(description="masked")


class InboxItem(BaseModel):
    id: str
    kind: str
    title: str
    text: str
    at: datetime
    read: bool


class Inbox(BaseModel):
    items: list[InboxItem]
    unread: int


class NoticeRecord(BaseModel):
    id: str
    kind: str
    channel: str
    status: Literal["queued", "retried", "sent", "failed", "withdrawn"]
    attempts: int
    last_error: str | None
    due_at: datetime
    created_at: datetime
    sent_at: datetime | None


def _masked_phone(phone: str | None) -> str | None:
    return phone[:3] + "****" + phone[-4:] if phone else None


def _masked_email(email: str | None) -> str | None:
    if not email:
        return None
    name, _, domain = email.partition("@")
    return name[:1] + "***@" + domain


@router.put("/me/contact", response_model=ContactPublic)
async def set_contact(body: ContactIn, me: MyPersonRef, vault: PersonalDataVault, db: Pool) -> ContactPublic:
    """How the signed-in person (or agent) wants to be told: language, phone, e-mail, channels.
    The phone and the e-mail are kept sealed with the person's own key."""
    channels: list[str] = list(dict.fromkeys(["inbox", *body.channels]))
    await people.save_contact(db, vault, me, body.language, channels, body.phone, body.email)
    return ContactPublic(
        language=body.language,
        channels=channels,
        phone=_masked_phone(body.phone),
        email=_masked_email(body.email),
    )


@router.get("/me/contact", response_model=ContactPublic)
async def get_contact(me: MyPersonRef, vault: PersonalDataVault, db: Pool) -> ContactPublic:
    contact = await queries.opened_contact(db, vault, me)
    if contact is None:
        return ContactPublic(language="zh-CN", channels=["inbox"], phone=None, email=None)
    return ContactPublic(
        language=contact.language,
        channels=contact.channels,
        phone=_masked_phone(contact.phone),
        email=_masked_email(contact.email),
    )


@router.get("/inbox", response_model=Inbox)
async def inbox(
    me: MyPersonRef,
    vault: PersonalDataVault,
    db: Pool,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    accept_language: Annotated[str | None, Header()] = None,
) -> Inbox:
    """站内信: the notices for the signed-in person, and for everyone they are the agent of,
    newest first, in the language asked for (or the person's own)."""
    mine = await queries.inbox(db, vault, me, limit)
    language = negotiate(accept_language) if accept_language else mine.language
    items = []
    for notice in mine.notices:
        title, text = render(NoticeKind(notice.kind), language, notice.params)
        items.append(
            InboxItem(
                id=notice.id, kind=notice.kind, title=title, text=text, at=notice.due_at, read=notice.read
            )
        )
    response.headers["Content-Language"] = language
    return Inbox(items=items, unread=sum(not item.read for item in items))


@router.post("/inbox/{notice_id}/read", status_code=204)
async def mark_read(notice_id: str, me: MyPersonRef, db: Pool) -> Response:
    if not await people.mark_read(db, me, notice_id):
        raise NoticeNotFound()
    return Response(status_code=204)


@router.get("/notices", response_model=list[NoticeRecord])
async def notice_records(
    principal: Admin,
    db: Pool,
    status: Literal["queued", "retried", "sent", "failed", "withdrawn"] | None = None,
    channel: ChannelName | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[NoticeRecord]:
    """The delivery record of notices (queued, sent, failed, retried): no recipient, no text."""
    return [
        NoticeRecord(**asdict(entry)) for entry in await queries.notice_records(db, status, channel, limit)
    ]
