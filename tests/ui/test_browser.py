"""The UI in Chromium, driven by Playwright, against a real `werft server --auth` process.

Needs Debian's Chromium at /usr/bin/chromium (`apt-get install chromium`; CI
installs it); Playwright's own browser download is not used. Set
``UI_SCREENSHOTS=docs/img`` to refresh the screenshots in the docs.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from werft.config import load_settings
from werft.governance.actor import acting_as
from werft.governance.roles import Role
from werft.services import Services, build_services
from werft.tracking.entities import Metric, RunStatus

from .conftest import DEPLOYMENT, MODEL, PROJECT, approval_request, monitored_deployment, use_case

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # One server and one browser for the module, in file order: the approval test
    # decides a request the overview test expects to be waiting.
    pytest.mark.xdist_group("ui-browser"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]
ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
TABLET = {"width": 820, "height": 1180}


@dataclass
class World:
    url: str
    tokens: dict[str, str]
    runs: dict[str, str]
    approvals: dict[str, int]


def _seed(services: Services) -> World:
    tokens = {}
    services.users.create_user("anna", display_name="Anna Berg")
    services.users.create_user("dev", display_name="Deniz Ekin")
    digest = use_case(services, approvers=["anna", "dev"])
    services.users.grant("anna", PROJECT, Role.APPROVER)
    services.users.grant("dev", PROJECT, Role.APPROVER)
    for name in ("anna", "dev"):
        tokens[name] = services.users.create_token(name, name="laptop", expires_in=None).secret
    runs = {}
    with acting_as("dev"):
        for i, (model, depth) in enumerate(
            [("xgb", 3), ("xgb", 6), ("rf", 8), ("logreg", 1), ("xgb", 4), ("rf", 12)]
        ):
            run = services.runs.create(PROJECT, name=f"{model}-d{depth}")
            services.runs.log_params(run.id, {"model": model, "depth": depth, "lr": 0.1})
            auc = 0.78 + 0.02 * i if model != "logreg" else 0.71
            services.runs.log_metrics(
                run.id,
                [
                    *(
                        Metric(key="loss", value=0.9 / (1 + s / (10 + i)), step=s, timestamp=s)
                        for s in range(300)
                    ),
                    *(
                        Metric(key="val_auc", value=auc * (1 - 0.3 / (1 + s)), step=s, timestamp=s)
                        for s in range(30)
                    ),
                    Metric(key="auc", value=auc, step=0, timestamp=1),
                ],
            )
            services.runs.end(run.id, RunStatus.FINISHED)
            runs[run.name] = run.id
    approvals = {
        "dev": approval_request(services, requester="dev", digest=digest),
        "anna": approval_request(services, requester="anna", digest=digest),
    }
    monitored_deployment(services)
    return World(url="", tokens=tokens, runs=runs, approvals=approvals)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("werft-ui") / "home"
    services = build_services(load_settings(home=home).settings)
    world = _seed(services)
    services.close()
    port = _free_port()
    env = {**os.environ, "WERFT_HOME": str(home)}
    env.pop("WERFT_URL", None)
    log = home.parent / "server.log"
    with log.open("wb") as out:  # the server keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "werft",
                "server",
                "--auth",
                "--no-worker",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    world.url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(world.url + "/api/v1/health", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait(10)
                raise RuntimeError(f"werft server did not start:\n{log.read_text()}") from None
            time.sleep(0.1)
    try:
        yield world
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: object, world: World) -> Iterator[object]:
    contexts = []

    def make(viewport: dict[str, int] = DESKTOP, locale: str = "en-US") -> object:
        context = browser.new_context(  # type: ignore[attr-defined]
            base_url=world.url, viewport=viewport, locale=locale
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _sign_in(page: object, world: World, user: str) -> None:
    page.goto("/")  # type: ignore[attr-defined]
    page.get_by_label("User name").fill(user)  # type: ignore[attr-defined]
    page.get_by_label("API token").fill(world.tokens[user])  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_url(world.url + "/")  # type: ignore[attr-defined]


def _shoot(page: object, name: str) -> None:
    folder = os.environ.get("UI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)  # type: ignore[attr-defined]


def test_sign_in_and_see_the_overview(new_page, world: World) -> None:
    page = new_page()
    page.goto("/projects/churn/runs")
    assert "/signin?next=" in page.url
    page.get_by_label("User name").fill("anna")
    page.get_by_label("API token").fill("wft_00000000_" + "x" * 43)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("User name or token is not right")
    _sign_in(page, world, "anna")
    assert page.get_by_role("heading", name="Churn prediction").is_visible()
    assert page.get_by_text(f"#{world.approvals['dev']} {MODEL} v1").is_visible()
    _shoot(page, "overview")


def test_find_a_run_by_filter(new_page, world: World) -> None:
    page = new_page()
    _sign_in(page, world, "anna")
    page.get_by_role("link", name="Runs").first.click()
    page.get_by_label("Filter").fill("params.model = 'xgb' and metrics.auc > 0.79")
    page.get_by_label("Filter").press("Enter")
    page.wait_for_url(re.compile(r"filter=params\.model"))
    names = page.locator("#runs-table tbody td:nth-child(2) a").all_inner_texts()
    assert names == ["xgb-d4", "xgb-d6"]
    page.get_by_label("Filter").fill("metrics.auc >")
    page.get_by_label("Filter").press("Enter")
    assert "The filter is not valid" in page.get_by_role("alert").inner_text()


def test_compare_two_runs(new_page, world: World) -> None:
    page = new_page()
    _sign_in(page, world, "anna")
    page.goto(f"/projects/{PROJECT}/runs")
    _shoot(page, "runs")
    page.get_by_label("Select run xgb-d3").check()
    page.get_by_label("Select run rf-d8").check()
    page.get_by_role("button", name=re.compile("Compare")).click()
    page.wait_for_url(re.compile("/compare"))
    differing = page.locator("tr.differs th").all_inner_texts()
    assert {d.split("(")[0].strip() for d in differing} >= {"model", "depth", "auc"}
    assert page.locator("tr:not(.differs) th", has_text="lr").count() == 1
    page.locator("figure[data-chart] .uplot").nth(1).wait_for()  # loss, val_auc: histories
    assert page.locator("figure[data-chart] .uplot").count() == 2  # auc: one value, no chart
    _shoot(page, "compare")


def test_run_page_draws_its_charts(new_page, world: World) -> None:
    page = new_page()
    _sign_in(page, world, "anna")
    page.goto(f"/runs/{world.runs['xgb-d3']}")
    page.locator("figure[data-chart] .uplot").nth(1).wait_for()  # loss and val_auc
    assert page.get_by_role("heading", name="Lineage").is_visible()
    _shoot(page, "run")


def test_approve_as_a_second_user_never_ones_own(new_page, world: World) -> None:
    dev = new_page()
    _sign_in(dev, world, "dev")
    dev.goto("/approvals")
    own = dev.locator(f"#approval-{world.approvals['dev']}")
    assert own.get_by_text("someone else has to decide it").is_visible()
    assert own.get_by_role("button", name="Approve").count() == 0
    # The button is absent, and the server refuses the request all the same.
    csrf = next(c["value"] for c in dev.context.cookies() if c["name"] == "werft_csrf")
    refused = dev.request.post(
        f"/approvals/{world.approvals['dev']}/approve", form={"csrf": csrf, "comment": "mine"}
    )
    assert refused.status == 403 and "four-eyes" in refused.text()

    anna = new_page()
    _sign_in(anna, world, "anna")
    anna.goto("/approvals")
    _shoot(anna, "approvals")
    card = anna.locator(f"#approval-{world.approvals['dev']}")
    card.get_by_label("Comment").fill("Gate passed, KPIs fine.")
    card.get_by_role("button", name="Approve").click()
    notice = anna.get_by_role("status")
    assert f"Request #{world.approvals['dev']} approved" in notice.inner_text()
    assert "Gate passed, KPIs fine." in anna.locator("table").inner_text()


def test_switch_to_german_on_a_tablet(new_page, world: World) -> None:
    page = new_page(viewport=TABLET)
    _sign_in(page, world, "anna")
    page.get_by_role("button", name="DE Deutsch").click()
    assert page.get_by_role("heading", name="Übersicht").is_visible()
    assert page.locator("html").get_attribute("lang") == "de"
    page.goto(f"/projects/{PROJECT}/runs")
    assert page.get_by_role("button", name="Anwenden").is_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0  # wide tables scroll in their own box, not the page
    _shoot(page, "runs-de-tablet")


def test_the_browsers_language_is_used_until_switched(new_page, world: World) -> None:
    page = new_page(locale="de-DE")
    page.goto("/signin")
    assert page.get_by_role("heading", name="Anmelden").is_visible()


def test_keyboard_reaches_the_content_first(new_page, world: World) -> None:
    page = new_page()
    _sign_in(page, world, "anna")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.inner_text() == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_a_deployments_drift_view(new_page, world: World) -> None:
    page = new_page()
    _sign_in(page, world, "anna")
    page.get_by_role("link", name="Deployments").click()
    page.get_by_role("link", name=DEPLOYMENT).click()
    drift = page.locator("figure[data-chart]", has_text="Drift score per feature over time")
    drift.locator(".uplot").wait_for()
    assert page.locator("figure[data-chart] .uplot").count() == 3  # drift, performance, KPIs
    histogram = page.get_by_role("figure", name="tenure")
    assert histogram.locator("svg").is_visible() and "drifted" in histogram.inner_text()
    assert page.get_by_text("too-much-drift").first.is_visible()
    _shoot(page, "deployment")
    page.get_by_role("link", name="Models").click()
    page.get_by_role("link", name=MODEL).click()
    assert page.get_by_role("heading", name="Gate reports of version 2").is_visible()
    _shoot(page, "model")
