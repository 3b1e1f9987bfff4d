"""What the service needs from its machine, checked: ``python -m service doctor``,
``serve``'s start-up and ``/healthz``.

Each check answers one line: OK, DEGRADED (the service works, but slower or with less
than it should) or MISSING (something it needs is absent). ``breaks_output`` marks the
checks without which documents come out wrong or not at all: ``serve`` refuses to start
when one of those is MISSING, and starts with a loud error otherwise.

Checks read; they never create or change anything (a fresh data directory is fine: what
the first start creates is reported as such).
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from service.config import Settings

log = logging.getLogger(__name__)

OK, DEGRADED, MISSING = "OK", "DEGRADED", "MISSING"
# Characters of CJK Extension A and B: drawn only by the fallback faces.
PROBE_TEXT = "职称评审 刘䶮 王𠇔"
SHIPPED_FACES = ("NotoSerifSC-Regular.otf", "NotoSerifSC-Bold.otf", "HanaMinA.ttf", "HanaMinB.ttf")
VERSIONED = (
    "weasyprint",
    "pyhanko",
    "pydyf",
    "fonttools",
    "pypdfium2",
    "fastapi",
    "sqlalchemy",
    "uharfbuzz",
    "tongsuopy",
)


@dataclass(frozen=True)
class Check:
    name: str
    verdict: str  # OK | DEGRADED | MISSING
    detail: str
    breaks_output: bool = False  # MISSING here: documents would be wrong or absent

    @property
    def fatal(self) -> bool:
        return self.verdict == MISSING and self.breaks_output

    def line(self) -> str:
        return f"{self.verdict:<8}  {self.name:<22} {self.detail}"


# --- the rendering stack ----------------------------------------------------------------


def check_weasyprint() -> Check:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango or GLib missing (cffi dlopen)
        return Check("weasyprint", MISSING, f"cannot load WeasyPrint and Pango: {exc}; run scripts/setup.sh", True)
    return Check("weasyprint", OK, f"WeasyPrint {weasyprint.__version__} with Pango", True)


def check_harfbuzz_subsetting(ffi: Any = None) -> Check:
    """WeasyPrint subsets fonts with HarfBuzz when libharfbuzz-subset is loadable, and
    otherwise with fontTools, which walks every glyph of the CJK face: 5 to 10 times slower
    per document (``ffi``: WeasyPrint's loaded libraries; tests pass a stand-in)."""
    name = "harfbuzz subsetting"
    if ffi is None:
        try:
            from weasyprint.text import ffi as loaded
        except (ImportError, OSError) as exc:
            return Check(name, MISSING, f"WeasyPrint does not load: {exc}")
        ffi = loaded
    subset = getattr(ffi, "harfbuzz_subset", None)
    if subset is None:
        return Check(
            name,
            DEGRADED,
            "libharfbuzz-subset0 is not installed: fonts are subset by fontTools and "
            "every document takes 5-10x longer; install it (scripts/setup.sh does)",
        )
    if not ffi.harfbuzz.hb_version_atleast(4, 1, 0):
        return Check(name, DEGRADED, "HarfBuzz is older than 4.1: WeasyPrint falls back to fontTools (5-10x slower)")
    return Check(name, OK, "libharfbuzz-subset loaded: fonts subset by HarfBuzz")


def check_shipped_fonts(
    settings: Settings, render: Callable[[], bytes] | None = None, visible_fonts: Callable[[], list[Path]] | None = None
) -> Check:
    """Fontconfig sees the shipped faces and nothing else, and a probe render with rare
    characters keeps every one of them (``render``/``visible_fonts``: seams for tests)."""
    name = "shipped fonts"
    fonts_dir = settings.fonts_dir.resolve()
    missing = [face for face in (*SHIPPED_FACES, "fonts.conf") if not (fonts_dir / face).is_file()]
    if missing:
        return Check(name, MISSING, f"{fonts_dir} lacks {', '.join(missing)} (see fonts/README.md)", True)
    try:
        pdf = (render or (lambda: probe_pdf(settings)))()
        visible = (visible_fonts or fontconfig_fonts)()
        text = pdf_text(pdf)
    except Exception as exc:  # noqa: BLE001 - any failure of the probe is the verdict
        return Check(name, MISSING, f"the probe render failed: {type(exc).__name__}: {exc}", True)
    foreign = sorted(str(p) for p in visible if fonts_dir not in p.resolve().parents)
    if foreign or not visible:
        seen = ", ".join(foreign[:3]) + (" ..." if len(foreign) > 3 else "") if foreign else "no font at all"
        return Check(name, MISSING, f"fontconfig is not isolated to {fonts_dir / 'fonts.conf'}: it sees {seen}", True)
    lost = [c for c in PROBE_TEXT if not c.isspace() and c not in text]
    if lost:
        return Check(name, MISSING, f"the probe lost {''.join(lost)}: a fallback face is not in use", True)
    return Check(
        name, OK, f"fontconfig sees only the {len(visible)} shipped faces in {fonts_dir}; 䶮 and 𠇔 drawn", True
    )


def probe_pdf(settings: Settings) -> bytes:
    from datetime import datetime

    from service.documents.render import PdfOptions, Renderer

    renderer = Renderer(settings.templates_dir, settings.fonts_dir)
    html = f'<html lang="zh-CN"><body><p>{PROBE_TEXT}</p><p><b>{PROBE_TEXT}</b></p></body></html>'
    return renderer.html_to_pdf(
        html, template="forms/probe.html", options=PdfOptions(date=datetime(2024, 1, 1, tzinfo=UTC), pdf_variant=None)
    )


def fontconfig_fonts() -> list[Path]:
    """The font files fontconfig offers WeasyPrint, read the way WeasyPrint reads its
    configuration (``FONTCONFIG_FILE``, set by the renderer)."""
    from weasyprint.text.ffi import ffi, fontconfig

    config = fontconfig.FcInitLoadConfigAndFonts()
    try:
        fonts = fontconfig.FcConfigGetFonts(config, fontconfig.FcSetSystem)
        files = []
        for index in range(fonts.nfont if fonts != ffi.NULL else 0):
            value = ffi.new("FcChar8 **")
            if fontconfig.FcPatternGetString(fonts.fonts[index], b"file", 0, value) == fontconfig.FcResultMatch:
                files.append(Path(ffi.string(value[0]).decode()))
        return files
    finally:
        fontconfig.FcConfigDestroy(config)


def pdf_text(pdf: bytes) -> str:
    from service.documents.raster import first_page_text

    return first_page_text(pdf) or ""


def check_pdfium() -> Check:
    name = "pypdfium2"
    try:
        import pypdfium2 as pdfium

        version = importlib.metadata.version("pypdfium2")
        pdfium.PdfDocument.new().close()
    except Exception as exc:  # noqa: BLE001
        return Check(name, MISSING, f"cannot load pdfium ({exc}): previews and PDF upload checks fail", True)
    return Check(name, OK, f"pypdfium2 {version}: previews and upload checks", True)


def check_profile(settings: Settings) -> Check:
    """The province profile ZC_PROFILE names loads and validates (a bad one stops serve)."""
    from service.profiles.load import ProfileError
    from service.services import province_profile

    name = "province profile"
    try:
        profile = province_profile(settings)
    except ProfileError as exc:
        return Check(name, MISSING, str(exc), True)
    detail = f"{profile.name}: {profile.province}, {profile.platform}; {len(profile.forms)} forms"
    return Check(name, OK, detail, True)


def check_certificate_layout(settings: Settings) -> Check:
    """The configured number pattern gives distinct numbers, and the certificate fits the
    configured title and the longest number and identifier it can get."""
    from service.certificates.configured import check_configured_certificate
    from service.certificates.identifiers import PatternError, validate_pattern
    from service.profiles.load import ProfileError
    from service.sealing.startup import StartupError
    from service.services import province_profile

    name = "certificate layout"
    try:
        profile = province_profile(settings)
        settings = settings.with_profile(profile)
    except ProfileError:
        return Check(name, MISSING, "the province profile does not load (see above)", True)
    try:
        validate_pattern(settings.number_pattern)
        check_configured_certificate(settings, profile)
    except (PatternError, StartupError) as exc:
        return Check(name, MISSING, str(exc), True)
    except OSError as exc:  # no fonts to measure with: the fonts check says why
        return Check(name, MISSING, f"cannot be measured: {exc}", True)
    return Check(name, OK, f"「{settings.certificate_title}」, numbers like {settings.number_pattern} fit", True)


# --- the data the service keeps --------------------------------------------------------------


def check_data_dir(settings: Settings) -> Check:
    name = "data directory"
    path = settings.data_dir.resolve()
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        return Check(name, MISSING, f"{path}: no directory to create it in", True)
    if not os.access(existing, os.W_OK | os.X_OK):
        return Check(name, MISSING, f"{existing} is not writable by this user", True)
    if existing != path:
        return Check(name, OK, f"{path} (created at first start)", True)
    return Check(name, OK, f"{path} writable", True)


def check_database(settings: Settings) -> Check:
    from sqlalchemy.exc import SQLAlchemyError

    from service.registry.db import schema_version

    name = "database"
    url = settings.registry_url
    shown = _hide_password(url)
    if url.startswith("sqlite") and not (settings.data_dir / "registry.sqlite3").exists():
        return Check(name, OK, f"{shown} (created and migrated at first start)", True)
    head = schema_head()
    try:
        current = schema_version(url)
    except SQLAlchemyError as exc:
        return Check(name, MISSING, f"{shown} unreachable: {str(exc).splitlines()[0]}", True)
    if current == head:
        return Check(name, OK, f"{shown} reachable, schema at {head}", True)
    if current is None or current < head:
        return Check(name, OK, f"{shown} reachable, schema at {current or 'none'}: migrated to {head} at start", True)
    return Check(
        name,
        MISSING,
        f"{shown} has schema {current}, newer than this release's {head}: run the release that wrote it",
        True,
    )


def schema_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from service.registry.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS_DIR}")
    return head


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def check_seal_keys(settings: Settings) -> Check:
    """Every active organisation's key opens (the development ones from their files)."""
    from sqlalchemy.exc import SQLAlchemyError

    from service.registry.db import make_engine, session_factory
    from service.registry.orgs import list_orgs

    name = "seal keys"
    dev_note = " (DEVELOPMENT PKI: not for production)" if settings.dev_pki else ""
    if settings.registry_url.startswith("sqlite") and not (settings.data_dir / "registry.sqlite3").exists():
        if settings.dev_pki:
            return Check(
                name, OK, "development PKI and the contract's two organisations created at first start" + dev_note, True
            )
        return Check(
            name,
            DEGRADED,
            "no organisations yet: certificates are issued pending_seal until "
            "python -m service orgs add ... gives them keys",
        )
    engine = make_engine(settings.registry_url)
    try:
        with session_factory(engine)() as session:
            orgs = list_orgs(session, active_only=True)
    except SQLAlchemyError:
        return Check(name, DEGRADED, "not checked: the registry is not readable (see database)")
    finally:
        engine.dispose()
    keyless = [o.code for o in orgs if o.key_source is None]
    failed = []
    for org in orgs:
        if org.key_source is not None:
            problem = _open_problem(settings, org)
            if problem:
                failed.append(f"{org.code}: {problem}")
    if failed:
        return Check(name, MISSING, "cannot open " + "; ".join(failed), True)
    detail = f"{len(orgs) - len(keyless)} organisations with keys" + dev_note
    if keyless:
        detail += f"; without a key (certificates pending_seal): {', '.join(keyless)}"
    return Check(name, OK, detail, True)


