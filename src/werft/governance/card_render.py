"""Model cards as Markdown and as one self-contained HTML page.

The card is laid out once, as a small document of sections and blocks (facts,
tables, text, notes) — the usual model card sections, or Annex IV's points 1 to 9
for a high-risk use case — and two Jinja2 templates write that document as
Markdown or HTML. The HTML has its CSS inline and loads nothing: it opens
offline and can be archived or mailed as it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from werft.governance.card_entities import AnnexSection, ModelCard

Row = Sequence[Any]
_EMPTY = "-"


@dataclass(frozen=True)
class Block:
    """One piece of a section: ``facts`` (label, value rows), ``table``, ``text`` or ``note``."""

    kind: str
    rows: list[list[str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    text: str = ""
    caption: str = ""


@dataclass(frozen=True)
class Section:
    heading: str
    blocks: list[Block]


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    summary: list[str]
    sections: list[Section]


def render_markdown(card: ModelCard) -> str:
    """The card as Markdown."""
    return _render("card.md.j2", card)


def render_html(card: ModelCard) -> str:
    """The card as one HTML page with inline CSS and no external resources."""
    return _render("card.html.j2", card)


def _render(template: str, card: ModelCard) -> str:
    env = Environment(
        loader=PackageLoader("werft.governance", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = _cell
    return env.get_template(template).render(doc=layout(card))


def _cell(value: str) -> str:
    """A Markdown table cell: no line breaks, pipes escaped."""
    return " ".join(value.split()).replace("|", "\\|")


def fmt(value: Any) -> str:
    """A value as the card shows it."""
    if value is None:
        return _EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v) for v in value) or _EMPTY
    return str(value) if str(value) else _EMPTY


def _facts(*rows: tuple[str, Any]) -> Block:
    return Block("facts", rows=[[label, fmt(value)] for label, value in rows])


def _table(columns: Sequence[str], rows: Sequence[Row], caption: str = "") -> Block:
    return Block(
        "table",
        columns=list(columns),
        rows=[[fmt(cell) for cell in row] for row in rows],
        caption=caption,
    )


def _text(text: str) -> Block:
    return Block("text", text=text)


def _note(text: str) -> Block:
    return Block("note", text=text)


# --- the blocks, shared by both layouts ----------------------------------------------------


def _use_case(card: ModelCard, *, acceptance: bool = True) -> list[Block]:
    uc = card.use_case
    if uc is None:
        return [_text("No use case is recorded for this project (werft.yaml was never synced).")]
    blocks = [
        _facts(
            ("Use case", uc.name or uc.key),
            ("Business goal", uc.business_goal),
            ("Owner", uc.owner),
            ("Risk class", uc.risk_class),
            ("Intended use", uc.intended_use or None),
            ("Approvers", uc.approvers),
            ("Release policy", [f"{a}: {p}" for a, p in sorted(uc.policy.items())]),
        )
    ]
    if uc.kpis:
        blocks.append(
            _table(
                ["KPI", "unit", "direction"],
                [(k.get("name"), k.get("unit"), k.get("direction")) for k in uc.kpis],
                "Business KPIs",
            )
        )
    if uc.acceptance and acceptance:
        blocks.append(_acceptance(card))
    return blocks


def _acceptance(card: ModelCard) -> Block:
    rules = card.use_case.acceptance if card.use_case else []
    return _table(
        ["metric", "must be", "observed"],
        [
            (r.get("metric"), f"{r.get('op', '')} {fmt(r.get('value'))}", _observed(card, r))
            for r in rules
        ],
        "Acceptance criteria (observed: the newest gate report, else the training run)",
    )


def _observed(card: ModelCard, rule: dict[str, Any]) -> Any:
    metric = str(rule.get("metric"))
    if card.gates:
        for check in card.gates[-1].checks:
            if check.name == f"model.acceptance.{metric}" and not check.skipped:
                return check.value
    return card.metrics.get(metric)


def _model(card: ModelCard) -> list[Block]:
    v = card.version
    return [
        _facts(
            ("Model", f"{v.name} version {v.version}"),
            ("Project", v.project),
            ("Status", v.status.value),
            ("Aliases", v.aliases),
            ("Flavor", f"{v.flavor} ({v.model_class})"),
            ("Package hash", v.content_hash),
            ("Registered", f"{fmt(v.created_at)} by {v.created_by or _EMPTY}"),
            ("Description", v.description or None),
        )
    ]


def _signature(card: ModelCard) -> list[Block]:
    signature = card.version.signature or {}
    inputs = [c for c in signature.get("inputs") or [] if isinstance(c, dict)]
    output = signature.get("output") if isinstance(signature.get("output"), dict) else {}
    blocks = [
        _table(
            ["input", "type", "dtype", "nullable"],
            [(c.get("name"), c.get("type"), c.get("dtype"), c.get("nullable")) for c in inputs],
            "Inputs",
        )
    ]
    if output:
        blocks.append(
            _facts(
                ("Output", output.get("kind")),
                ("Output dtype", output.get("dtype")),
                ("Classes", output.get("classes")),
            )
        )
    return blocks


def _training(card: ModelCard) -> list[Block]:
    if card.run_id is None:
        return [_text("No training run is linked to this version.")]
    code = card.code
    git = None
    if code and code.git_commit:
        git = code.git_commit + (" (uncommitted changes)" if code.git_dirty else "")
    blocks = [
        _facts(
            ("Run", f"{card.run_name or ''} ({card.run_id})"),
            ("Source", code.source_file if code else None),
            ("Git commit", git),
            ("Python", card.environment.get("python")),
        )
    ]
    if card.params:
        blocks.append(_table(["parameter", "value"], sorted(card.params.items()), "Parameters"))
    if card.metrics:
        blocks.append(_table(["metric", "value"], sorted(card.metrics.items()), "Metrics"))
    return blocks


def _data(card: ModelCard) -> list[Block]:
    if not card.datasets:
        return [_text("The training run recorded no input datasets.")]
    return [
        _table(
            ["dataset", "version", "used for", "content hash"],
            [(d.name, d.version, d.context, d.digest) for d in card.datasets],
        )
    ]


def _gates(card: ModelCard) -> list[Block]:
    if not card.gates:
        return [_text("No gate report: `werft check` was never run on this version.")]
    blocks = []
    for gate in card.gates:
        verdict = "passed" if gate.passed else "FAILED"
        caption = f"Gate report #{gate.id}: {verdict}, {fmt(gate.created_at)} by {gate.created_by}"
        if gate.rows is not None:
            caption += f", {gate.rows} rows of evaluation data {gate.data_digest}"
        blocks.append(
            _table(
                ["check", "result", "observed", "threshold", "note"],
                [
                    (
                        c.name,
                        "skipped" if c.skipped else ("passed" if c.passed else "FAILED"),
                        c.value,
                        f"{c.op} {fmt(c.threshold)}" if c.op else c.threshold,
                        c.message,
                    )
                    for c in gate.checks
                ],
                caption,
            )
        )
    return blocks


def _approvals(card: ModelCard) -> list[Block]:
    return _requests(card) + _overrides(card)


def _requests(card: ModelCard) -> list[Block]:
    if not card.approvals:
        return [_text("No approval was requested for this version.")]
    return [
        _table(
            ["request", "alias", "status", "requested", "reason", "decided", "comment"],
            [
                (
                    f"#{a.id}",
                    a.alias,
                    a.status.value,
                    f"{a.requested_by}, {fmt(a.requested_at)}",
                    a.reason,
                    f"{a.decided_by}, {fmt(a.decided_at)}" if a.decided_by else None,
                    a.comment,
                )
                for a in card.approvals
            ],
        )
    ]


def _overrides(card: ModelCard) -> list[Block]:
    if not card.overrides:
        return []
    return [
        _table(
            ["when", "by", "alias", "gate", "written reason"],
            [(o.at, o.actor, o.alias, o.gate, o.reason) for o in card.overrides],
            "Gate overrides",
        )
    ]


def _history(card: ModelCard) -> list[Block]:
    if not card.alias_history:
        return [_text("No alias of this model was ever set.")]
    return [
        _table(
            ["when", "alias", "from version", "to version", "by"],
            [(e.at, e.alias, e.from_version, e.to_version, e.actor) for e in card.alias_history],
        )
    ]


def _deployments(card: ModelCard) -> list[Block]:
    if not card.deployments:
        return [_text("No deployment serves this model.")]
    return [
        _table(
            ["deployment", "alias", "strategy", "monitors"],
            [(d.name, d.alias, d.strategy, d.monitors) for d in card.deployments],
        )
    ]


# --- the two layouts -----------------------------------------------------------------------


def layout(card: ModelCard) -> Document:
    """The card's document: Annex IV's structure for a high-risk use case, else a model card."""
    v = card.version
    subtitle = f"Generated by werft on {fmt(card.generated_at)} from its records."
    if card.high_risk:
        return Document(
            title=f"Technical documentation: {v.name} version {v.version}",
            subtitle=subtitle + " Structure: EU AI Act (Regulation (EU) 2024/1689), Annex IV.",
            summary=[f"{s.number}. {s.title}" for s in card.open_sections],
            sections=[_annex(card, s) for s in card.annex],
        )
    return Document(
        title=f"Model card: {v.name} version {v.version}",
        subtitle=subtitle,
        summary=[],
        sections=[
            Section("Use case", _use_case(card)),
            Section("Model", _model(card) + _signature(card)),
            Section("Training", _training(card)),
            Section("Training data", _data(card)),
            Section("Gate reports", _gates(card)),
            Section("Approvals", _approvals(card)),
            Section("Alias and deployment history", _history(card) + _deployments(card)),
        ],
    )


def _annex(card: ModelCard, section: AnnexSection) -> Section:
    content: dict[int, list[Block]] = {
        1: _use_case(card, acceptance=False)
        + _model(card)
        + ([_facts(("Packages", _packages(card)))] if _packages(card) else []),
        2: _training(card) + _data(card) + _signature(card) + _gates(card),
        3: _requests(card) + _deployments(card),
        4: ([_acceptance(card)] if card.use_case and card.use_case.acceptance else [])
        + ([_table(["metric", "value"], sorted(card.metrics.items()))] if card.metrics else []),
        6: _history(card) + _overrides(card),
        9: _deployments(card),
    }
    blocks = []
    if section.recorded:
        blocks.append(_note("Recorded by werft: " + "; ".join(section.recorded) + "."))
    blocks += content.get(section.number, [])
    if section.needs:
        blocks.append(_note(f"Needs human input: {section.needs}."))
    return Section(f"{section.number}. {section.title}", blocks)


def _packages(card: ModelCard) -> list[str]:
    packages = card.environment.get("packages")
    if not isinstance(packages, dict):
        return []
    return [f"{name} {version}" for name, version in sorted(packages.items())]
