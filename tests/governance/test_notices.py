"""Approval notices render in every channel format (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from werft.governance.approval_entities import Approval, ApprovalStatus
from werft.governance.notices import approval_payload
from werft.monitoring import messages

AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
REQUEST = Approval(
    id=12,
    model="churn-classifier",
    version=8,
    project="churn",
    alias="production",
    status=ApprovalStatus.PENDING,
    requested_by="dev",
    requested_at=AT,
    reason="AUC +2pt",
    approvers=["anna", "ops-lead"],
)


def test_a_request_notice_names_the_request_and_how_to_decide() -> None:
    payload = approval_payload("requested", REQUEST, AT)
    assert payload["title"] == (
        "[APPROVAL #12] dev asks to move churn-classifier version 8 → production"
    )
    assert "anna, ops-lead" in payload["message"]
    assert payload["hint"] == "Decide with: werft approve 12 (or werft reject 12)"
    subject, body = messages.email(payload)
    assert subject == payload["title"]
    assert "Reason:" in body and "AUC +2pt" in body and "werft approve 12" in body


@pytest.mark.parametrize("fmt", ["slack", "mattermost", "teams", "generic"])
def test_every_webhook_format_renders_a_notice(fmt: str) -> None:
    decided = REQUEST.model_copy(
        update={"status": ApprovalStatus.APPROVED, "decided_by": "anna", "comment": "ok"}
    )
    body = messages.webhook_body(fmt, approval_payload("approved", decided, AT))
    text = str(body)
    assert "APPROVAL #12 APPROVED" in text and "werft approvals show 12" in text