def _open_problem(settings: Settings, org) -> str | None:
    from service.sealing.devpki_store import load_dev_pki
    from service.sealing.orgs import open_signer
    from service.signing.errors import SigningError
    from service.signing.keys import close_signer

    try:
        if org.key_source.get("kind") == "dev":
            if not settings.dev_pki:
                return "a development key, but ZC_DEV_PKI=false"
            if not (settings.keys_dir / "root.cert.pem").exists():
                return None  # created at first start
            pki = load_dev_pki(settings.keys_dir)
            if org.code not in pki.seals:
                return None  # added at the next start
            close_signer(open_signer(org.code, org.key_source, pki))
        else:
            close_signer(open_signer(org.code, org.key_source))
    except SigningError as exc:
        return str(exc)
    return None


def check_tsa(settings: Settings) -> Check:
    name = "timestamp authority"
    if not settings.tsa_url:
        if settings.dev_pki:
            return Check(name, OK, "development TSA in process (DEVELOPMENT ONLY)")
        return Check(name, MISSING, "ZC_TSA_URL is not set: seals need an RFC 3161 timestamp", True)
    import hashlib

    from service.sealing.timestamping import build_http_timestamper
    from service.signing.seal import run_sync

    started = time.perf_counter()
    try:
        stamper = build_http_timestamper(settings.tsa_url, timeout=min(settings.tsa_timeout, 10))
        run_sync(stamper.async_timestamp(hashlib.sha256(b"doctor").digest(), "sha256"))
    except Exception as exc:  # noqa: BLE001 - whatever fails, the TSA is not usable
        return Check(name, MISSING, f"{settings.tsa_url} did not answer with a timestamp: {type(exc).__name__}: {exc}")
    return Check(name, OK, f"{settings.tsa_url} answered in {(time.perf_counter() - started) * 1000:.0f} ms")


