"""Certificates, their audit log and the number sequences.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_POSTGRES_GUARD = """
CREATE OR REPLACE FUNCTION certificate_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'certificate_events is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER certificate_events_no_update BEFORE UPDATE OR DELETE ON certificate_events
    FOR EACH ROW EXECUTE FUNCTION certificate_events_append_only();
"""

_SQLITE_GUARDS = [
    """CREATE TRIGGER certificate_events_no_update BEFORE UPDATE ON certificate_events
       BEGIN SELECT RAISE(ABORT, 'certificate_events is append-only'); END""",
    """CREATE TRIGGER certificate_events_no_delete BEFORE DELETE ON certificate_events
       BEGIN SELECT RAISE(ABORT, 'certificate_events is append-only'); END""",
]


def upgrade() -> None:
    op.create_table(
        "number_sequences",
        sa.Column("committee_code", sa.String(64), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last_value", sa.Integer, nullable=False),
    )
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(40), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("identifier", sa.String(160), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("token", sa.String(40), nullable=False, unique=True),
        sa.Column("declaration_id", sa.String(100), nullable=False),
        sa.Column("idempotency_key", sa.String(200), unique=True),
        sa.Column("holder_name", sa.String(100), nullable=False),
        sa.Column("holder_id_number", sa.String(100), nullable=False, index=True),
        sa.Column("committee_code", sa.String(64), nullable=False),
        sa.Column("issuer_code", sa.String(64), nullable=False),
        sa.Column("issue_date", sa.Date, nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("photo_sha256", sa.String(64)),
        sa.Column("pdf_sha256", sa.String(64), nullable=False, index=True),
        sa.Column("pdf_size", sa.Integer, nullable=False),
        sa.Column("seal_level", sa.String(8)),
        sa.Column("sealed_at", sa.DateTime(timezone=True)),
        sa.Column("seal_summary", sa.JSON),
        sa.Column("seal_checked_at", sa.DateTime(timezone=True)),
        sa.Column("public_pdf_sha256", sa.String(64)),
        sa.Column("superseded_by_id", sa.Integer, sa.ForeignKey("certificates.id")),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_reason", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("number", "version", name="uq_certificates_number_version"),
        sa.UniqueConstraint("declaration_id", "version", name="uq_certificates_declaration_version"),
        sa.CheckConstraint(
            "status IN ('pending_seal', 'valid', 'superseded', 'revoked')", name="ck_certificates_status"
        ),
    )
    op.create_table(
        "certificate_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("certificate_id", sa.Integer, sa.ForeignKey("certificates.id"), nullable=False, index=True),
        sa.Column("number", sa.String(40), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("details", sa.JSON),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    # The audit log cannot be edited, not even by a bug in this service.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_GUARD)
    elif op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_GUARDS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS certificate_events_no_update ON certificate_events")
        op.execute("DROP FUNCTION IF EXISTS certificate_events_append_only()")
    op.drop_table("certificate_events")
    op.drop_table("certificates")
    op.drop_table("number_sequences")
