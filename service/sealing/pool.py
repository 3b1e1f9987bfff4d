"""The sealer pool: every organisation's signer, seal image and stamp style, one
timestamper and the trust configuration, built once at start-up and reused.

Issuance calls :meth:`SealerPool.seal` (or ``await`` :meth:`SealerPool.async_seal` in a
batch worker) with the rendered certificate PDF; verification calls
:meth:`SealerPool.validate`.  The pure sealing and validation live in
:mod:`service.signing`; this module only decides which key, image, TSA and trust to use.

Thread safety (FastAPI runs sync routes in a thread pool):
* file-key signers hold a parsed key object: signing with it is thread-safe;
* PKCS#11 signers share one token session; python-pkcs11 serialises operations on a
  session with its own lock, and pyHanko runs them in an executor;
* stamp styles are *not* thread-safe (pyHanko sets the current writer and resources on
  the image), so each thread builds its own from the PNG, on first use (~20 ms);
* the timestamper is stateless per request (the HTTP one opens a session per token).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pyhanko.sign.signers import Signer

from service.documents.certificate_layout import SealArea
from service.errors import InvalidInput, Unavailable
from service.signing.appearance import build_seal_style
from service.signing.keys import close_signer
from service.signing.levels import seal_level
from service.signing.pdf_inspect import timestamper_valid_until
from service.signing.report import ValidationReport
from service.signing.seal import (
    Kind,
    SealField,
    SealRequest,
    async_add_archive_timestamp,
    async_seal_certificate,
    run_sync,
)
from service.signing.trust import build_validation_context
from service.signing.validate import async_validate_pdf, validate_pdf

log = logging.getLogger(__name__)


class NoSealKey(Unavailable):
    """The organisation has no usable key: its certificates wait in ``pending_seal``."""

    code = "no_seal_key"


@dataclass(frozen=True)
class OrgSealer:
    """One organisation's sealing material, loaded once."""

    code: str
    name: str
    role: str  # committee | issuer
    signer: Signer
    seal_png: bytes
    bytes_reserved: int


class SealerPool:
    """Seals certificates with the registered organisations' keys; validates with the
    pool's trust. Build it with :func:`service.sealing.startup.build_sealer_pool`."""

    def __init__(
        self, sealers: dict[str, OrgSealer], timestamper, trust, level: str, fixed_time: datetime | None = None
    ):
        self._sealers = dict(sealers)
        self.timestamper = timestamper
        self.trust = trust
        self.level = seal_level(level)
        # frozen clock for tests: validation-context moment (the dev TSA is frozen too)
        self._fixed_time = fixed_time
        self._local = threading.local()

    def warm(self) -> int:
        """Build this thread's stamp styles for every organisation now (a batch worker at
        start), not on its first certificate. Returns how many."""
        for sealer in self._sealers.values():
            self._style(sealer)
        return len(self._sealers)

    def has_key(self, code: str) -> bool:
        """Whether ``code`` is an active organisation with a loaded key."""
        return code in self._sealers

    def codes(self) -> list[str]:
        return sorted(self._sealers)

    def sealer(self, code: str) -> OrgSealer:
        try:
            return self._sealers[code]
        except KeyError:
            raise NoSealKey(f"organisation {code} has no usable seal key (inactive, unknown or keyless)") from None

    def seal(
        self,
        pdf: bytes,
        committee_code: str,
        issuer_code: str,
        areas: Sequence[SealArea],
        *,
        committee_reason: str | None = None,
        issuer_reason: str | None = None,
    ) -> bytes:
        """Add both signature fields, then the committee's certification seal (DocMDP form
        filling), the issuer's approval seal, and for a long-term level (B-LTA) the DSS and a
        document timestamp.

        ``areas``: the 评委会's and the 发证机关's seal areas, in that order.
        Call from a worker thread, never inside an event loop (use :meth:`async_seal`).
        """
        return run_sync(
            self.async_seal(
                pdf, committee_code, issuer_code, areas, committee_reason=committee_reason, issuer_reason=issuer_reason
            )
        )

    async def async_seal(
        self,
        pdf: bytes,
        committee_code: str,
        issuer_code: str,
        areas: Sequence[SealArea],
        *,
        committee_reason: str | None = None,
        issuer_reason: str | None = None,
    ) -> bytes:
        committee = self._for_role(committee_code, "committee")
        issuer = self._for_role(issuer_code, "issuer")
        vc = self._validation_context() if self.level.needs_revocation_data else None
        committee_field, issuer_field = (SealField(a.name, a.page, a.rect) for a in areas)
        first = self._request(committee, committee_field.name, "certify", vc, committee_reason)
        second = self._request(issuer, issuer_field.name, "approve", vc, issuer_reason)
        return await async_seal_certificate(pdf, first, second, self.level, new_fields=(committee_field, issuer_field))

    def add_archive_timestamp(self, pdf: bytes) -> bytes:
        """A B-LTA document renewed: the revocation data of every seal and a new document
        timestamp, in one incremental revision; every earlier signature stays valid."""
        return run_sync(async_add_archive_timestamp(pdf, self._validation_context(), self.timestamper))

    @property
    def archive_until(self) -> datetime | None:
        """When this pool's timestamps stop proving anything (its TSA certificate expires)."""
        return timestamper_valid_until(self.timestamper)

    def validate(self, pdf: bytes, strict: bool = False, at: datetime | None = None) -> ValidationReport:
        """The validation report of ``pdf`` against the pool's trust."""
        return validate_pdf(pdf, self.trust, strict=strict, at=at or self._fixed_time)

    async def async_validate(self, pdf: bytes, strict: bool = False, at: datetime | None = None) -> ValidationReport:
        return await async_validate_pdf(pdf, self.trust, strict=strict, at=at or self._fixed_time)

    def close(self) -> None:
        """Release token sessions (PKCS#11); file keys need nothing."""
        close_signers({code: s.signer for code, s in self._sealers.items()})

    def _for_role(self, code: str, role: str) -> OrgSealer:
        sealer = self.sealer(code)
        if sealer.role != role:
            roles = {"committee": "评委会", "issuer": "发证机关"}
            raise InvalidInput(f"机构 {code} 登记为{roles[sealer.role]}，不能作为{roles[role]}签章")
        return sealer

    def _request(self, sealer: OrgSealer, field_name: str, kind: Kind, vc, reason: str | None) -> SealRequest:
        return SealRequest(
            signer=sealer.signer,
            field_name=field_name,
            kind=kind,
            stamp=self._style(sealer),
            timestamper=self.timestamper,
            level=self.level.name,
            validation_context=vc,
            reason=reason,
            bytes_reserved=sealer.bytes_reserved,
        )

    def _style(self, sealer: OrgSealer):
        styles = getattr(self._local, "styles", None)
        if styles is None:
            styles = self._local.styles = {}
        style = styles.get(sealer.code)
        if style is None:
            style = styles[sealer.code] = build_seal_style(sealer.seal_png)
        return style

    def _validation_context(self):
        # B-LTA must embed revocation data for every certificate: "require", so that a
        # missing or stale CRL fails the seal instead of yielding a document that only
        # looks long-term verifiable. One context per document (pyHanko caches in it).
        return build_validation_context(self.trust, moment=self._fixed_time, revocation_mode="require")


def close_signers(signers: dict[str, Signer]) -> None:
    for code, signer in signers.items():
        try:
            close_signer(signer)
        except Exception:  # closing at shutdown must not mask the real exit
            log.exception("closing the key of %s failed", code)
