"""Card centre API: placeholder, being written (issue 4)."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
