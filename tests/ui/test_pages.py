"""The pages with authentication off: what they show, filter, sort, compare and serve."""

from __future__ import annotations

import json
import re

from werft.governance.actor import current_actor
from werft.server.deps import declared_rule
from werft.tracking.entities import Metric
from werft.ui.pages import PAGE_GROUPS
from werft.ui.paths import is_ui_path, safe_next

from .conftest import PROJECT, Site, approval_request, make_runs, text, use_case


def _rows(html: str) -> list[str]:
    """The run names in the runs table, in order."""
    return re.findall(r'<a href="/runs/\w+" hx-boost="false">([^<]+)</a>', html)


def test_every_ui_route_declares_a_permission() -> None:
    routes = [route for group in PAGE_GROUPS for route in group.router.routes]
    assert len(routes) >= 9
    assert all(is_ui_path(route.path) for route in routes)
    assert [route.path for route in routes if declared_rule(route) is None] == []


def test_the_api_and_metrics_still_answer_beside_the_ui(site: Site) -> None:
    browser = site.browser()
    assert browser.get("/api/v1/health").json()["status"] == "ok"
    assert browser.get("/api/v1/nope").headers["content-type"] == "application/problem+json"
    assert browser.get("/api/v1/docs").status_code == 200
    assert browser.get("/metrics").status_code == 200
    missing = browser.get("/no/such/page")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]


def test_static_files_are_served_from_the_package(site: Site) -> None:
    browser = site.browser()
    for path in (
        "werft.css",
        "werft.js",
        "vendor/htmx/htmx.min.js",
        "vendor/uplot/uPlot.iife.min.js",
    ):
        assert browser.get(f"/static/{path}").status_code == 200, path


def test_overview_shows_the_use_case_goal_kpis_and_waiting_requests(site: Site) -> None:
    digest = use_case(site.services, approvers=[current_actor()])  # auth off: the server's user
    approval = approval_request(site.services, requester="dev", digest=digest)
    page = text(site.browser().get("/").text)
    assert "Churn prediction" in page and "Keep contract customers from cancelling" in page
    assert "retained_customers (count) ↑" in page
    assert f"#{approval} churn-classifier v1 → production" in page
    assert "sales-analytics" in page


def test_runs_table_has_params_and_metrics_as_columns(site: Site) -> None:
    make_runs(site.services, 3)
    html = site.browser().get(f"/projects/{PROJECT}/runs").text
    assert _rows(html) == ["run-002", "run-001", "run-000"]  # newest first
    for column in ("depth", "model", "auc", "loss"):
        assert re.search(rf'<span class="group">[^<]+</span>{column}', html), column


def test_runs_filter_uses_the_search_syntax(site: Site) -> None:
    make_runs(site.services, 10)
    browser = site.browser()
    html = browser.get(
        f"/projects/{PROJECT}/runs",
        params={"filter": "params.model = 'xgb' and metrics.auc > 0.704"},
    ).text
    assert _rows(html) == ["run-009", "run-007", "run-005"]
    bad = browser.get(f"/projects/{PROJECT}/runs", params={"filter": "metrics.auc >"})
    assert bad.status_code == 200
    assert "The filter is not valid" in bad.text and _rows(bad.text) == []


