"""Batch kinds are records of the application (service.batches.catalog), not a list in
the schema: the check on ``batch_jobs.kind`` goes, and the column takes longer names.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite cannot drop a constraint in place: batch mode copies the table without it.
    with op.batch_alter_table("batch_jobs", recreate="auto") as batch:
        batch.drop_constraint("ck_batch_jobs_kind", type_="check")
        batch.alter_column("kind", existing_type=sa.String(10), type_=sa.String(40), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("batch_jobs", recreate="auto") as batch:
        batch.alter_column("kind", existing_type=sa.String(40), type_=sa.String(10), existing_nullable=False)
        batch.create_check_constraint("ck_batch_jobs_kind", "kind IN ('seal', 'issue', 'renew')")
