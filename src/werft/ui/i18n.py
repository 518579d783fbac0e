"""The UI's languages: a catalog per language, chosen by cookie, else by Accept-Language.

Strings are looked up by key (``runs.title``) and formatted with
:meth:`str.format` placeholders. Every key exists in every catalog (a test
checks it); numbers and times are written the way the language writes them.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from werft.ui.messages import de, en

CATALOGS: dict[str, dict[str, str]] = {"en": en.MESSAGES, "de": de.MESSAGES}
"""Language code -> key -> text."""
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}
"""Each language in its own words, for the switch."""
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "werft_lang"


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The language to answer in: the cookie's choice, else the browser's best match."""
    if cookie in CATALOGS:
        return cookie
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary in CATALOGS and quality > 0:
            ranked.append((-quality, index, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


class Translator:
    """Texts, numbers and times in one language; templates call it as ``t("key")``."""

    def __init__(self, language: str) -> None:
        if language not in CATALOGS:
            raise ValueError(f"no catalog for language {language!r}")
        self.language = language
        self._messages = CATALOGS[language]

    def __call__(self, key: str, /, **values: object) -> str:
        text = self._messages.get(key) or CATALOGS[DEFAULT_LANGUAGE].get(key, key)
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        """Whether the catalog has ``key`` (for texts chosen by a value, e.g. a status)."""
        return key in self._messages

    def number(self, value: float | int | str | None) -> str:
        """A metric value or count: up to 6 significant digits, the language's marks."""
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return str(value)
        if isinstance(value, int) and not isinstance(value, bool):
            text = f"{value:,}"
        elif math.isnan(value):
            return "NaN"
        elif math.isinf(value):
            return "∞" if value > 0 else "-∞"
        else:
            text = f"{value:,.6g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.3e}"
        if self.language == "de":
            text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        return text

    def when(self, value: datetime | None) -> str:
        """A point in time, in UTC: ``2026-11-27 09:45`` / ``27.11.2026 09:45``."""
        if value is None:
            return ""
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        if self.language == "de":
            return f"{value:%d.%m.%Y %H:%M}"
        return f"{value:%Y-%m-%d %H:%M}"
