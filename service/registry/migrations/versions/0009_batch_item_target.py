"""Batch items found by their target: 「证书生成中」 for one declaration while an issue job
still has it to do (GET /api/v1/certificates?declaration_id=).

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_batch_items_target", "batch_items", ["target"])


def downgrade() -> None:
    op.drop_index("ix_batch_items_target", table_name="batch_items")
