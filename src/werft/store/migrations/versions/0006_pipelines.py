"""pipelines

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 07:25:41.385257
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipelines",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("code_digest", sa.String(length=80), nullable=False),
        sa.Column("code_commit", sa.String(length=64), nullable=False),
        sa.Column("code_dirty", sa.Boolean(), nullable=False),
        sa.Column("trigger_state", sa.JSON(), nullable=False),
        sa.Column("state_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_pipelines_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_pipelines")),
    )
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("trigger_detail", sa.String(length=300), nullable=False),
        sa.Column("cause", sa.JSON(), nullable=False),
        sa.Column("active_cause", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("code_digest", sa.String(length=80), nullable=False),
        sa.Column("code_commit", sa.String(length=64), nullable=False),
        sa.Column("code_dirty", sa.Boolean(), nullable=False),
        sa.Column("executor", sa.String(length=300), nullable=False),
        sa.Column("job_id", sa.String(length=200), nullable=False),
        sa.Column("training_run_id", sa.String(length=32), nullable=True),
        sa.Column("model_version_id", sa.String(length=32), nullable=True),
        sa.Column("gate_report_id", sa.Integer(), nullable=True),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.Column("alias", sa.String(length=100), nullable=False),
        sa.Column("alias_moved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("logs", sa.Text(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["approval_requests.id"],
            name=op.f("fk_pipeline_runs_approval_id_approval_requests"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["gate_report_id"],
            ["gate_reports.id"],
            name=op.f("fk_pipeline_runs_gate_report_id_gate_reports"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_pipeline_runs_model_version_id_model_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_pipeline_runs_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["training_run_id"],
            ["runs.id"],
            name=op.f("fk_pipeline_runs_training_run_id_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
        sa.UniqueConstraint(
            "project_id", "active_cause", name=op.f("uq_pipeline_runs_project_id_active_cause")
        ),
    )
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pipeline_runs_project_created", ["project_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_pipeline_runs_status", ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_pipeline_runs_training_run_id"), ["training_run_id"], unique=False
        )

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipeline_runs_training_run_id"))
        batch_op.drop_index("ix_pipeline_runs_status")
        batch_op.drop_index("ix_pipeline_runs_project_created")

    op.drop_table("pipeline_runs")
    op.drop_table("pipelines")
    # ### end Alembic commands ###
