"""Command line for sealing organisations and the development PKI:
``orgs add|update|list`` and ``keys init`` (``keys published|invalidate``: payload_keys).

Bad input ends with one line on stderr and exit code 2, nothing half-written.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from cryptography.x509.oid import NameOID

from service.cli.common import CliError, print_table, settings_from_args
from service.cli.payload_keys import add_key_commands
from service.registry.db import open_registry
from service.registry.orgs import ROLES, list_orgs

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEY_SOURCES = ("key_pem", "key_p12", "pkcs11_module", "no_key", "dev_key")
# option -> the key source options it belongs with
_BELONGS_TO = {
    "cert_pem": ("key_pem",),
    "passphrase_env": ("key_pem", "key_p12"),
    "chain": ("key_pem", "key_p12", "pkcs11_module"),
    "token_label": ("pkcs11_module",),
    "key_label": ("pkcs11_module",),
    "cert_label": ("pkcs11_module",),
    "pin_env": ("pkcs11_module",),
}


def cmd_keys_init(args: argparse.Namespace) -> int:
    from service.sealing.orgs import ensure_dev_keys

    settings, sessions = _open(args)
    if not settings.dev_pki:
        raise CliError("the development PKI is switched off (ZC_DEV_PKI=false); nothing to initialise")
    pki = ensure_dev_keys(settings, sessions, datetime.now(UTC))
    print(f"development PKI ready in {settings.keys_dir.resolve()} (DEVELOPMENT ONLY, not for production)")
    print_table([(code, org.role, org.name) for code, org in sorted(pki.orgs.items())], indent="  ")
    return 0


def cmd_orgs_add(args: argparse.Namespace) -> int:
    from service.sealing.orgs import DEV_KEY, add_organisation

    if args.role not in ROLES:
        raise CliError(f"unknown role {args.role!r}: use committee (评委会) or issuer (发证机关)")
    from service.signing.devpki import name_problem

    if (char := name_problem(args.name)) is not None:
        raise CliError(
            f"--name holds {char}, which no seal certificate can carry (unassigned or prohibited "
            "in X.509 string preparation): use the standard characters of the name"
        )
    settings, sessions = _open(args)
    key = _key_source(args)
    if key is None and not args.no_key:
        if not settings.dev_pki:
            raise CliError(
                "no key source given and the development PKI is off (ZC_DEV_PKI=false): "
                "give --key-pem, --key-p12 or --pkcs11-module, or --no-key"
            )
        key = dict(DEV_KEY)
    note = _secret_note(key)
    org = add_organisation(
        settings,
        sessions,
        code=args.code,
        name=args.name,
        role=args.role,
        key_source=key,
        seal_png=_seal_image(args),
        seal_bottom_text=args.seal_bottom_text,
        now=datetime.now(UTC),
    )
    print(f"added {org.code} ({org.name}), {org.role}, key: {_key_label(key)}")
    if note:
        print(f"note: {note}", file=sys.stderr)
    return 0


def cmd_orgs_update(args: argparse.Namespace) -> int:
    from service.sealing.orgs import DEV_KEY, OrgChange, update_organisation

    settings, sessions = _open(args)
    key = _key_source(args)
    if args.dev_key:
        if not settings.dev_pki:
            raise CliError("--dev-key: the development PKI is switched off (ZC_DEV_PKI=false)")
        key = dict(DEV_KEY)
    note = _secret_note(key)
    change = OrgChange(
        key_source=key,
        remove_key=args.no_key,
        seal_png=_seal_image(args),
        seal_bottom_text=args.seal_bottom_text,
        generated_seal=args.generated_seal,
        active=args.active,
    )
    org = update_organisation(settings, sessions, args.code, change, datetime.now(UTC))
    print(f"updated {org.code} ({org.name}), key: {_key_label(org.key_source)}, active: {org.active}")
    if note:
        print(f"note: {note}", file=sys.stderr)
    return 0


def cmd_orgs_list(args: argparse.Namespace) -> int:
    from service.sealing.orgs import read_seal_certificate, seal_image_label
    from service.signing.errors import SigningError

    settings, sessions = _open(args)
    with sessions() as session:
        orgs = list_orgs(session)
    rows = [("CODE", "ROLE", "NAME", "KEY", "CERTIFICATE", "EXPIRES", "SEAL IMAGE", "ACTIVE")]
    for org in orgs:
        subject, expires = "-", "-"
        if org.key_source:
            try:
                cert = read_seal_certificate(org, settings.keys_dir)
                subject, expires = _subject(cert), cert.not_valid_after_utc.date().isoformat()
            except SigningError as exc:
                subject = f"(unavailable: {exc})"
        rows.append(
            (
                org.code,
                org.role,
                org.name,
                _key_label(org.key_source),
                subject,
                expires,
                seal_image_label(org),
                "yes" if org.active else "no",
            )
        )
    print_table(rows)
    return 0


def add_commands(commands, with_data_dir) -> None:
    """Register ``orgs ...`` and ``keys ...`` on the main parser's subcommands."""
    orgs = commands.add_parser("orgs", help="sealing organisations (评委会, 发证机关)")
    actions = orgs.add_subparsers(dest="action", required=True)
    add = with_data_dir(actions.add_parser("add", help="add an organisation"))
    add.add_argument("--code", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, help="committee (评委会) or issuer (发证机关)")
    _key_options(add)
    add.add_argument("--no-key", action="store_true", help="no key yet: its certificates wait in pending_seal")
    _seal_options(add)
    add.set_defaults(func=cmd_orgs_add)

    update = with_data_dir(actions.add_parser("update", help="change an organisation's key, seal image or status"))
    update.add_argument("--code", required=True)
    _key_options(update)
    update.add_argument("--no-key", action="store_true", help="remove its key")
    update.add_argument("--dev-key", action="store_true", help="use a development key")
    _seal_options(update)
    update.add_argument("--generated-seal", action="store_true", help="draw the seal again instead of a PNG")
    update.add_argument("--activate", dest="active", action="store_const", const=True, default=None)
    update.add_argument("--deactivate", dest="active", action="store_const", const=False)
    update.set_defaults(func=cmd_orgs_update)

    listing = with_data_dir(actions.add_parser("list", help="list organisations, keys and certificates"))
    listing.set_defaults(func=cmd_orgs_list)

    keys = commands.add_parser("keys", help="the development PKI")
    key_actions = keys.add_subparsers(dest="action", required=True)
    init = with_data_dir(key_actions.add_parser("init", help="create or complete the development PKI (idempotent)"))
    init.set_defaults(func=cmd_keys_init)
    add_key_commands(key_actions, with_data_dir)


