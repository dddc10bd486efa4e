"""The ASGI app for uvicorn: `uvicorn dcert_benefits.main:app`."""

from .bootstrap import create_app

app = create_app()
