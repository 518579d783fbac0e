"""`werft login` and `werft whoami`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from werft.cli import context
from werft.cli.errors import handle_errors
from werft.cli.output import JSON_HELP, print_json
from werft.client.http import WerftClient
from werft.config import ENV_PREFIX, update_config_file
from werft.governance.user_entities import Identity


def _roles(identity: Identity) -> str:
    if identity.is_admin:
        return "global admin"
    found = ", ".join(f"{project}={role.value}" for project, role in identity.roles.items())
    return f"roles: {found or 'none'}"


@handle_errors
def login(
    ctx: typer.Context,
    url: Annotated[str, typer.Option("--url", help="The werft server, e.g. http://werft:8080.")],
    token: Annotated[
        str,
        typer.Option(
            "--token",
            prompt="API token",
            hide_input=True,
            help="The token (`werft tokens create`); asked for when not given, "
            "so it stays out of the shell history.",
        ),
    ],
) -> None:
    """Check a token against a server, then save both in the config file.

    The file is $WERFT_HOME/config.toml (or $WERFT_CONFIG), readable by you
    only (mode 0600); later commands and the SDK use the server and token
    from it unless WERFT_URL / WERFT_TOKEN say otherwise.
    """
    cli = context.get(ctx)
    url = url.rstrip("/")
    client = WerftClient(url, token=token.strip(), timeout=cli.loaded.settings.http_timeout)
    try:
        identity = client.whoami()
    finally:
        client.close()
    if not identity.authenticated:
        print(
            f"warning: {url} does not require tokens (auth is off there); saving anyway",
            file=sys.stderr,
        )
    path = cli.loaded.config_file
    update_config_file(path, url=url, token=token.strip())
    print(f"logged in to {url} as {identity.name} ({_roles(identity)})")
    print(f"saved the server and token to {path} (readable by you only)")
    for name in ("url", "token"):
        if cli.loaded.sources.get(name, "").startswith("environment"):
            print(
                f"note: {ENV_PREFIX}{name.upper()} is set and wins over the config file",
                file=sys.stderr,
            )


@handle_errors
def whoami(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Who werft takes you for, and your roles."""
    cli = context.get(ctx)
    identity = cli.backend().whoami()
    if as_json:
        print_json(identity)
        return
    settings = cli.loaded.settings
    if settings.url:
        how = f"signed in at {settings.url}" if identity.authenticated else f"at {settings.url}"
        how += "" if identity.authenticated else " (no auth there: the name is not checked)"
    else:
        how = "local mode: the database directly, no token"
    print(f"{identity.name} ({_roles(identity)}); {how}")
