"""Tables of the registry. Changes go through an Alembic migration."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, Integer, String, true
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
