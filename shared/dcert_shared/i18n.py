"""Languages of user-facing texts: Simplified Chinese first, English by choice."""

from __future__ import annotations

DEFAULT_LANGUAGE = "zh-CN"
LANGUAGES = ("zh-CN", "en")


def negotiate(accept_language: str | None) -> str:
    """The caller's preferred language among ours (`Accept-Language`), zh-CN by default."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def pick(language: str, zh: str, en: str) -> str:
    return en if language == "en" else zh
