"""Tables of the registry. Changes go through an Alembic migration."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The public part of the key, to find the row; the secret is only hashed.
    key_id: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Organisation(Base):
    """A sealing organisation: a 评委会 (``committee``) or a 发证机关 (``issuer``)."""

    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint("role IN ('committee', 'issuer')", name="ck_organisations_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    # Where the seal key lives: {"kind": "dev"|"pem"|"pkcs12"|"pkcs11", paths, labels,
    # "secret_env": NAME}. Only the *name* of the variable holding a passphrase or PIN is
    # stored, never the secret. NULL: no key yet (certificates wait in pending_seal).
    key_source: Mapped[dict | None] = mapped_column(JSON)
    # A supplied seal PNG, relative to the data dir (checked, normalised); NULL: the seal
    # is drawn from the name and seal_bottom_text.
    seal_image_path: Mapped[str | None] = mapped_column(String(300))
    seal_bottom_text: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NumberSequence(Base):
    """The last sequence number used per committee and year; numbers are never reused."""

    __tablename__ = "number_sequences"

    committee_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, nullable=False)


class Certificate(Base):
    """One version of an e-certificate. A reissue (补换证) adds a version with the same number."""

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("number", "version", name="uq_certificates_number_version"),
        UniqueConstraint("declaration_id", "version", name="uq_certificates_declaration_version"),
        CheckConstraint("status IN ('pending_seal', 'valid', 'superseded', 'revoked')", name="ck_certificates_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    identifier: Mapped[str] = mapped_column(String(160), unique=True, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    # The secret in the QR code's URL: 128 random bits, so numbers cannot be enumerated through it.
    token: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    declaration_id: Mapped[str] = mapped_column(String(100), nullable=False)
    # "<api key id>:<Idempotency-Key>": a retry is recognised only from the key that sent it.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # The API key that asked for version 1, and the SHA-256 of the validated request it
    # sent: a replay must be the same request from the same caller.
    issued_by: Mapped[str | None] = mapped_column(String(16))
    request_sha256: Mapped[str | None] = mapped_column(String(64))
    # pending_seal: the same certificate without the unsealed notice, ready to be sealed
    # by a batch job as it is (no second layout; same number, same QR code).
    sealable_pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    # B-LTA: when the newest timestamp's TSA certificate expires (a renewal is due before).
    archive_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    holder_name: Mapped[str] = mapped_column(String(100), nullable=False)
    holder_id_number: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    committee_code: Mapped[str] = mapped_column(String(64), nullable=False)
    issuer_code: Mapped[str] = mapped_column(String(64), nullable=False)
    issue_date: Mapped[date] = mapped_column(Date, nullable=False)
    # The validated request (the photo kept apart, in the file store).
    request: Mapped[dict] = mapped_column(JSON, nullable=False)
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    pdf_size: Mapped[int] = mapped_column(Integer, nullable=False)
    seal_level: Mapped[str | None] = mapped_column(String(8))
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the verification page shows of the seals: checked on first view, re-checked daily.
    seal_summary: Mapped[dict | None] = mapped_column(JSON)
    seal_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The public view of the file (photo and full ID number left out), made on first request.
    public_pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(Text)  # staff's words: internal
    revoked_category: Mapped[str | None] = mapped_column(String(32))  # what the public page says
    # The QR code's signed payload (ZC1:…, service.offline.payload) and its key id: kept, so
    # that every later rendering of this version (public copy) prints the same code. NULL:
    # the version was made unsealed, or with a key that signs no payload (online check only).
    offline_payload: Mapped[str | None] = mapped_column(Text)
    offline_kid: Mapped[str | None] = mapped_column(String(16))
    # The OFD twin (profile formats with "ofd"): the same page with GB/T 38540 SM2 seals,
    # made when the version is sealed. NULL: the profile issues PDF only, or not sealed yet.
    ofd_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    ofd_size: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class CertificateEvent(Base):
    """The audit log: who did what to which certificate, when and why. Append-only
    (database triggers refuse UPDATE and DELETE; the API offers neither)."""

    __tablename__ = "certificate_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), nullable=False, index=True)
    number: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class IssueClaim(Base):
    """A declaration being issued right now: taken before a number is allocated, so that
    concurrent duplicates wait for the first instead of each burning a number. Deleted in
    the transaction that records the certificate (or when issuing fails)."""

    __tablename__ = "issue_claims"

    declaration_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    issued_by: Mapped[str] = mapped_column(String(16), nullable=False)
    request_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class BatchJob(Base):
    """A staff or platform job: seal, issue or renew many certificates. Its items are the
    truth of its progress; the job row holds what was asked and where it stands."""

    __tablename__ = "batch_jobs"
    __table_args__ = (
        Index("ix_batch_jobs_owner_created", "created_by", "created_at"),
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed', 'cancelled')", name="ck_batch_jobs_state"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)  # a name in service.batches.catalog
    state: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    params: Mapped[dict] = mapped_column(JSON, nullable=False)
    # The same job asked for again (Idempotency-Key, or the command line run again) is this one.
    job_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_by: Mapped[str] = mapped_column(String(40), nullable=False)  # role:key id
    engine: Mapped[str] = mapped_column(String(10), nullable=False)  # local | celery
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BatchItem(Base):
    """One certificate of a job. Claimed with a lease by whoever works on it; finished in
    the same transaction as the certificate it changes, so a crash either did it or not."""

    __tablename__ = "batch_items"
    __table_args__ = (
        UniqueConstraint("job_id", "seq", name="uq_batch_items_job_seq"),
        Index("ix_batch_items_job_state", "job_id", "state"),
        Index("ix_batch_items_target", "target"),
        CheckConstraint("state IN ('pending', 'done', 'failed', 'cancelled')", name="ck_batch_items_state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("batch_jobs.id"), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    target: Mapped[str] = mapped_column(String(200), nullable=False)  # a certificate number or a declaration id
    payload: Mapped[dict | None] = mapped_column(JSON)  # an issue job's certificate request
    state: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    outcome: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    number: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int | None] = mapped_column(Integer)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StaffSession(Base):
    """A staff member signed in to the staff pages with their key: the cookie holds a
    random token (only its hash is kept), the forms carry the CSRF token."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), nullable=False)
    csrf: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class StoredFile(Base):
    """Content-addressed files kept in the database (``ZC_FILE_STORE=database``): for
    workers on several machines that share the registry but no disk."""

    __tablename__ = "stored_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class NumberEvent(Base):
    """A certificate number that was allocated but never made a certificate (issuing failed
    after numbering: the TSA down, the disk full...). Numbers are never reused, so every gap
    in a committee's sequence is explained here."""

    __tablename__ = "number_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(20), nullable=False)  # unused
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class PublishedKey(Base):
    """A key that has signed offline payloads, as GET /.well-known/zc/keys publishes it.
    Never deleted: a rotated key still verifies the certificates it signed. A key
    invalidated after a date (``keys invalidate``) no longer vouches for certificates issued
    on or after it."""

    __tablename__ = "published_keys"

    kid: Mapped[str] = mapped_column(String(16), primary_key=True)  # base64url of 8 bytes
    org_code: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    org_name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    alg: Mapped[str] = mapped_column(String(16), nullable=False)
    jwk: Mapped[dict] = mapped_column(JSON, nullable=False)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    valid_to: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    invalidated_after: Mapped[date | None] = mapped_column(Date)
    first_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
