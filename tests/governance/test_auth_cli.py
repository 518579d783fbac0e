"""The CLI side of auth: bootstrap in local mode, `werft login`, `werft whoami`, `werft server`."""

from __future__ import annotations

import json
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from werft.cli.main import app
from werft.governance.actor import set_actor
from werft.governance.roles import Role
from werft.services import Services

runner = CliRunner()


def _invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _forget_the_actor() -> Iterator[None]:
    """WERFT_USER makes the CLI set the actor of this context; later tests must not see it."""
    yield
    set_actor(None)


def test_the_first_admin_is_made_in_local_mode() -> None:
    assert _invoke("projects", "create", "churn")[0] == 0
    code, out, _ = _invoke("users", "create", "anna", "--admin", "--email", "anna@example.com")
    assert code == 0 and "anna (global admin)" in out
    code, secret, err = _invoke("tokens", "create", "anna", "--name", "laptop")
    assert code == 0 and secret.strip().startswith("wft_") and secret.count("\n") == 1
    assert "cannot be shown again" in err and "expires 20" in err
    assert _invoke("users", "create", "bob")[0] == 0
    code, out, _ = _invoke("users", "grant", "bob", "churn", "approver")
    assert code == 0 and "bob: churn=approver" in out
    code, _, err = _invoke("users", "grant", "bob", "churn", "owner")
    assert code == 5 and "role 'owner' is unknown" in err

    code, out, _ = _invoke("users", "list", "--json")
    assert code == 0
    assert {u["name"]: u["roles"] for u in json.loads(out)} == {
        "anna": {},
        "bob": {"churn": "approver"},
    }
    code, out, _ = _invoke("tokens", "list", "anna", "--json")
    assert code == 0 and secret.strip() not in out
    token_id = json.loads(out)[0]["id"]
    code, out, _ = _invoke("tokens", "revoke", token_id, "--user", "anna")
    assert code == 0 and "revoked token 'laptop'" in out
    code, out, _ = _invoke("tokens", "list", "anna")
    assert code == 0 and "revoked" in out

    code, out, _ = _invoke("tokens", "create", "bob", "--never", "--json")
    assert code == 0 and json.loads(out)["token"]["expires_at"] is None
    assert _invoke("users", "disable", "bob")[0] == 0
    code, out, _ = _invoke("users", "show", "bob")
    assert code == 0 and "disabled" in out
    code, out, _ = _invoke("whoami", env={"WERFT_USER": "anna"})
    assert code == 0 and out.startswith("anna (global admin); local mode")


@pytest.fixture
def server_with_auth(services: Services, live_server: Any) -> Iterator[tuple[str, str]]:
    """The live server with auth on, and a token of anna, a member of churn."""
    services.projects.create("churn")
    services.users.create_user("anna")
    services.users.grant("anna", "churn", Role.MEMBER)
    secret = services.users.create_token("anna", name="cli", expires_in=None).secret
    live_server.app.state.services = services
    live_server.app.state.auth = True
    try:
        yield live_server.url, secret
    finally:
        live_server.app.state.auth = False


def test_login_saves_the_server_and_token_for_later_commands(
    server_with_auth: tuple[str, str], tmp_path: Path
) -> None:
    url, secret = server_with_auth
    config = tmp_path / "home" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[werft]\nmetric_flush_size = 123\n")

    code, _, err = _invoke("login", "--url", url, "--token", secret[:-2] + "xx")
    assert code == 6 and "token is not valid" in err
    assert "token" not in config.read_text()

    code, out, _ = _invoke("login", "--url", url + "/", "--token", secret)
    assert code == 0
    assert f"logged in to {url} as anna (roles: churn=member)" in out
    assert str(config) in out
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    saved = tomllib.loads(config.read_text())["werft"]
    assert saved == {"url": url, "token": secret, "metric_flush_size": 123}

    code, out, _ = _invoke("whoami")
    assert code == 0 and out.startswith(f"anna (roles: churn=member); signed in at {url}")
    code, out, _ = _invoke("projects", "list", "--json")
    assert code == 0 and [p["key"] for p in json.loads(out)] == ["churn"]
    code, _, err = _invoke("users", "list")
    assert code == 6 and "this needs a global admin" in err
    code, _, err = _invoke("projects", "list", env={"WERFT_TOKEN": ""})
    assert code == 0  # an empty variable does not override the file


def test_server_refuses_a_public_address_without_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[dict[str, Any]] = []

    def fake_run(app: Any, **kwargs: Any) -> None:
        started.append({"auth": app.state.auth, **kwargs})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    code, _, err = _invoke("server", "--host", "0.0.0.0")
    assert code == 5 and "without authentication" in err and "--insecure" in err
    assert started == []

    code, _, err = _invoke("server", "--host", "0.0.0.0", "--no-worker", "--auth")
    assert code == 0 and "auth on" in err and "WARNING" not in err
    code, _, err = _invoke("server", "--host", "0.0.0.0", "--no-worker", env={"WERFT_AUTH": "1"})
    assert code == 0 and "auth on" in err
    code, _, err = _invoke("server", "--host", "0.0.0.0", "--no-worker", "--insecure")
    assert code == 0 and "WARNING: serving WITHOUT AUTHENTICATION" in err
    assert [(s["host"], s["auth"]) for s in started] == [
        ("0.0.0.0", True),
        ("0.0.0.0", True),
        ("0.0.0.0", False),
    ]
