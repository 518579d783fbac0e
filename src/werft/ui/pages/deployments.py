"""Deployments and their monitoring: live versions, replicas, traffic, drift over time,
reference-vs-current histograms, performance and KPIs, alerts, rules and channels."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from werft.deploy.entities import Deployment, ServingWindow
from werft.errors import NotFoundError
from werft.governance import access
from werft.governance.roles import Role
from werft.monitoring import charts
from werft.monitoring.entities import Monitor, MonitorResult
from werft.server.deps import require, require_signed_in
from werft.services import Services
from werft.ui.i18n import Translator
from werft.ui.page import NavItem, PageDep

router = APIRouter()
NAV = (NavItem("nav.deployments", "/deployments"),)

HISTORY = 500
"""Monitor results drawn over time (the newest)."""
SERVING_WINDOW = timedelta(hours=1)
CHART_GROUPS = ("drift.score.", "performance.", "kpi.", "serving.latency_")


@router.get("/deployments", dependencies=[require_signed_in()])
def deployments(page: PageDep) -> HTMLResponse:
    """The deployments serving models of the use cases the caller sees."""
    services = page.services
    visible = [d for d in services.deployments.list_deployments() if _visible(page, d)]
    return page.render("deployments/list.html.j2", deployments=visible)


def _visible(page: PageDep, deployment: Deployment) -> bool:
    projects = set()
    for name in deployment.models:
        try:
            projects.add(page.services.registry.get_model(name).project)
        except NotFoundError:
            continue
    return bool(projects) and all(page.can(p) for p in projects)


@router.get("/deployments/{name}", dependencies=[require(Role.VIEWER, access.deployment())])
def deployment(page: PageDep, name: str) -> HTMLResponse:
    """One deployment: what it serves, its replicas and traffic, and each monitor's findings."""
    services = page.services
    found = services.deployments.get(name)
    monitors = services.monitors.list_monitors(deployment=name)
    sections = [_monitor_section(services, page.t, m) for m in monitors]
    rule_names = {m.name for m in monitors}
    rules = [
        r for r in services.alerts.list_rules() if r.monitor is None or r.monitor in rule_names
    ]
    channels = sorted({c for r in rules for c in r.channels})
    return page.render(
        "deployments/deployment.html.j2",
        deployment=found,
        serving=_serving(services, name),
        monitors=sections,
        rules=rules,
        channels=channels,
    )


def _serving(services: Services, name: str) -> ServingWindow:
    """Requests, errors and latency of the last hour, summed over the replicas."""
    now = datetime.now(UTC)
    end_ms = int(now.timestamp() * 1000)
    start_ms = end_ms - int(SERVING_WINDOW.total_seconds() * 1000)
    return services.deployments.serving_window(name, start_ms, end_ms)


def _monitor_section(services: Services, t: Translator, monitor: Monitor) -> dict[str, Any]:
    results = services.monitors.history(monitor.name, limit=HISTORY)
    latest = results[-1] if results else None
    return {
        "monitor": monitor,
        "latest": latest,
        "charts": timeline_charts(results, x_label=t("deployments.time")),
        "histograms": histograms(latest, t) if latest else [],
        "alerts": services.alerts.list_alerts(monitor=monitor.name, limit=50),
    }


def timeline_charts(results: list[MonitorResult], *, x_label: str) -> list[dict[str, Any]]:
    """One time chart per group of values (drift score per feature, performance, KPIs,
    latency), a series per value; x is the window's end in epoch seconds."""
    xs = [r.window_end.timestamp() for r in results]
    found: list[dict[str, Any]] = []
    for prefix in CHART_GROUPS:
        keys = sorted({k for r in results for k in r.values if k.startswith(prefix)})
        keys = [k for k in keys if not k.startswith("performance.drop.")][:8]
        if not keys:
            continue
        found.append(
            {
                "group": prefix.rstrip("._"),
                "data": {
                    "time": True,
                    "x_label": x_label,
                    "series": [
                        {
                            "label": key.removeprefix(prefix),
                            "x": xs,
                            "y": [r.values.get(key) for r in results],
                        }
                        for key in keys
                    ],
                },
            }
        )
    return found


def histograms(result: MonitorResult, t: Translator) -> list[dict[str, Any]]:
    """Reference vs current distribution per feature of a result, drifted features first."""
    features = ((result.report.get("drift") or {}).get("features")) or {}
    shown = []
    for name, feature in features.items():
        labels, reference, current = _shares(feature.get("reference"), feature.get("current"))
        if not labels:
            continue
        svg = charts.bars(
            labels,
            reference,
            current,
            title=name,
            names=(t("deployments.reference"), t("deployments.current")),
        )
        shown.append({"name": name, "feature": feature, "chart": Markup(svg)})
    return sorted(shown, key=lambda s: (not s["feature"].get("drifted"), s["name"]))


def _shares(
    reference: dict[str, Any] | None, current: dict[str, Any] | None
) -> tuple[list[str], list[float], list[float]]:
    if not reference or not current:
        return [], [], []
    if reference.get("kind") == "categorical":
        labels = [*(reference.get("categories") or []), "…"]
    else:
        edges = [float(e) for e in reference.get("edges") or []]
        if not edges:
            return [], [], []
        labels = [f"< {edges[0]:.3g}"]
        labels += [f"[{lo:.3g}, {hi:.3g})" for lo, hi in itertools.pairwise(edges)]
        labels.append(f"> {edges[-1]:.3g}")
    return (
        labels,
        _normalise(reference.get("counts") or []),
        _normalise(current.get("counts") or []),
    )


def _normalise(counts: list[int]) -> list[float]:
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]
