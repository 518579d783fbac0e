"""Models, deployments with their monitoring, and the audit log."""

from __future__ import annotations

import json
import re

from werft.governance.roles import Role

from .conftest import (
    DEPLOYMENT,
    MODEL,
    PROJECT,
    Site,
    approval_request,
    monitored_deployment,
    text,
    use_case,
)


def test_model_page_shows_versions_gate_reports_lineage_and_card(site: Site) -> None:
    approval_request(
        site.services, requester="dev", digest=use_case(site.services, approvers=["a"])
    )
    browser = site.browser()
    assert MODEL in browser.get("/models").text
    page = text(browser.get(f"/models/{MODEL}").text)
    assert "v1" in page and "Gate reports of version 1" in page and "passed" in page
    assert "Lineage" in page
    run_id = site.services.registry.get_version(MODEL, 1).run_id
    assert "model churn-classifier v1" in text(browser.get(f"/runs/{run_id}").text)  # lineage
    card = browser.get(f"/models/{MODEL}/versions/1/card")
    assert card.status_code == 200 and card.headers["content-type"].startswith("text/html")
    markdown = browser.get(f"/models/{MODEL}/versions/1/card", params={"format": "md"})
    assert markdown.headers["content-disposition"].startswith("attachment")
    assert MODEL in markdown.text


def test_deployment_page_shows_drift_over_time_histograms_and_alerts(site: Site) -> None:
    monitored_deployment(site.services)
    browser = site.browser()
    assert DEPLOYMENT in browser.get("/deployments").text
    html = browser.get(f"/deployments/{DEPLOYMENT}").text
    charts = {
        m[0]: json.loads(m[1])
        for m in re.findall(
            r'<script type="application/json" id="mon-1-([^"]+)">(.*?)</script>', html, re.S
        )
    }
    drift = charts["drift.score"]
    assert drift["time"] is True
    assert [s["label"] for s in drift["series"]] == ["plan", "tenure"]
    assert drift["series"][1]["y"][-1] == 0.4 and len(drift["series"][1]["x"]) == 12
    assert {"performance", "kpi"} <= set(charts)
    page = text(html)
    assert "drifted psi 0.4" in page and "stable chi2 0.02" in page  # histograms, drifted first
    assert html.count("<svg") == 2
    assert "too-much-drift" in page and "firing" in page
    assert "alive" in page  # the replica's heartbeat is fresh
    overview = text(browser.get("/").text)
    assert "too-much-drift · churn-drift" in overview  # the firing alert, on its use case
    assert "retained_customers (count) ↑ 111 churn-prod" in overview  # the KPI's latest value


def test_audit_log_lists_entries_and_verifies_the_chain(site: Site) -> None:
    approval_request(
        site.services, requester="dev", digest=use_case(site.services, approvers=["a"])
    )
    browser = site.browser()
    page = text(browser.get("/audit").text)
    assert "Hash chain verified" in page and "project.created" in page
    filtered = text(browser.get("/audit", params={"action": "approval.requested"}).text)
    assert "approval.requested" in filtered and "project.created" not in filtered
    assert "approval.requested" in text(browser.get(f"/projects/{PROJECT}/audit").text)


def test_other_use_cases_models_deployments_and_audit_stay_hidden(secure_site: Site) -> None:
    monitored_deployment(secure_site.services)
    outsider = secure_site.signed_in("olga", {"fraud": Role.ADMIN})
    assert MODEL not in outsider.get("/models").text
    assert DEPLOYMENT not in outsider.get("/deployments").text
    assert outsider.get(f"/models/{MODEL}").status_code == 403
    assert outsider.get(f"/deployments/{DEPLOYMENT}").status_code == 403
    assert outsider.get(f"/projects/{PROJECT}/audit").status_code == 403
    audit = text(outsider.get("/audit").text)
    assert "Pick a use case" in audit and "project.created" not in audit
