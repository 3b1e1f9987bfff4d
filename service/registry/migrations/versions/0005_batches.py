"""Batch jobs and their items, staff sessions, files in the database, sealable copies.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("certificates", sa.Column("sealable_pdf_sha256", sa.String(64)))
    op.add_column("certificates", sa.Column("archive_until", sa.DateTime(timezone=True)))
    op.create_table(
        "batch_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("state", sa.String(10), nullable=False, index=True),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("job_key", sa.String(200), unique=True),
        sa.Column("created_by", sa.String(40), nullable=False),
        sa.Column("engine", sa.String(10), nullable=False),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("kind IN ('seal', 'issue', 'renew')", name="ck_batch_jobs_kind"),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed', 'cancelled')", name="ck_batch_jobs_state"),
    )
    op.create_table(
        "batch_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job_id", sa.String(32), sa.ForeignKey("batch_jobs.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("payload", sa.JSON),
        sa.Column("state", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("outcome", sa.String(20)),
        sa.Column("reason", sa.Text),
        sa.Column("number", sa.String(40)),
        sa.Column("version", sa.Integer),
        sa.Column("pdf_sha256", sa.String(64)),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("enqueued_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("job_id", "seq", name="uq_batch_items_job_seq"),
        sa.CheckConstraint("state IN ('pending', 'done', 'failed', 'cancelled')", name="ck_batch_items_state"),
    )
    op.create_index("ix_batch_items_job_state", "batch_items", ["job_id", "state"])
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "stored_files",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("stored_files")
    op.drop_table("staff_sessions")
    op.drop_index("ix_batch_items_job_state", "batch_items")
    op.drop_table("batch_items")
    op.drop_table("batch_jobs")
    op.drop_column("certificates", "archive_until")
    op.drop_column("certificates", "sealable_pdf_sha256")
