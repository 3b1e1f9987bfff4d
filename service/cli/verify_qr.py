"""``python -m service verify-qr FILE|TEXT --keys keys.json [--status status.json]``:
check a certificate's QR code with the published lists alone (no database, no network).

FILE: a PDF (page 1) or an image holding the code, or a text file with the scanned text;
anything else is the scanned text itself. Exit codes: 0 有效, 1 无效, 2 bad usage or
unreadable input, 3 已撤销, 4 已换发, 5 no status list or one past its valid-until.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from service.cli.common import CliError


def cmd_verify_qr(args: argparse.Namespace) -> int:
    from service.offline.check import check_offline
    from service.offline.lists import KEYS_TYPE, STATUS_TYPE, ListError, verify_list
    from service.offline.payload import id_matches

    trusted = _read_json(args.list_key, "--list-key") if args.list_key else None
    try:
        keys = verify_list(_read_json(args.keys, "--keys"), KEYS_TYPE, trusted)
        status = verify_list(_read_json(args.status, "--status"), STATUS_TYPE, trusted) if args.status else None
    except ListError as exc:
        raise CliError(f"列表无效 (list rejected): {exc}") from None
    if status is not None and status.signer_kid != keys.signer_kid:
        raise CliError("密钥列表与状态列表的签名者不同 (the lists are signed by different keys)")
    if not keys.pinned:
        print(f"note: list signer {keys.signer_kid} not pinned (--list-key)", file=sys.stderr)
    now = datetime.fromisoformat(args.at) if args.at else datetime.now(UTC)
    verdict = check_offline(_scanned_text(args.input), keys.payload, status.payload if status else None, now)
    result: dict = {"verdict": verdict.verdict, "label": verdict.label, "reason": verdict.reason}
    if verdict.facts is not None:
        result["facts"] = verdict.facts.public()
        if args.id_number:
            result["id_number_matches"] = id_matches(verdict.facts, args.id_number)
    if status is not None:
        result["status_list"] = {"iat": status.payload.get("iat"), "valid_until": status.payload.get("valid_until")}
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        _print_human(result)
    if args.id_number and verdict.facts is not None and not result["id_number_matches"]:
        return 1
    return verdict.exit_code


def _print_human(result: dict) -> None:
    print(f"{result['label']}  {result['reason']}")
    for name, value in (result.get("facts") or {}).items():
        if name not in ("salt", "id_hash"):
            print(f"  {name}: {value}")
    if "id_number_matches" in result:
        print(f"  证件号码{'相符' if result['id_number_matches'] else '不符'}")
    if "status_list" in result:
        print(f"  状态列表签发于 {result['status_list']['iat']}，有效期至 {result['status_list']['valid_until']}")


def _read_json(path: Path, option: str):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CliError(f"{option} {path}: {exc}") from None


def _scanned_text(given: str) -> str:
    path = Path(given)
    if len(given) < 1024 and path.is_file():
        head = path.read_bytes()[:8]
        if head.startswith(b"%PDF-"):
            return _decode_image(_pdf_page_image(path))
        if head.startswith((b"\x89PNG", b"\xff\xd8")):
            from PIL import Image

            return _decode_image(Image.open(path))
        return path.read_text(encoding="utf-8").strip()
    return given


def _pdf_page_image(path: Path):
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    try:
        return document[0].render(scale=300 / 72).to_pil()
    finally:
        document.close()


def _decode_image(image) -> str:
    import zxingcpp

    found = [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]
    if not found:
        raise CliError("no QR code found in the file")
    return found[0]


def add_commands(commands, with_data_dir) -> None:
    parser = commands.add_parser("verify-qr", help="check a certificate's QR code offline with the published lists")
    parser.add_argument("input", help="a PDF or image with the QR code, a text file, or the scanned text")
    parser.add_argument("--keys", type=Path, required=True, help="the key list (GET /.well-known/zc/keys)")
    parser.add_argument("--status", type=Path, help="the status list (GET /.well-known/zc/status)")
    parser.add_argument("--list-key", type=Path, help="JWK of the list signer to trust (else: the one the list names)")
    parser.add_argument("--id-number", help="the ID number shown by the holder: checked against the payload's hash")
    parser.add_argument("--at", help="check as at this ISO 8601 moment (default: now)")
    parser.add_argument("--json", action="store_true", help="the verdict and the facts as JSON")
    parser.set_defaults(func=cmd_verify_qr)
