"""Every text of the portal is in both catalogues, translated (no services needed)."""

from __future__ import annotations

import re
from pathlib import Path

from dcert_portal.i18n import LANGUAGES, load_translators, read_catalogue

PACKAGE = Path(__file__).parents[1] / "dcert_portal"
MARKED = re.compile(r"""(?:\b_|\bN_|\bgettext)\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")


def marked_texts() -> set[str]:
    texts = set()
    for path in PACKAGE.rglob("*"):
        if path.suffix in (".html", ".py"):
            texts |= {a or b for a, b in MARKED.findall(path.read_text(encoding="utf-8"))}
    return texts


def test_every_text_is_in_each_catalogue_and_translated() -> None:
    texts = marked_texts()
    assert len(texts) > 100
    for language in LANGUAGES:
        catalogue = read_catalogue(language)
        translated = {str(m.id) for m in catalogue if m.id and m.string}
        assert texts - translated == set(), language


def test_dates_are_in_the_locales_form() -> None:
    translators = load_translators()
    assert translators["zh-CN"].date("2026-05-01") == "2026年5月1日"
    assert translators["en"].date("2026-05-01") == "May 1, 2026"
    assert translators["zh-CN"].gettext("Sign in") == "登录"
