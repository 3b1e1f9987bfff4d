"""Who issued a certificate and from which request; claims on declarations being issued.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("certificates", sa.Column("issued_by", sa.String(16)))
    op.add_column("certificates", sa.Column("request_sha256", sa.String(64)))
    op.create_table(
        "issue_claims",
        sa.Column("declaration_id", sa.String(100), primary_key=True),
        sa.Column("issued_by", sa.String(16), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("issue_claims")
    op.drop_column("certificates", "request_sha256")
    op.drop_column("certificates", "issued_by")
