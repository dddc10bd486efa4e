"""docs/openapi/<service>.json is each service's HTTP contract as the code serves it, and cannot drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("openapi_tool", ROOT / "tools" / "openapi.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = generator()


@pytest.mark.parametrize("service", sorted(TOOL.SERVICES))
def test_the_committed_document_is_what_the_service_serves(service: str) -> None:
    path = TOOL.path_of(service)
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: run `python tools/openapi.py` and commit it"
    committed = path.read_text(encoding="utf-8")
    assert committed == TOOL.render(TOOL.current_document(service)), (
        f"{path.relative_to(ROOT)} is out of date: run `python tools/openapi.py` and commit it"
    )


def test_no_document_is_left_of_a_service_that_is_gone() -> None:
    written = {path.stem for path in TOOL.DOCUMENTS.glob("*.json")}
    assert written == set(TOOL.SERVICES), "run `python tools/openapi.py` and remove the others"
