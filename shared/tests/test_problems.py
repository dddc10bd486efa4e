"""Every error reaches the caller as an RFC 9457 problem in their language, and echoes nothing personal."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field, field_validator
from starlette.exceptions import HTTPException

from dcert_shared.errors import Bilingual, Conflict, FieldError, Unauthenticated
from dcert_shared.ids import IdentityNumber, make_identity_number
from dcert_shared.openapi import document_problem_answers
from dcert_shared.problem_responses import PROBLEM_TYPE_BASE, install_problem_handlers

PERSON = make_identity_number("330502", date(1980, 5, 17), 123)
WRONG = PERSON[:-1] + ("1" if PERSON[-1] != "1" else "2")


class CertificateNotActive(Conflict):
    code = "certificate_not_active"
    title_zh = "残疾人证不在有效状态"
    title_en = "The certificate is not active"


class Applicant(BaseModel):
    id_number: str
    phone: str = Field(min_length=5)

    @field_validator("id_number")
    @classmethod
    def _identity(cls, value: str) -> str:
        return IdentityNumber.parse(value).value


class Application(BaseModel):
    applicant: Applicant
    nickname: str | None = None
    consent: bool

    @field_validator("nickname")
    @classmethod
    def _careless(cls, value: str | None) -> str | None:
        if value is not None and value.startswith("bad"):
            raise ValueError(f"nickname {value} is not allowed")  # quotes the input: must be redacted
        return value


def make_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/v1/certificates/{number}")
    async def certificate(number: str) -> None:
        raise CertificateNotActive(
            detail=Bilingual.status("cancelled"),
            errors=[FieldError("number", "cancelled", Bilingual("已注销", "cancelled"))],
            since="2026-01-01",
        )

    @app.post("/v1/applications")
    async def apply(body: Application) -> dict[str, str]:
        return {"status": "submitted"}

    @app.get("/v1/identity")
    async def identity(id_number: str) -> dict[str, str]:
        return {"masked": IdentityNumber.parse(id_number).masked()}

    @app.get("/v1/crash")
    async def crash() -> None:
        raise RuntimeError(f"duplicate key (id_number)=({PERSON})")

    @app.get("/v1/private")
    async def private() -> None:
        raise Unauthenticated()

    @app.get("/v1/teapot")
    async def teapot() -> None:
        raise HTTPException(status_code=400, detail=f"bad {PERSON}")

    # As in the services: one path's methods declared by two routers, included in the app.
    reads, writes = APIRouter(), APIRouter()

    @reads.get("/v1/policies/{code}/versions")
    async def versions(code: str) -> list[str]:
        return []

    @writes.post("/v1/policies/{code}/versions")
    async def record_version(code: str) -> dict[str, str]:
        return {"code": code}

    app.include_router(reads)
    app.include_router(writes)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def problem(answer: httpx.Response, status: int) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = answer.json()
    assert body["status"] == status
    return body


async def test_a_domain_error_renders_a_problem_document_in_chinese_by_default(
    client: httpx.AsyncClient,
) -> None:
    body = problem(await client.get("/v1/certificates/123?secret=1"), 409)
    assert body["type"] == PROBLEM_TYPE_BASE + "certificate_not_active"
    assert body["title"] == "残疾人证不在有效状态"
    assert body["code"] == "certificate_not_active"
    assert body["detail"] == "当前状态：cancelled"
    assert body["instance"] == "/v1/certificates/{number}", "the path holds the number: only the template"
    assert body["errors"] == [{"field": "number", "code": "cancelled", "message": "已注销"}]
    assert body["since"] == "2026-01-01"


async def test_the_title_is_english_when_the_caller_prefers_english(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/certificates/123", headers={"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"})
    body = problem(answer, 409)
    assert body["title"] == "The certificate is not active"
    assert (body["detail"], body["errors"]) == (  # what this occurrence adds, in English too
        "status: cancelled",
        [{"field": "number", "code": "cancelled", "message": "cancelled"}],
    )
    assert answer.headers["content-language"] == "en"


async def test_validation_errors_list_every_field_at_once_and_never_echo_the_input(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post("/v1/applications", json={"applicant": {"id_number": WRONG, "phone": "12"}})
    body = problem(answer, 422)
    assert body["code"] == "validation_failed"
    fields = {error["field"]: error["code"] for error in body["errors"]}  # type: ignore[attr-defined]
    assert fields == {
        "applicant.id_number": "id_check_digit",
        "applicant.phone": "string_too_short",
        "consent": "missing",
    }
    assert WRONG not in answer.text
    assert "input" not in answer.text


async def test_field_messages_follow_the_callers_language(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/applications", json={"applicant": {"id_number": PERSON, "phone": "12"}})
    messages = {error["field"]: error["message"] for error in problem(answer, 422)["errors"]}  # type: ignore[attr-defined]
    assert messages["consent"] == "必填"
    assert messages["applicant.phone"] == "至少应有5个字符"
    english = await client.post(
        "/v1/applications",
        json={"applicant": {"id_number": PERSON, "phone": "12"}},
        headers={"Accept-Language": "en"},
    )
    messages = {error["field"]: error["message"] for error in problem(english, 422)["errors"]}  # type: ignore[attr-defined]
    assert messages["consent"] == "Field required"


async def test_a_validator_message_that_quotes_the_input_is_redacted(client: httpx.AsyncClient) -> None:
    nickname = f"bad-{PERSON}"
    body = {"applicant": {"id_number": PERSON, "phone": "12345"}, "nickname": nickname, "consent": True}
    answer = await client.post("/v1/applications", json=body)
    problem(answer, 422)
    assert PERSON not in answer.text


async def test_malformed_json_is_a_problem_about_the_body(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/v1/applications", content=b'{"applicant": ', headers={"content-type": "application/json"}
    )
    body = problem(answer, 422)
    assert [error["field"] for error in body["errors"]] == ["body"]  # type: ignore[attr-defined]


async def test_an_invalid_identity_number_raised_by_a_handler_is_a_422_with_its_reason(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/v1/identity", params={"id_number": WRONG})
    body = problem(answer, 422)
    assert body["code"] == "id_check_digit"
    assert body["type"] == PROBLEM_TYPE_BASE + "id_check_digit"
    assert body["instance"] == "/v1/identity"
    assert WRONG not in answer.text


async def test_an_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    body = problem(await client.get("/v1/nowhere", headers={"Accept-Language": "en"}), 404)
    assert (body["code"], body["title"], body["instance"]) == ("not_found", "Not found", "about:blank")


async def test_a_wrong_method_is_a_405_problem_that_says_what_is_allowed(client: httpx.AsyncClient) -> None:
    answer = await client.delete("/v1/applications")
    assert problem(answer, 405)["code"] == "method_not_allowed"
    assert answer.headers["allow"] == "POST"


async def test_a_405_allows_every_method_of_the_path_though_two_routes_declare_them(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.delete("/v1/policies/living_subsidy/versions")
    assert problem(answer, 405)["code"] == "method_not_allowed"
    assert answer.headers["allow"] == "GET, POST"


async def test_an_http_exception_detail_is_not_shown(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/teapot")
    assert problem(answer, 400)["code"] == "bad_request"
    assert PERSON not in answer.text


async def test_an_unauthenticated_problem_says_how_to_authenticate(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/private")
    assert problem(answer, 401)["code"] == "unauthenticated"
    assert answer.headers["www-authenticate"].startswith("Bearer")


async def test_an_unexpected_error_is_a_bare_500_and_logs_only_its_type(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="dcert_shared.problem_responses"):
        answer = await client.get("/v1/crash")
    body = problem(answer, 500)
    assert (body["code"], body["title"]) == ("internal_error", "服务器内部错误")
    assert "duplicate" not in answer.text
    assert PERSON not in answer.text
    assert "RuntimeError" in caplog.text
    assert PERSON not in caplog.text
    assert all(record.exc_info is None for record in caplog.records)


def test_the_openapi_document_declares_the_problem_answers_as_problem_json() -> None:
    app = make_app()
    document_problem_answers(app, rate_limited_paths=["/v1/identity"])
    paths = app.openapi()["paths"]
    apply = paths["/v1/applications"]["post"]["responses"]
    assert {"400", "404", "409", "413", "422", "500"} <= set(apply)
    identity = paths["/v1/identity"]["get"]["responses"]
    assert "429" in identity, "a GET conflicts with nothing"
    assert "409" not in identity, "a GET conflicts with nothing"
    for responses in (apply, identity):
        for status, response in responses.items():
            if int(status) >= 400:
                assert list(response["content"]) == ["application/problem+json"], status
                assert response["content"]["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"
                }
    assert "HTTPValidationError" not in app.openapi()["components"]["schemas"], "FastAPI's 422 is not ours"