def test_runs_sort_by_a_metric_and_page(site: Site) -> None:
    make_runs(site.services, 60)
    browser = site.browser()
    first = browser.get(f"/projects/{PROJECT}/runs", params={"order": "metrics.auc ASC"}).text
    assert _rows(first)[:2] == ["run-000", "run-001"] and len(_rows(first)) == 50
    assert 'aria-sort="ascending"' in first and "?order=metrics.auc+DESC" in first
    second = browser.get(
        f"/projects/{PROJECT}/runs", params={"order": "metrics.auc ASC", "page": 2}
    ).text
    assert _rows(second) == [f"run-{i:03d}" for i in range(50, 60)]
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_compare_shows_params_side_by_side_and_marks_differences(site: Site) -> None:
    a, b = make_runs(site.services, 2)
    browser = site.browser()
    html = browser.get(f"/projects/{PROJECT}/compare", params=[("run", a), ("run", b)]).text
    differing = re.findall(r'<tr class="differs"><th scope="row">([^<]+)<', html)
    assert set(differing) == {"depth", "model", "auc", "loss"}
    assert f"/projects/{PROJECT}/compare/chart?metric=loss&amp;run={a}&amp;run={b}" in html
    chart = browser.get(
        f"/projects/{PROJECT}/compare/chart", params=[("metric", "loss"), ("run", a), ("run", b)]
    ).text
    spec = json.loads(
        re.search(r'<script type="application/json"[^>]*>(.*?)</script>', chart, re.S)[1]
    )
    assert [s["label"] for s in spec["series"]] == ["run-000", "run-001"]
    single = browser.get(
        f"/projects/{PROJECT}/compare/chart", params=[("metric", "auc"), ("run", a), ("run", b)]
    )
    assert single.text == ""  # one value per run: the table shows it


def test_compare_refuses_runs_of_another_use_case(site: Site) -> None:
    (ours,) = make_runs(site.services, 1)
    (theirs,) = make_runs(site.services, 1, project="fraud")
    browser = site.browser()
    for path in (f"/projects/{PROJECT}/compare", f"/projects/{PROJECT}/compare/chart"):
        response = browser.get(path, params=[("metric", "loss"), ("run", ours), ("run", theirs)])
        assert response.status_code == 404, path


def test_run_page_lists_artifacts_and_serves_them_safely(site: Site, tmp_path) -> None:
    (run_id,) = make_runs(site.services, 1, finished=False)
    for name, content in (("notes.txt", b"hello"), ("page.html", b"<script>alert(1)</script>")):
        path = tmp_path / name
        path.write_bytes(content)
        site.services.artifacts.log_file(run_id, path, f"reports/{name}")
    browser = site.browser()
    page = browser.get(f"/runs/{run_id}").text
    assert "reports/notes.txt" in page and "reports/page.html" in page
    shown = browser.get(f"/runs/{run_id}/artifacts/reports/notes.txt")
    assert shown.text == "hello" and shown.headers["content-type"].startswith("text/plain")
    html = browser.get(f"/runs/{run_id}/artifacts/reports/page.html")  # its source, as text
    assert html.headers["content-type"].startswith("text/plain")
    assert html.headers["x-content-type-options"] == "nosniff"
    assert html.headers["content-security-policy"].startswith("sandbox")
    download = browser.get(f"/runs/{run_id}/artifacts/reports/notes.txt", params={"download": True})
    assert download.headers["content-disposition"] == 'attachment; filename="notes.txt"'


def test_a_long_metric_history_is_sent_downsampled(site: Site) -> None:
    (run_id,) = make_runs(site.services, 1, finished=False)
    points = [Metric(key="curve", value=float(i % 97), step=i, timestamp=i) for i in range(6000)]
    points[4321] = Metric(key="curve", value=1000.0, step=4321, timestamp=4321)
    site.services.runs.log_metrics(run_id, points)
    html = site.browser().get(f"/runs/{run_id}/chart", params={"key": "curve"}).text
    spec = json.loads(
        re.search(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S)[1]
    )
    (series,) = spec["series"]
    assert len(series["x"]) == 2000 and series["total"] == 6000
    assert max(series["y"]) == 1000.0 and 4321 in series["x"]
    single = site.browser().get(f"/runs/{run_id}/chart", params={"key": "auc"})
    assert single.status_code == 200 and single.text == ""  # one value: the table shows it


def test_unknown_run_is_a_404_page(site: Site) -> None:
    response = site.browser().get("/runs/does-not-exist")
    assert response.status_code == 404 and "text/html" in response.headers["content-type"]


def test_next_targets_stay_on_this_site() -> None:
    assert safe_next("/runs/1?x=2") == "/runs/1?x=2"
    for bad in ("https://evil.example", "//evil.example", "/\\evil.example", "", None):
        assert safe_next(bad) == "/"