# --- versions ---------------------------------------------------------------------------------


def installed_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in VERSIONED:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "absent"
    return versions


def check_versions(lock_file: Path | None = None) -> Check:
    """The versions in use, and whether they are the ones the lock pins (the ones tested
    and benchmarked), when the lock file is at hand (a source checkout)."""
    versions = installed_versions()
    detail = ", ".join(f"{k} {v}" for k, v in versions.items())
    lock_file = lock_file or Path(__file__).resolve().parent.parent / "requirements.lock"
    if not lock_file.is_file():
        return Check("versions", OK, detail)
    pinned = locked_versions(lock_file)
    differ = [
        f"{k} {versions[k]} (lock: {pinned[k]})" for k in VERSIONED if k in pinned and versions.get(k) != pinned[k]
    ]
    if differ:
        return Check(
            "versions", DEGRADED, "not the tested versions: " + ", ".join(differ) + "; reinstall with scripts/setup.sh"
        )
    return Check("versions", OK, detail + " (as locked)")


def locked_versions(lock_file: Path) -> dict[str, str]:
    pinned = {}
    for line in lock_file.read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, _, rest = line.partition("==")
            pinned[name.strip().lower()] = rest.split()[0].rstrip("\\").strip()
    return pinned


# --- all of them ------------------------------------------------------------------------------


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order ``doctor`` prints them."""
    return [
        check_weasyprint(),
        check_harfbuzz_subsetting(),
        check_shipped_fonts(settings),
        check_pdfium(),
        check_profile(settings),
        check_certificate_layout(settings),
        check_data_dir(settings),
        check_database(settings),
        check_seal_keys(settings),
        check_tsa(settings),
        check_versions(),
    ]


def speed_checks() -> list[Check]:
    """The cheap checks each service process runs at start-up for ``/healthz``."""
    return [check_harfbuzz_subsetting()]


def degraded_reasons(checks: list[Check]) -> list[str]:
    return [f"{c.name}: {c.detail}" for c in checks if c.verdict != OK]
