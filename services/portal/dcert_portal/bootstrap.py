"""Builds the portal from settings: the same wiring for `make run`, tests and production."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from .admin_pages import router as admin_router
from .applicant_pages import router as applicant_router
from .card_pages import router as card_router
from .certificate_pages import router as certificate_router
from .doctor_pages import router as doctor_router
from .i18n import load_translators
from .identity import provider_of
from .live_code import router as live_code_router
from .matter_pages import router as matter_router
from .pages import PageRefused, render, signed_out
from .partner_pages import router as partner_router
from .review_pages import router as review_router
from .services import Services, ServiceUnavailable, SignedOut
from .sessions import EncryptedSessionMiddleware
from .settings import PortalSettings
from .sign_in_pages import router as sign_in_router

HERE = Path(__file__).parent
SESSION_COOKIE = "dcert_portal_session"
# Scripts and styles only from this site (one script: the identity number check); forms post only here; never
# framed, framing only pages of this site (the e-certificate's live code, live_code.py, which allows it).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Production is served over HTTPS only (secure cookies): browsers are told to keep to it.
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def create_app(settings: PortalSettings | None = None) -> FastAPI:
    settings = settings or PortalSettings()
    services = Services.of(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await services.aclose()

    app = FastAPI(title="残疾人证 portal", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.services = services
    app.state.identity = provider_of(settings)
    app.state.translators = load_translators()
    templates = Jinja2Templates(directory=HERE / "templates")
    app.state.templates = templates
    # Encrypted, not only signed: it holds the access token and the person's claims (sessions.py).
    app.add_middleware(
        EncryptedSessionMiddleware,
        secret_key=settings.secret,
        session_cookie=SESSION_COOKIE,
        # The cookie outlives the sign-in (its `expires_at`) by half a day: who was signed in is
        # remembered, so that a form sent after the sign-in ended is kept for them (drafts.py).
        max_age=settings.session_max_age_seconds + 12 * 3600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if settings.secure_cookies:
            response.headers.setdefault(*HSTS)
        return response

    @app.exception_handler(PageRefused)
    async def refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, PageRefused)
        return error.response

    @app.exception_handler(SignedOut)
    async def token_refused(request: Request, error: Exception) -> Response:
        return signed_out(request)

    @app.exception_handler(ServiceUnavailable)
    async def unavailable(request: Request, error: Exception) -> Response:
        return render(request, "unavailable.html", 503)

    # The routes every service has, for load balancers and orchestrators: the portal holds no
    # connection that could fail apart from the process (a page says which service is down),
    # so it is live and ready whenever it answers.
    @app.get("/health")
    @app.get("/health/live")
    @app.get("/health/ready")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(sign_in_router)
    app.include_router(applicant_router)
    app.include_router(review_router)
    app.include_router(certificate_router)
    app.include_router(doctor_router)
    app.include_router(matter_router)
    app.include_router(card_router)
    app.include_router(admin_router)
    app.include_router(partner_router)
    app.include_router(live_code_router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
