"""Monitoring reports: the same content as JSON and as one self-contained HTML file.

:func:`build_report` collects a monitor's results over a period and its
alerts; :func:`render_html` turns that JSON into a page with inline SVG
charts and inline CSS — it opens offline and can be mailed or archived.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from werft.monitoring import charts
from werft.monitoring.entities import Monitor, MonitorResult

_SERVING = ("latency_p50", "latency_p95", "latency_p99")


def build_report(
    monitor: Monitor,
    results: Sequence[MonitorResult],
    alerts: Sequence[Mapping[str, Any]],
    *,
    generated_at: datetime,
    start: datetime | None = None,
) -> dict[str, Any]:
    """The report's content as JSON-compatible data."""
    latest = results[-1] if results else None
    return {
        "monitor": monitor.model_dump(mode="json", exclude={"config": {"baseline"}}),
        "generated_at": generated_at.isoformat(),
        "period": {
            "start": (start or (results[0].window_start if results else generated_at)).isoformat(),
            "end": generated_at.isoformat(),
        },
        "latest": latest.model_dump(mode="json") if latest else None,
        "timeline": [
            {
                "window_start": r.window_start.isoformat(),
                "window_end": r.window_end.isoformat(),
                "status": r.status,
                "rows": r.rows,
                "values": r.values,
            }
            for r in results
        ],
        "alerts": [dict(alert) for alert in alerts],
    }


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one HTML page (no external resources)."""
    env = Environment(
        loader=PackageLoader("werft.monitoring", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("report.html.j2")
    latest = report.get("latest") or {}
    body = latest.get("report") or {}
    return template.render(
        report=report,
        latest=latest,
        body=body,
        features=_feature_sections(body),
        timeline=_timeline_charts(report.get("timeline") or [], body),
        prediction=_prediction_chart(body),
    )


def _feature_sections(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    drift = body.get("drift") or {}
    quality = (body.get("quality") or {}).get("features") or {}
    sections = []
    for name, feature in (drift.get("features") or {}).items():
        labels, ref, cur = _shares(feature.get("reference"), feature.get("current"))
        sections.append(
            {
                "name": name,
                "feature": feature,
                "quality": quality.get(name) or {},
                "chart": Markup(
                    charts.bars(labels, ref, cur, title=f"{name}: reference vs current")
                ),
            }
        )
    return sorted(sections, key=lambda s: (not s["feature"].get("drifted"), s["name"]))


def _shares(
    reference: Mapping[str, Any] | None, current: Mapping[str, Any] | None
) -> tuple[list[str], list[float], list[float]]:
    if not reference or not current:
        return [], [], []
    if reference.get("kind") == "categorical":
        labels = [*(reference.get("categories") or []), "other"]
    else:
        edges = reference.get("edges") or []
        labels = ["below"] + [f"{_num(lo)} to {_num(hi)}" for lo, hi in itertools.pairwise(edges)]
        labels.append("above")
    return (
        labels,
        _normalise(reference.get("counts") or []),
        _normalise(current.get("counts") or []),
    )


def _normalise(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [count / total if total else 0.0 for count in counts]


def _num(value: Any) -> str:
    try:
        return f"{float(value):.3g}"
    except (TypeError, ValueError):
        return str(value)


def _timeline_charts(
    timeline: Sequence[Mapping[str, Any]], body: Mapping[str, Any]
) -> dict[str, Markup]:
    if not timeline:
        return {}
    xs = [datetime.fromisoformat(t["window_end"]).timestamp() for t in timeline]
    labels = (timeline[0]["window_end"][:16], timeline[-1]["window_end"][:16])

    def series(
        names: Sequence[str], *, prefix: str = ""
    ) -> dict[str, list[tuple[float, float | None]]]:
        return {
            name.removeprefix(prefix): [
                (x, t["values"].get(name)) for x, t in zip(xs, timeline, strict=True)
            ]
            for name in names
            if any(name in t["values"] for t in timeline)
        }

    keys = sorted({k for t in timeline for k in t["values"]})
    drift_scores = [k for k in keys if k.startswith("drift.score.")]
    share_threshold = (body.get("drift") or {}).get("share_threshold")
    performance = [
        k
        for k in keys
        if k.startswith("performance.")
        and k.count(".") == 1
        and k not in ("performance.labelled", "performance.degraded", "performance.change_point")
    ]
    kpis = [k for k in keys if k.startswith("kpi.") and not k.endswith(".mean")]
    out = {
        "drift_share": charts.lines(
            series(["drift.share"]),
            title="Share of drifted features",
            threshold=share_threshold,
            x_labels=labels,
        ),
        "drift_scores": charts.lines(
            series(drift_scores, prefix="drift.score."),
            title="Drift statistic per feature",
            x_labels=labels,
        ),
        "performance": charts.lines(
            series(performance, prefix="performance."),
            title="Performance from feedback",
            x_labels=labels,
        ),
        "latency": charts.lines(
            series([f"serving.{k}" for k in _SERVING], prefix="serving."),
            title="Latency (s)",
            x_labels=labels,
        ),
        "errors": charts.lines(
            series(["serving.error_rate"], prefix="serving."), title="Error rate", x_labels=labels
        ),
        "kpis": charts.lines(series(kpis, prefix="kpi."), title="Business KPIs", x_labels=labels),
        "rows": charts.lines(
            series(["rows"]), title="Logged predictions per window", x_labels=labels
        ),
    }
    return {name: Markup(svg) for name, svg in out.items()}


def _prediction_chart(body: Mapping[str, Any]) -> Markup | None:
    prediction = body.get("prediction") or {}
    drift = prediction.get("drift") or {}
    feature = (drift.get("features") or {}).get("prediction")
    if not feature:
        return None
    labels, ref, cur = _shares(feature.get("reference"), feature.get("current"))
    return Markup(
        charts.bars(
            labels,
            ref,
            cur,
            title="Predictions: baseline vs current",
            names=("baseline", "current"),
        )
    )
