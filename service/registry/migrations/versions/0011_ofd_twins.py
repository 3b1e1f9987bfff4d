"""The OFD twin (issue 24): each sealed version's OFD package with its GB/T 38540 seals,
kept in the file store beside the PDF, named by its SHA-256 in the same row.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("certificates", sa.Column("ofd_sha256", sa.String(64)))
    op.add_column("certificates", sa.Column("ofd_size", sa.Integer()))
    op.create_index("ix_certificates_ofd_sha256", "certificates", ["ofd_sha256"])


def downgrade() -> None:
    op.drop_index("ix_certificates_ofd_sha256", "certificates")
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("ofd_size")
        batch.drop_column("ofd_sha256")
