"""`werft promote`, `werft approve`, `werft reject`, `werft approvals ...`, `werft rollback`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from werft.cli import context
from werft.cli.errors import handle_errors
from werft.cli.output import JSON_HELP, print_json, table
from werft.governance.approval_entities import Approval

app = typer.Typer(
    help="Approval requests: list, show, cancel (decide with werft approve / reject).",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


def _approvers(approval: Approval) -> str:
    return ", ".join(approval.approvers) or "anyone but the requester"


@handle_errors
def promote(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Registered model.")],
    version: Annotated[int, typer.Argument(help="Version to promote.")],
    *,
    to: Annotated[str, typer.Option("--to", help="Alias to move, e.g. production.")],
    reason: Annotated[str, typer.Option(help="Why this version should go there.")] = "",
    override_reason: Annotated[
        str | None,
        typer.Option(help="Admins: promote despite a failed or missing gate, saying why."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Move ALIAS to VERSION as the use case's policy says: now, or via an approval request."""
    result = (
        context.get(ctx)
        .backend()
        .promote(name, version, to, reason=reason, override_reason=override_reason)
    )
    if as_json:
        print_json(result)
        return
    if result.overridden:
        print(f"gate overridden for {name} version {version} (audited)", file=sys.stderr)
    for failed in (n for n in result.notifications if not n.ok):
        print(f"warning: notifying {failed.target} failed: {failed.error}", file=sys.stderr)
    queued = [n.target for n in result.notifications if n.status == "queued"]
    if queued:
        print(
            f"notice queued for {', '.join(queued)}; `werft alerts notifications` shows "
            "its delivery",
            file=sys.stderr,
        )
    approval = result.approval
    if result.moved:
        was = f" (was version {result.previous_version})" if result.previous_version else ""
        print(f"moved {name}@{to} -> version {version}{was}")
    elif approval is not None and result.already_pending:
        print(
            f"approval request #{approval.id} is already pending; approvers: {_approvers(approval)}"
        )
    elif approval is not None:
        print(f"approval request #{approval.id} created; approvers: {_approvers(approval)}")
    else:
        print(f"{name}@{to} already points at version {version}")


@handle_errors
def approve(
    ctx: typer.Context,
    approval_id: Annotated[int, typer.Argument(metavar="ID", help="Approval request number.")],
    comment: Annotated[str, typer.Option(help="What you checked.")] = "",
) -> None:
    """Approve request ID (not your own): the alias moves at once."""
    approval = context.get(ctx).backend().approve(approval_id, comment=comment)
    print(
        f"approved request #{approval.id}: {approval.model}@{approval.alias} -> "
        f"version {approval.version}"
    )


@handle_errors
def reject(
    ctx: typer.Context,
    approval_id: Annotated[int, typer.Argument(metavar="ID", help="Approval request number.")],
    comment: Annotated[str, typer.Option(help="Why (required).")],
) -> None:
    """Reject request ID, saying why."""
    approval = context.get(ctx).backend().reject(approval_id, comment=comment)
    print(f"rejected request #{approval.id}: {approval.model} version {approval.version}")


@handle_errors
def rollback(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Registered model.")],
    alias: Annotated[str, typer.Option("--alias", help="Alias to return, e.g. production.")],
) -> None:
    """Return ALIAS of NAME to the version it pointed at before."""
    version = context.get(ctx).backend().rollback(name, alias)
    print(f"rolled back {name}@{alias} -> version {version.version}")


@app.command("list")
@handle_errors
def list_approvals(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="pending, approved, rejected or cancelled.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Only this model's requests.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Approval requests, newest first."""
    approvals = context.get(ctx).backend().list_approvals(status=status, model=model)
    if as_json:
        print_json(approvals)
        return
    table(
        "approval requests",
        ["#", "model", "version", "alias", "status", "requested by", "requested", "decided by"],
        [
            (
                a.id,
                a.model,
                a.version,
                a.alias,
                a.status.value,
                a.requested_by,
                a.requested_at,
                a.decided_by,
            )
            for a in approvals
        ],
    )


@app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    approval_id: Annotated[int, typer.Argument(metavar="ID", help="Approval request number.")],
    as_json: JsonOpt = False,
) -> None:
    """One approval request."""
    a = context.get(ctx).backend().get_approval(approval_id)
    if as_json:
        print_json(a)
        return
    table(
        f"approval request #{a.id}",
        ["", ""],
        [
            ("model", f"{a.model} version {a.version}"),
            ("alias", a.alias),
            ("project", a.project),
            ("status", a.status.value),
            ("requested by", a.requested_by),
            ("requested", a.requested_at),
            ("reason", a.reason),
            ("gate report", a.gate_report_id),
            ("gate overridden", a.override_reason or None),
            ("approvers", _approvers(a)),
            ("decided by", a.decided_by),
            ("decided", a.decided_at),
            ("comment", a.comment),
        ],
    )


@app.command("cancel")
@handle_errors
def cancel(
    ctx: typer.Context,
    approval_id: Annotated[int, typer.Argument(metavar="ID", help="Approval request number.")],
    comment: Annotated[str, typer.Option(help="Why it is withdrawn.")] = "",
) -> None:
    """Withdraw your own pending request ID."""
    approval = context.get(ctx).backend().cancel_approval(approval_id, comment=comment)
    print(f"cancelled request #{approval.id}")
