"""Sign-in with auth on: the session cookie, CSRF, and pages only for those allowed."""

from __future__ import annotations

from werft.governance.roles import Role

from .conftest import PROJECT, Site, make_runs, text


def test_pages_send_a_signed_out_browser_to_sign_in(secure_site: Site) -> None:
    browser = secure_site.browser()
    response = browser.get("/projects/churn/runs?filter=x")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fprojects%2Fchurn%2Fruns%3Ffilter%3Dx"
    assert browser.get("/signin").status_code == 200
    assert browser.get("/static/werft.css").status_code == 200


def test_sign_in_sets_a_strict_http_only_session_cookie(secure_site: Site) -> None:
    token = secure_site.user("anna", {PROJECT: Role.VIEWER})
    browser = secure_site.browser()
    response = browser.post("/signin", {"user": "anna", "token": token, "next": "/approvals"})
    assert response.status_code == 303 and response.headers["location"] == "/approvals"
    cookie = next(h for h in response.headers.get_list("set-cookie") if "werft_session" in h)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and token not in cookie
    page = browser.get("/")
    assert page.status_code == 200 and 'data-user="anna"' in page.text
    sessions = [
        t for t in secure_site.services.users.list_tokens("anna") if t.name == "web session"
    ]
    assert len(sessions) == 1 and sessions[0].expires_at is not None


def test_a_wrong_token_or_name_is_refused_without_saying_which(secure_site: Site) -> None:
    token = secure_site.user("anna", {PROJECT: Role.VIEWER})
    secure_site.user("ben", {PROJECT: Role.VIEWER})
    browser = secure_site.browser()
    for user, secret in (("anna", token + "x"), ("ben", token), ("nobody", token)):
        response = browser.post("/signin", {"user": user, "token": secret})
        assert response.status_code == 401
        assert "User name or token is not right" in response.text
        assert "werft_session" not in browser.client.cookies


def test_a_form_without_the_csrf_token_is_refused(secure_site: Site) -> None:
    token = secure_site.user("anna", {PROJECT: Role.VIEWER})
    browser = secure_site.browser()
    browser.csrf()
    refused = browser.post("/signin", {"user": "anna", "token": token}, csrf=False)
    assert refused.status_code == 403
    forged = browser.client.post("/signin", data={"user": "anna", "token": token, "csrf": "x"})
    assert forged.status_code == 403


def test_sign_out_revokes_the_session(secure_site: Site) -> None:
    browser = secure_site.signed_in("anna", {PROJECT: Role.VIEWER})
    stolen = browser.client.cookies["werft_session"]
    assert browser.post("/signout").headers["location"] == "/signin"
    thief = secure_site.browser()
    thief.client.cookies.set("werft_session", stolen)
    assert thief.get("/").status_code == 303


def test_the_api_does_not_accept_the_session_cookie(secure_site: Site) -> None:
    browser = secure_site.signed_in("anna", {PROJECT: Role.VIEWER})
    assert browser.get("/api/v1/projects").status_code == 401


def test_a_use_case_without_a_role_is_neither_listed_nor_reachable(secure_site: Site) -> None:
    (run_id,) = make_runs(secure_site.services, 1, project="fraud")
    make_runs(secure_site.services, 1, project=PROJECT)
    browser = secure_site.signed_in("anna", {PROJECT: Role.VIEWER})
    overview = text(browser.get("/").text)
    assert "churn" in overview and "fraud" not in overview
    assert browser.get("/projects/fraud/runs").status_code == 403
    assert browser.get(f"/runs/{run_id}").status_code == 403
    assert browser.get(f"/runs/{run_id}/chart?key=auc").status_code == 403


def test_the_language_follows_the_browser_and_the_switch(secure_site: Site) -> None:
    browser = secure_site.browser(**{"accept-language": "de-DE,de;q=0.9"})
    assert "Benutzername" in browser.get("/signin").text
    browser.post("/language", {"lang": "en", "next": "/signin"})
    assert "User name" in browser.get("/signin").text
    assert (
        browser.post("/language", {"lang": "de", "next": "https://evil.example"}).headers[
            "location"
        ]
        == "/"
    )
    page = browser.get("/signin").text
    assert '<html lang="de">' in page and "Anmelden" in page
