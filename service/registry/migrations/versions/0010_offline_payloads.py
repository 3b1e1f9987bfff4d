"""Offline verification (issue 23): each version's signed QR payload and its key id; the
keys that signed payloads, published at /.well-known/zc/keys.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("certificates", sa.Column("offline_payload", sa.Text()))
    op.add_column("certificates", sa.Column("offline_kid", sa.String(16)))
    op.create_table(
        "published_keys",
        sa.Column("kid", sa.String(16), primary_key=True),
        sa.Column("org_code", sa.String(64), nullable=False, index=True),
        sa.Column("org_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("jwk", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invalidated_after", sa.Date()),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("published_keys")
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("offline_kid")
        batch.drop_column("offline_payload")
