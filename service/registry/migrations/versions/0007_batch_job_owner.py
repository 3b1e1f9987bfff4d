"""Batch jobs listed by their owner: a platform key sees only the jobs it created.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_batch_jobs_owner_created", "batch_jobs", ["created_by", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_batch_jobs_owner_created", table_name="batch_jobs")
