"""Every text of a problem answer is written in both languages: a test reads the code for any
`detail` or field `message` written in one (a literal or an f-string), since such a text shows
up only when that one rarely taken path is taken."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dcert_shared.errors import Bilingual, Conflict, FieldError

ROOT = Path(__file__).resolve().parents[2]
# The portal renders its own forms through gettext catalogues (its FieldError is another type).
SOURCES = sorted(
    path
    for pattern in ("shared/dcert_shared/**/*.py", "services/*/dcert_*/**/*.py")
    for path in ROOT.glob(pattern)
    if "dcert_portal" not in path.parts
)


def _one_language(node: ast.expr) -> bool:
    """A text written out in one language: a string literal, an f-string, or one joined from them."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _one_language(node.left) or _one_language(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join":
        return isinstance(node.func.value, ast.Constant)
    return False


def _monolingual_texts(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in ("detail", "message") and _one_language(keyword.value):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {keyword.arg}=")
    return found


def test_the_sources_are_found() -> None:
    assert len(SOURCES) > 100


def test_no_problem_text_is_written_in_one_language_only() -> None:
    found = [place for path in SOURCES for place in _monolingual_texts(path)]
    assert found == []


def test_a_detail_in_one_language_is_refused_where_it_is_raised() -> None:
    with pytest.raises(TypeError, match="both languages"):
        Conflict(detail="status: closed")  # type: ignore[arg-type]


def test_a_field_message_reads_in_the_callers_language() -> None:
    error = FieldError("reason", "missing", Bilingual("请填写理由", "a reason is required"))
    assert error.as_dict("zh-CN")["message"] == "请填写理由"
    assert error.as_dict("en")["message"] == "a reason is required"
