"""A PKCS#11 token taken away while the service seals, then put back: sealing refuses
with a clear 503-class error meanwhile, and comes back by itself, no restart."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from service.sealing.live import LiveSealers
from service.signing.errors import KeySourceError
from tests.test_sealer_pool import AREAS, COMMITTEE, PIN_ENV, SOFTHSM, TOKEN, make_certificate_pdf, setup, token  # noqa: F401


def test_sealing_fails_cleanly_without_the_token_and_recovers_when_it_returns(setup, token, tmp_path, monkeypatch):  # noqa: F811
    from datetime import UTC, datetime

    from service.registry.db import transaction
    from service.registry.orgs import add_org

    for name, value in setup.environ.items():  # the other organisations' secrets, and the PIN
        monkeypatch.setenv(name, value)
    with transaction(setup.sessions) as session:
        add_org(
            session,
            "HSMISS",
            "某某省人力资源和社会保障厅（HSM）",
            "issuer",
            datetime.now(UTC),
            key_source={
                "kind": "pkcs11",
                "module_path": str(SOFTHSM),
                "token_label": TOKEN,
                "key_label": "seal",
                "secret_env": PIN_ENV,
            },
        )
    sealers = LiveSealers(setup.settings, setup.sessions)
    try:
        assert sealers.seal(make_certificate_pdf(), COMMITTEE.code, "HSMISS", AREAS).pdf
        tokens = next(p for p in tmp_path.iterdir() if p.name == "tokens")
        backup = tmp_path / "tokens-backup"
        shutil.copytree(tokens, backup)
        subprocess.run(
            ["softhsm2-util", "--module", str(SOFTHSM), "--delete-token", "--token", TOKEN],
            check=True,
            capture_output=True,
        )
        with pytest.raises(KeySourceError, match="token"):  # 503 at the API: the seal key is not available now
            sealers.seal(make_certificate_pdf(b"2"), COMMITTEE.code, "HSMISS", AREAS)
        shutil.rmtree(tokens)
        shutil.copytree(backup, tokens)  # the token is back: the next seal opens it again by itself
        again = sealers.seal(make_certificate_pdf(b"3"), COMMITTEE.code, "HSMISS", AREAS)
        report = sealers.validate(again.pdf)
        assert report.valid and len(report.seals) == 2
    finally:
        sealers.close()