def _key_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("key source (none: a development key)")
    group.add_argument("--key-pem", type=Path, help="PEM private key file")
    group.add_argument("--cert-pem", type=Path, help="PEM certificate of --key-pem")
    group.add_argument("--key-p12", type=Path, help="PKCS#12 file with key and certificate")
    group.add_argument("--chain", type=Path, help="PEM bundle of intermediate certificates")
    group.add_argument("--passphrase-env", help="NAME of the variable holding the key/PKCS#12 passphrase")
    group.add_argument("--pkcs11-module", type=Path, help="PKCS#11 library (.so)")
    group.add_argument("--token-label")
    group.add_argument("--key-label")
    group.add_argument("--cert-label", help="default: the key label")
    group.add_argument("--pin-env", help="NAME of the variable holding the token PIN")


def _seal_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("seal image (none: drawn from the name)")
    group.add_argument("--seal-image", type=Path, help="a PNG to use instead (transparent, 200-4000 px)")
    group.add_argument("--seal-bottom-text", help="line under the star of a drawn seal, e.g. 职称评审专用章")


def _key_source(args: argparse.Namespace) -> dict | None:
    """The key options as stored JSON; None when none is given (or ``--no-key``/``--dev-key``)."""
    from service.sealing.key_sources import KeySource
    from service.sealing.orgs import key_source_json

    chosen = [_flag(name) for name in _KEY_SOURCES if getattr(args, name, None)]
    for name in ("passphrase_env", "pin_env"):
        value = getattr(args, name)
        if value is not None and not _ENV_NAME.match(value):
            raise CliError(f"{_flag(name)} takes the NAME of an environment variable, never the secret itself")
    if len(chosen) > 1:
        raise CliError(f"choose one key source, not {' and '.join(chosen)}")
    for name, owners in _BELONGS_TO.items():
        if getattr(args, name) is not None and not any(getattr(args, o) for o in owners):
            raise CliError(f"{_flag(name)} goes with {' or '.join(map(_flag, owners))}")
    if args.key_pem:
        if args.cert_pem is None:
            raise CliError("--key-pem needs --cert-pem")
        source = KeySource.pem(args.key_pem, args.cert_pem, args.chain, args.passphrase_env)
    elif args.key_p12:
        source = KeySource.pkcs12(args.key_p12, args.passphrase_env, args.chain)
    elif args.pkcs11_module:
        missing = [
            f
            for f, v in (
                ("--token-label", args.token_label),
                ("--key-label", args.key_label),
                ("--pin-env", args.pin_env),
            )
            if not v
        ]
        if missing:
            raise CliError(f"--pkcs11-module needs {', '.join(missing)}")
        source = KeySource.pkcs11(
            args.pkcs11_module, args.token_label, args.key_label, args.pin_env, args.cert_label, args.chain
        )
    else:
        return None
    return key_source_json(source)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _secret_note(key: dict | None) -> str | None:
    """A key whose secret is not in this shell's environment is checked by its files only."""
    secret_env = (key or {}).get("secret_env")
    if secret_env and secret_env not in os.environ:
        return f"not opened: ${secret_env} is not set here; it must be set where the service runs"
    return None


def _seal_image(args: argparse.Namespace) -> bytes | None:
    from service.documents.seal_image import check_seal_png

    if args.seal_image is None:
        return None
    if args.seal_bottom_text is not None:
        raise CliError("--seal-bottom-text is for drawn seals; it does not go with --seal-image")
    try:
        data = args.seal_image.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {args.seal_image}: {exc.strerror}") from exc
    return check_seal_png(data)


def _key_label(key: dict | None) -> str:
    if not key:
        return "none"
    kind = key["kind"]
    if kind == "pkcs11":
        return f"pkcs11 {key.get('token_label')}/{key.get('key_label')}"
    if kind in ("pem", "pkcs12"):
        return f"{kind} {key.get('key_path')}"
    return kind


def _subject(cert) -> str:
    for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
        attrs = cert.subject.get_attributes_for_oid(oid)
        if attrs:
            return str(attrs[0].value)
    return cert.subject.rfc4514_string()


def _open(args: argparse.Namespace):
    settings = settings_from_args(args)
    return settings, open_registry(settings)
