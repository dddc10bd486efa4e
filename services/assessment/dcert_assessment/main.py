"""The ASGI app for uvicorn: `uvicorn dcert_assessment.main:app`."""

from .bootstrap import create_app

app = create_app()
