"""E-certificate keys API: placeholder, being written (issue 4)."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
