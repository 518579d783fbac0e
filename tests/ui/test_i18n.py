"""Every UI string exists in English and German; the language follows the browser or the switch."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest

from werft.governance.approval_entities import ApprovalStatus
from werft.governance.maturity_entities import PHASES
from werft.governance.usecases.spec import RiskClass
from werft.monitoring.alert_entities import ALERT_STATES
from werft.registry.entities import VersionStatus
from werft.tracking.entities import RunStatus
from werft.ui.i18n import CATALOGS, Translator, negotiate
from werft.ui.pages.deployments import CHART_GROUPS

UI = Path(str(resources.files("werft.ui")))
# t("key"), page.t("key") and NavItem("key", ...) in templates and page modules
_USED = re.compile(r"""(?:\bt\(|NavItem\()\s*["']([a-z_]+\.[a-z0-9_.]+)["']""")


def _used_keys() -> set[str]:
    found: set[str] = set()
    for path in [*UI.rglob("*.j2"), *UI.rglob("*.py")]:
        found |= set(_USED.findall(path.read_text()))
    return found


def test_every_key_is_in_every_language() -> None:
    english = set(CATALOGS["en"])
    for language, messages in CATALOGS.items():
        assert set(messages) == english, f"{language}: {set(messages) ^ english}"
        assert all(text.strip() for text in messages.values()), language


def test_placeholders_agree_between_languages() -> None:
    fields = re.compile(r"\{(\w+)\}")
    for key, text in CATALOGS["en"].items():
        assert set(fields.findall(CATALOGS["de"][key])) == set(fields.findall(text)), key


def test_every_key_the_ui_uses_is_in_the_catalog() -> None:
    used = _used_keys()
    assert len(used) > 50  # the scan finds the keys at all
    static = {key for key in used if not key.endswith(".")}  # "x." ~ value: checked below
    assert static - set(CATALOGS["en"]) == set()


def test_texts_chosen_by_a_value_exist() -> None:
    dynamic = [
        *(f"status.{s.value}" for s in RunStatus),
        *(f"status.{s.value}" for s in ApprovalStatus),
        *(f"risk.{r}" for r in RiskClass.__args__),
        *(f"error.{code}" for code in (400, 403, 404, 409, 500, 503)),
        *(f"vstatus.{s.value}" for s in VersionStatus),
        *(f"mstatus.{s}" for s in ("ok", "drift", "no_data")),
        *(f"status.{s}" for s in ALERT_STATES),
        *(f"phase.{p}" for p in PHASES),
        *(f"deployments.chart.{prefix.rstrip('._')}" for prefix in CHART_GROUPS),
    ]
    assert [key for key in dynamic if key not in CATALOGS["en"]] == []


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, "de-DE,de;q=0.9,en;q=0.8", "de"),
        (None, "en-US,en;q=0.9,de;q=0.8", "en"),
        (None, "fr-FR,de;q=0.5,en;q=0.4", "de"),
        (None, "fr-FR", "en"),
        (None, None, "en"),
        (None, "en;q=0.2, de;q=0.7", "de"),
        (None, "de;q=0, en", "en"),
        ("de", "en-US", "de"),
        ("xx", "de", "de"),
    ],
)
def test_language_is_the_cookie_else_the_browsers_best(
    cookie: str | None, header: str | None, expected: str
) -> None:
    assert negotiate(cookie, header) == expected


def test_numbers_and_times_are_written_as_the_language_writes_them() -> None:
    en, de = Translator("en"), Translator("de")
    assert (en.number(12345.678), de.number(12345.678)) == ("12,345.7", "12.345,7")
    assert (en.number(0.91234), de.number(0.91234)) == ("0.91234", "0,91234")
    assert (en.number(10_000), de.number(10_000)) == ("10,000", "10.000")
    assert en.number(float("nan")) == "NaN"
    when = datetime(2026, 11, 27, 9, 45, tzinfo=UTC)
    assert (en.when(when), de.when(when)) == ("2026-11-27 09:45", "27.11.2026 09:45")


def test_a_missing_text_falls_back_to_english_then_the_key() -> None:
    assert Translator("de")("no.such.key") == "no.such.key"
    assert Translator("de")("runs.showing", first=1, last=50) == "Läufe 1 bis 50"
