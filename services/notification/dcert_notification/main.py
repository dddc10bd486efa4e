"""The ASGI app for uvicorn: `uvicorn dcert_notification.main:app`."""

from .bootstrap import create_app

app = create_app()
