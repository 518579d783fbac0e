"""The model card: what it shows, Markdown and HTML, Annex IV for high-risk use cases."""

from __future__ import annotations

import re

from werft.governance.actor import acting_as
from werft.governance.card_entities import ModelCard
from werft.governance.card_render import render_html, render_markdown
from werft.services import Services
from werft.store.models import DeploymentRow, MonitorRow
from werft.tracking._rows import utcnow

from .conftest import MODEL, Release

ANNEX_TITLES = [
    "1. General description of the AI system",
    "2. Detailed description of the elements of the AI system and of the process for its "
    "development",
    "3. Monitoring, functioning and control of the AI system",
    "4. Appropriateness of the performance metrics",
    "5. Risk management system (Article 9)",
    "6. Relevant changes made through the lifecycle",
    "7. Harmonised standards applied",
    "8. EU declaration of conformity (Article 47)",
    "9. Evaluation of performance in the post-market phase (Article 72)",
]


def _released(services: Services, release: Release, **use_case: object) -> ModelCard:
    """Version 1 in production (approved by anna), version 2 overridden into staging."""
    release.use_case(**use_case)
    first = release.version()
    with acting_as("dev"):
        request = services.promotions.promote(MODEL, first, "production", reason="AUC +2pt")
    assert request.approval is not None
    with acting_as("anna"):
        services.promotions.approve(request.approval.id, comment="checked the B2B slice")
    second = release.version(gate=False)
    with acting_as("ops-lead"):
        services.promotions.promote(
            MODEL, second, "staging", override_reason="holdout set is being rebuilt"
        )
    return services.cards.build(MODEL, first)


def test_a_limited_risk_card_shows_what_werft_recorded(
    services: Services, release: Release
) -> None:
    card = _released(services, release, intended_use="Rank contract customers by churn risk")
    assert not card.high_risk and card.annex == []
    text = render_markdown(card)
    assert text.startswith(f"# Model card: {MODEL} version 1\n")
    for expected in (
        "Churn prediction for contract customers",
        "Reduce contract cancellations by reaching at-risk customers early",
        "sales-analytics",
        "| **Risk class** | limited |",
        "Rank contract customers by churn risk",
        "| retained_customers | count | up |",
        "| roc_auc | >= 0.85 | 0.91 |",  # acceptance, observed by the newest gate
        "sklearn (sklearn.pipeline.Pipeline)",
        "sha256:" + "ab" * 32,  # package hash
        "| tenure | - | float64 | - |",
        "| customers | 1 | training | sha256:" + "12" * 32 + " |",
        "| depth | 3 |",
        "| auc | 0.91 |",
        "| model.acceptance.roc_auc | passed | 0.91 | >= 0.85 | - |",
        "| #1 | production | approved | dev, ",
        "| AUC +2pt | anna, ",
        "| checked the B2B slice |",
        "| production | - | 1 | anna |",
        "No deployment serves this model.",
    ):
        assert expected in text, expected
    assert "Annex IV" not in text and "human input" not in text


def test_overrides_deployments_and_monitors_appear(services: Services, release: Release) -> None:
    _released(services, release)
    now = utcnow()
    with services.db.session() as session:
        session.add(
            DeploymentRow(
                id="d1",
                name="churn-prod",
                models={MODEL: {"alias": "production"}},
                strategy="single",
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()
        session.add(
            MonitorRow(
                id="m1",
                name="churn-drift",
                deployment_id="d1",
                window_seconds=3600,
                schedule="@hourly",
                config={},
                enabled=True,
                next_run_at=None,
                last_run_at=None,
                created_at=now,
                updated_at=now,
            )
        )
    card = services.cards.build(MODEL, 2)
    assert [(o.actor, o.alias, o.gate) for o in card.overrides] == [
        ("ops-lead", "staging", "failed")
    ]
    text = render_markdown(card)
    assert "| ops-lead | staging | failed | holdout set is being rebuilt |" in text
    assert "| churn-prod | production | single | churn-drift |" in text
    assert "| model.acceptance.roc_auc | FAILED | 0.8 | >= 0.85 | roc_auc 0.8 < 0.85 |" in text


def test_a_high_risk_card_follows_annex_iv_and_lists_open_sections(
    services: Services, release: Release
) -> None:
    card = _released(services, release, risk_class="high")
    assert card.high_risk
    assert [f"{s.number}. {s.title}" for s in card.annex] == ANNEX_TITLES
    assert [s.number for s in card.open_sections] == [1, 2, 3, 4, 5, 7, 8, 9]
    text = render_markdown(card)
    assert text.startswith(f"# Technical documentation: {MODEL} version 1\n")
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings == ANNEX_TITLES
    summary = text.split("**Sections that still need human input:**")[1].split("## ")[0]
    assert "6. Relevant changes" not in summary and "8. EU declaration" in summary
    general = text.split("## 1. ")[1].split("## 2. ")[0]
    assert "intended_use in werft.yaml" in general  # no intended use was declared
    changes = text.split("## 6. ")[1].split("## 7. ")[0]
    assert "Needs human input" not in changes and "| production | - | 1 | anna |" in changes
    data = text.split("## 2. ")[1].split("## 3. ")[0]
    assert "sha256:" + "12" * 32 in data and "model.acceptance.roc_auc" in data
    oversight = text.split("## 3. ")[1].split("## 4. ")[0]
    assert "checked the B2B slice" in oversight
    assert "no werft monitor watches" in text.split("## 9. ")[1]


def test_the_html_card_is_self_contained_and_escaped(services: Services, release: Release) -> None:
    card = _released(services, release, risk_class="high", name="Churn <script>alert(1)</script>")
    html = render_html(card)
    assert html.startswith("<!doctype html>") and "<style>" in html
    for external in ("http://", "https://", "src=", "href=", "url(", "@import", "//cdn"):
        assert external not in html, external
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count("<h2>") == 9 and "Sections that still need human input" in html
    limited = render_html(_released_limited(services))
    assert "<h2>Gate reports</h2>" in limited and "Annex IV" not in limited


def _released_limited(services: Services) -> ModelCard:
    release = Release(services, project="fraud")
    release.use_case(risk_class="minimal")
    version = release.version(name="fraud-detector")
    return services.cards.build("fraud-detector", version)


def test_a_card_without_use_case_or_run_still_renders(services: Services, release: Release) -> None:
    version = release.version(gate=None)
    card = services.cards.build(MODEL, version)
    assert card.use_case is None and not card.high_risk
    text = render_markdown(card)
    assert "No use case is recorded" in text
    assert "No gate report: `werft check` was never run" in text
    assert "No approval was requested" in text


def test_markdown_table_cells_cannot_break_the_table(services: Services, release: Release) -> None:
    release.use_case(intended_use="scores | ranks\nand more")
    card = services.cards.build(MODEL, release.version())
    assert "| **Intended use** | scores \\| ranks and more |" in render_markdown(card)
