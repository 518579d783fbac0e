"""The pipelines page: every link of a retraining, the synced pipeline, and who may see it."""

from __future__ import annotations

from werft.governance.roles import Role
from werft.pipelines.entities import CodeVersion, NewPipelineRun, PipelineRunUpdate, PipelineStatus
from werft.services import Services

from .conftest import PROJECT, Site, text

CODE = CodeVersion(digest="sha256:" + "ab" * 32, commit="0123456789abcdef")
SPEC = {
    "entrypoint": "train.py:main",
    "params": {"C": 0.5},
    "triggers": [{"alert": "churn-drift"}],
    "on_success": {"promote_to": "production"},
}


def _pipeline_run(services: Services) -> int:
    if services.projects.find(PROJECT) is None:
        services.projects.create(PROJECT)
    services.pipelines.sync(PROJECT, SPEC, CODE)
    run = services.pipelines.create_run(PROJECT, NewPipelineRun(spec=SPEC, code=CODE))
    training = services.runs.create(PROJECT, name=f"pipeline-{run.id}")
    services.pipelines.update(
        run.id,
        PipelineRunUpdate(
            training_run_id=training.id,
            exit_code=1,
            logs="training on customers@1: 600 rows\nTraceback ...\n",
            error="ValueError: the training was told to fail",
            status=PipelineStatus.FAILED,
        ),
    )
    return run.id


def test_pipeline_runs_show_every_link_and_the_output(site: Site) -> None:
    run_id = _pipeline_run(site.services)
    browser = site.browser()
    listing = text(browser.get("/pipelines").text)
    assert f"#{run_id}" in listing and "failed" in listing and PROJECT in listing
    page = text(browser.get(f"/projects/{PROJECT}/pipelines").text)
    assert "train.py:main" in page and "alert:churn-drift" in page and "git 0123456789ab" in page
    detail = browser.get(f"/pipeline-runs/{run_id}")
    assert detail.status_code == 200
    shown = text(detail.text)
    assert "ValueError: the training was told to fail" in shown
    assert "training on customers@1: 600 rows" in shown and "C=0.5" in shown
    german = text(browser.get(f"/pipeline-runs/{run_id}", headers={"accept-language": "de"}).text)
    assert "fehlgeschlagen" in german and "Ausgabe" in german
    assert browser.get("/pipeline-runs/999").status_code == 404


def test_a_pipeline_run_is_visible_only_with_a_role_in_its_use_case(secure_site: Site) -> None:
    run_id = _pipeline_run(secure_site.services)
    secure_site.services.projects.create("other")
    outsider = secure_site.signed_in("olga", {"other": Role.VIEWER})
    assert outsider.get(f"/pipeline-runs/{run_id}").status_code == 403
    assert f"#{run_id}" not in text(outsider.get("/pipelines").text)
    viewer = secure_site.signed_in("vera", {PROJECT: Role.VIEWER})
    assert viewer.get(f"/pipeline-runs/{run_id}").status_code == 200
    assert f"#{run_id}" in text(viewer.get("/pipelines").text)
