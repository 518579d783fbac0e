"""`werft users ...` and `werft tokens ...`: who may sign in, with which roles and tokens.

In local mode (no WERFT_URL) these talk to the database directly, which is
how the first admin is made on the server machine:
``werft users create anna --admin`` then ``werft tokens create anna``.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Annotated

import typer

from werft.cli import context
from werft.cli.errors import handle_errors
from werft.cli.output import JSON_HELP, print_json, table
from werft.errors import InvalidInputError
from werft.governance.roles import parse_role
from werft.governance.user_entities import User
from werft.monitoring.schedule import parse_duration
from werft.tracking._rows import utcnow

app = typer.Typer(help="Users and their roles per project.", no_args_is_help=True)
tokens_app = typer.Typer(
    help="API tokens: create (shown once), list, revoke.", no_args_is_help=True
)

DEFAULT_EXPIRY = "90d"


def _roles(user: User) -> str:
    return ", ".join(f"{project}={role.value}" for project, role in user.roles.items())


def _describe(user: User) -> str:
    flags = [
        flag for flag, on in (("global admin", user.is_admin), ("disabled", user.disabled)) if on
    ]
    extra = f" ({', '.join(flags)})" if flags else ""
    return f"{user.name}{extra}: {_roles(user) or 'no roles'}"


@app.command("create")
@handle_errors
def create(
    ctx: typer.Context,
    *,
    name: Annotated[str, typer.Argument(help="Sign-in name, e.g. anna or gitlab-ci.")],
    display_name: Annotated[str, typer.Option(help="Full name.")] = "",
    email: Annotated[str, typer.Option(help="E-mail address.")] = "",
    admin: Annotated[
        bool, typer.Option("--admin", help="Admin of every project, and of users.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Create a user (then `werft tokens create NAME` gives them a token)."""
    user = (
        context.get(ctx)
        .backend()
        .create_user(name, display_name=display_name, email=email, admin=admin)
    )
    if as_json:
        print_json(user)
        return
    print(f"created user {_describe(user)}")


@app.command("list")
@handle_errors
def list_users(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List users and their roles."""
    users = context.get(ctx).backend().list_users()
    if as_json:
        print_json(users)
        return
    rows = [
        (u.name, u.display_name, u.email, "yes" if u.is_admin else "", _roles(u), u.disabled)
        for u in users
    ]
    table("users", ["name", "display name", "e-mail", "admin", "roles", "disabled"], rows)


@app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Show a user and their roles."""
    user = context.get(ctx).backend().get_user(name)
    if as_json:
        print_json(user)
        return
    print(_describe(user))


@app.command("disable")
@handle_errors
def disable(ctx: typer.Context, name: str) -> None:
    """Disable a user: their tokens stop working at once."""
    context.get(ctx).backend().set_user_disabled(name, True)
    print(f"disabled user {name}; `werft users enable {name}` undoes it")


@app.command("enable")
@handle_errors
def enable(ctx: typer.Context, name: str) -> None:
    """Enable a disabled user again."""
    context.get(ctx).backend().set_user_disabled(name, False)
    print(f"enabled user {name}")


@app.command("grant")
@handle_errors
def grant(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The user.")],
    project: Annotated[str, typer.Argument(help="The project key.")],
    role: Annotated[str, typer.Argument(help="viewer, member, approver or admin.")],
) -> None:
    """Give a user a role in a project (replacing the one they held there)."""
    user = context.get(ctx).backend().grant_role(name, project, parse_role(role))
    print(f"granted {role} in {project}: {_describe(user)}")


@app.command("revoke")
@handle_errors
def revoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The user.")],
    project: Annotated[str, typer.Argument(help="The project key.")],
) -> None:
    """Take away a user's role in a project."""
    user = context.get(ctx).backend().revoke_role(name, project)
    print(f"revoked the role in {project}: {_describe(user)}")


def _user_or_me(ctx: typer.Context, user: str | None) -> str:
    return user or context.get(ctx).backend().whoami().name


@tokens_app.command("create")
@handle_errors
def create_token(
    ctx: typer.Context,
    *,
    user: Annotated[
        str | None, typer.Argument(help="Whose token [default: you].", show_default=False)
    ] = None,
    name: Annotated[str, typer.Option(help="What it is for: laptop, gitlab-ci.")] = "default",
    expires: Annotated[str, typer.Option(help="Lifetime: 30d, 12h, 1w ...")] = DEFAULT_EXPIRY,
    never: Annotated[bool, typer.Option("--never", help="A token that never expires.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Create an API token. Its secret is printed once, alone on stdout; copy it now."""
    lifetime = None if never else timedelta(seconds=parse_duration(expires))
    if lifetime is not None and lifetime <= timedelta(0):
        raise InvalidInputError("--expires must be positive; --never makes a token without expiry")
    created = (
        context.get(ctx)
        .backend()
        .create_token(_user_or_me(ctx, user), name=name, expires_in=lifetime)
    )
    if as_json:
        print_json(created)
        return
    token = created.token
    until = (
        f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "never expires"
    )
    print(
        f"created token {token.name!r} (id {token.id}) for {token.user}; it {until}.\n"
        "Copy it now: it is stored only as a hash and cannot be shown again.",
        file=sys.stderr,
    )
    print(created.secret)


@tokens_app.command("list")
@handle_errors
def list_tokens(
    ctx: typer.Context,
    user: Annotated[
        str | None, typer.Argument(help="Whose tokens [default: yours].", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List a user's tokens (never their secrets)."""
    tokens = context.get(ctx).backend().list_tokens(_user_or_me(ctx, user))
    if as_json:
        print_json(tokens)
        return
    now = utcnow()
    rows = [
        (
            t.id,
            t.name,
            f"wft_{t.prefix}_…",
            t.state(now),
            t.created_at,
            t.expires_at,
            t.last_used_at,
        )
        for t in tokens
    ]
    table("tokens", ["id", "name", "token", "state", "created", "expires", "last used"], rows)


@tokens_app.command("revoke")
@handle_errors
def revoke_token(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="The id `werft tokens list` shows.")],
    user: Annotated[
        str | None, typer.Option(help="Whose token [default: yours].", show_default=False)
    ] = None,
) -> None:
    """Revoke a token: it stops working at once."""
    token = context.get(ctx).backend().revoke_token(_user_or_me(ctx, user), token_id)
    print(f"revoked token {token.name!r} ({token.id}) of {token.user}")
