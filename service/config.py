"""Settings, read from the environment (prefix ``ZC_``) and the command line.

Nothing here is built at import time: ``Settings()`` is called by the CLI or a
test and handed to ``create_app``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service import FONTS_DIR, PROFILES_DIR, TEMPLATES_DIR

if TYPE_CHECKING:
    from service.profiles.schema import Profile


class Limits(BaseSettings):
    """Input limits. Beyond them a request gets 413 or 422, never a 500."""

    model_config = SettingsConfigDict(env_prefix="ZC_LIMIT_", frozen=True)

    max_body_bytes: int = 10 * 1024 * 1024
    max_photo_bytes: int = 5 * 1024 * 1024
    max_photo_side_px: int = 4000
    max_list_rows: int = 500
    max_text_chars: int = 20_000
    # Publicity tables and rosters are lists of people, not one person's
    # declaration: they get their own, larger limit.
    max_table_rows: int = 10_000  # 10,000 rows: about 14 s and 0.6 GB (bench/results/render.md)
    max_upload_bytes: int = 20 * 1024 * 1024
    # A print run's body (POST /api/v1/forms/{form}/booklet): hundreds of declarations.
    max_booklet_bytes: int = 64 * 1024 * 1024
    # Pages of one document: checked after layout, before the PDF is written (beyond: 413).
    max_pages: int = 1000
    # Uploaded PDFs: what their streams may decode to, each and all together, every filter
    # stage and every re-read counted (beyond: 422); and what page 1's content may come to
    # with each use of a stream counted (pdfium keeps tens of times that while reading it).
    # A certificate of this service: about 1 MB in all, 30 KB on page 1.
    max_inflated_stream_bytes: int = 32 * 1024 * 1024
    max_inflated_total_bytes: int = 96 * 1024 * 1024
    max_drawn_page_bytes: int = 4 * 1024 * 1024
    # A field the contract does not know: reject (422 naming it, the default) or
    # ignore (for a province whose platform sends extra fields). ZC_CONTRACT_UNKNOWN_FIELDS.
    unknown_fields: Literal["reject", "ignore"] = Field(
        default="reject", validation_alias=AliasChoices("ZC_CONTRACT_UNKNOWN_FIELDS", "unknown_fields")
    )
    # The province's words for enumerated values (its profile, applied at start-up): kind →
    # accepted word → canonical value, and kind → the words a refusal names. Empty: the
    # canonical values only.
    vocabulary: dict[str, dict[str, str]] = Field(default_factory=dict)
    vocabulary_choices: dict[str, tuple[str, ...]] = Field(default_factory=dict)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZC_", frozen=True)

    data_dir: Path = Path("data")
    # ZC_DATABASE_URL, or DATABASE_URL (the conventional name); the first wins.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("ZC_DATABASE_URL", "DATABASE_URL", "database_url")
    )
    # SQLite: how long a write waits for another writer's lock (beyond: 503, nothing changed).
    database_busy_seconds: float = 30
    # PostgreSQL: connections per process (a fixed pool: requests beyond it wait for one).
    database_pool_size: int = Field(default=8, ge=1, le=200)
    public_base_url: str = "http://127.0.0.1:8000"
    templates_dir: Path = TEMPLATES_DIR
    fonts_dir: Path = FONTS_DIR
    # The date printed where a document needs "today" and the payload gives
    # none. Unset means the payload must carry it: output never depends on
    # the clock.
    document_date: date | None = None
    preview_dpi: int = 110
    # The province whose words, forms and paper the service uses: profiles/<name>.toml,
    # validated at start-up (ZC_PROFILE; GET /api/v1/profiles lists what ships).
    profile: str = "hubei"
    profiles_dir: Path = PROFILES_DIR
    # Certificate numbers: fields {province} {year} {committee} {seq}; empty: the
    # profile's (all three read like Anhui's: 9 · province · year · committee · sequence).
    number_pattern: str = ""
    # The type code inside GB/T 36904-style identifiers (a convention: set the one your province uses).
    identifier_type_code: str = "ZCZS"
    # The certificate's title; empty: the profile's (provinces word it differently).
    certificate_title: str = ""
    # Printed on a certificate issued before its organisations have e-seals (pending_seal),
    # written into its metadata and shown on its verification page; the seal areas stay
    # clean for a stamp pressed by hand (线下盖章, as the Anhui platform describes it).
    # Empty: the profile's.
    unsealed_notice: str = ""
    # 证书查验: lookups and uploads per client address (token bucket, per process).
    verify_rate_per_minute: float = 30
    verify_burst: int = 10
    # How long a QR scan's answer is reused; a revocation shows after at most this.
    scan_cache_seconds: float = 3
    limits: Limits = Field(default_factory=Limits)

    # --- work off the event loop ---------------------------------------------------------
    # Rendering and sealing run in worker processes beside each service process: this many
    # (default: the number of cores divided among `serve --workers`).
    work_processes: int | None = None
    # Requests allowed to wait for a busy worker; beyond them: 503 with Retry-After at once.
    work_queue: int = 16
    # Issuance and reissue (about 60 ms of drawing and sealing each) run in workers of their
    # own, this many (default: as many as work_processes), so that a certificate never waits
    # behind a long form being laid out.
    certificate_processes: int | None = Field(default=None, ge=1)
    # The most one render (or issuance) may take; beyond: its worker is stopped, 504.
    render_timeout_seconds: float = 120
    # The most one print run (booklet: hundreds of documents in one file) may take.
    booklet_timeout_seconds: float = 1800
    # Rendered forms kept by what they were rendered from (service.forms.render_cache), at
    # most this many MB in <data>/render-cache; 0: none kept.
    render_cache_mb: int = Field(default=256, ge=0)
    # A worker that has grown past this after a task is replaced (big documents leave
    # memory the allocator keeps): the memory goes back to the system.
    worker_max_rss_mb: int = 700
    # Uploaded PDFs checked at once per process (in the worker processes: seal validation,
    # ~50-100 ms each), and the most one check may take (beyond: 504, the worker replaced).
    upload_checks_at_once: int = 2
    # Uploads in progress per process (their bodies being received, waiting, being checked);
    # one more: 503 with Retry-After at once.
    upload_queue: int = Field(default=8, ge=1)
    upload_timeout_seconds: float = 30
    # The last line under the budgets (ZC_LIMIT_MAX_INFLATED_*): what one check may add to
    # its worker's address space (the checks have workers of their own); beyond, the upload
    # is refused (422 「文件内容过多」) and the worker replaced. Resident peak: at most this.
    upload_memory_mb: int = Field(default=224, ge=64)
    upload_warm: bool = True  # the checkers start with the service, their trust loaded; false: on the first upload
    # The same ceiling for one render, issuance or batch item (a 10,000-row table takes
    # about 0.6 GB); 0: none.
    worker_task_memory_mb: int = Field(default=4096, ge=0)
    # Clients behind these proxies are known by X-Forwarded-For (IPs or CIDRs; none by default).
    trusted_proxies: tuple[str, ...] = ()
    # Redis for limits shared by every service process (and, later, the batch queue).
    redis_url: str | None = None
    # How often a running service looks for organisations added or changed (orgs add|update).
    orgs_check_seconds: float = 2.0
    # Where certificate files live: a folder in the data dir, or the registry's database
    # (for batch workers on several machines without a shared disk).
    file_store: Literal["directory", "database"] = "directory"

    # --- logs and metrics (docs/operations.md) ---------------------------------------
    # json: one JSON object per line (the default of serve and worker); text: for people.
    # Unset: json for serve and worker, text for the other commands.
    log_format: Literal["json", "text"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Unset: GET /metrics on the service's own port, for admin keys. Set: /metrics on this
    # port instead (plain HTTP, no key: bind it where only Prometheus reaches), and the
    # service's own /metrics answers 404.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"

    # --- batch jobs ----------------------------------------------------------------------
    # Progress streams (GET /api/v1/batches/{id}/events) per key and per service process
    # (beyond: 429 / 503 with Retry-After); a stream with nothing new this long ends (idle).
    events_per_key: int = Field(default=50, ge=1)
    events_max: int = Field(default=2000, ge=1)
    events_idle_seconds: float = Field(default=600, gt=0)
    # QUEUE_URL=redis://...: jobs run on Celery workers (python -m service worker); unset,
    # in a local pool of worker processes started by serve (or the batch command).
    queue_url: str | None = Field(default=None, validation_alias=AliasChoices("ZC_QUEUE_URL", "QUEUE_URL", "queue_url"))
    batch_processes: int | None = None  # local pool size (default: one per core)
    batch_warm: bool = True  # the coordinating service starts its batch workers and loads their seals at once
    batch_chunk: int = 20  # items per claim (per Celery task)
    batch_lease_seconds: float = 120  # an item claimed longer than this by a silent worker is taken over
    batch_requeue_seconds: float = 60  # Celery: pending items not picked up for this long are sent again
    batch_item_timeout_seconds: float = 60  # the most one item may take; its worker is then stopped
    batch_max_attempts: int = 3  # an item interrupted this often (timeouts, crashes) fails with the reason

    # --- seals -----------------------------------------------------------------------
    # The embedded default: a development PKI and in-process TSA under <data_dir>/keys and
    # the contract's two organisations with development keys. Production sets it false and
    # gives every organisation a real key source (python -m service orgs add ...).
    dev_pki: bool = True
    # The key that signs the published key list and status list (/.well-known/zc/…): a PEM
    # EC P-256 key; unset, one is made on first use as <data>/keys/lists.key.pem.
    list_key_path: Path | None = None
    # How long a status list stays valid after it is issued: an offline verifier refuses
    # it past that, so a revocation reaches every verifier that goes online within it.
    status_list_seconds: int = 86_400
    # A real RFC 3161 time-stamping authority; wins over the development TSA when set.
    tsa_url: str | None = None
    tsa_timeout: float = 10
    # auto: B-LTA when revocation data and a TSA are at hand (always with the dev PKI),
    # otherwise B-T.
    seal_level: str = "auto"  # or a name in service.signing.levels.LEVELS

    @field_validator("seal_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        from service.signing.levels import LEVELS

        if value != "auto" and value not in LEVELS:
            raise ValueError(f"ZC_SEAL_LEVEL must be auto or one of {', '.join(LEVELS)}")
        return value

    # Production trust: PEM/DER certificate files (several certificates per PEM file are
    # fine) and DER/PEM CRL files, read at start-up. Env values are JSON lists.
    trust_roots: tuple[Path, ...] = ()
    trust_intermediates: tuple[Path, ...] = ()
    # GB/T 38540 seals (the OFD twin): the SM2 root certificates their seal certificates
    # chain to (PEM/DER files), beside the development SM2 root with ZC_DEV_PKI.
    sm2_trust_roots: tuple[Path, ...] = ()
    crl_files: tuple[Path, ...] = ()
    # Let pyHanko fetch CRLs/OCSP over the network (off: the operator supplies crl_files).
    revocation_fetching: bool = False
    # Bottom line of generated seals of committees (评委会) when `orgs add` gives none;
    # issuers' seals carry no bottom line unless one is given.
    seal_bottom_text: str | None = "职称评审专用章"

    def with_profile(self, profile: Profile) -> Settings:
        """These settings with what the profile decides filled in where the environment
        left it open (title, notice, number pattern) and its words in the limits."""
        limits = self.limits.model_copy(
            update={
                "vocabulary": profile.aliases(),
                "vocabulary_choices": {kind: profile.choices(kind) for kind in profile.aliases()},
            }
        )
        return self.model_copy(
            update={
                "certificate_title": self.certificate_title or profile.certificate.title,
                "unsealed_notice": self.unsealed_notice or profile.certificate.unsealed_notice,
                "number_pattern": self.number_pattern or profile.number_pattern,
                "limits": limits,
            }
        )

    @property
    def registry_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'registry.sqlite3').resolve()}"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def render_cache_dir(self) -> Path:
        return self.data_dir / "render-cache"

    @property
    def print_runs_dir(self) -> Path:
        """Print runs being written or streamed (each removed once sent)."""
        return self.data_dir / "print-runs"

    @property
    def seals_dir(self) -> Path:
        """Seal images supplied for organisations (``orgs add --seal-image``)."""
        return self.data_dir / "seals"
