"""The ASGI app for uvicorn: `uvicorn dcert_portal.main:app`."""

from .bootstrap import create_app

app = create_app()
