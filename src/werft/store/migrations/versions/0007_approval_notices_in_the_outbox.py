"""approval notices in the outbox

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 08:26:34.906594
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approval_id", sa.Integer(), nullable=True))
        batch_op.alter_column("alert_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_index(
            batch_op.f("ix_alert_notifications_approval_id"), ["approval_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_alert_notifications_approval_id_approval_requests"),
            "approval_requests",
            ["approval_id"],
            ["id"],
            ondelete="CASCADE",
        )
        # Autogenerate does not compare check constraints: added by hand.
        batch_op.create_check_constraint(
            batch_op.f("ck_alert_notifications_one_subject"),
            "(alert_id IS NULL) <> (approval_id IS NULL)",
        )


def downgrade() -> None:
    # Approval notices have no alert to belong to in the old schema.
    op.execute("DELETE FROM alert_notifications WHERE alert_id IS NULL")
    with op.batch_alter_table("alert_notifications", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_alert_notifications_one_subject"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_alert_notifications_approval_id_approval_requests"),
            type_="foreignkey",
        )
        batch_op.drop_index(batch_op.f("ix_alert_notifications_approval_id"))
        batch_op.alter_column("alert_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("approval_id")
