"""The web pages (证书查验 for the public, batch jobs for staff): Jinja2 with autoescape,
and their static files, built once at start-up."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from service.documents.filters import make_environment

_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@dataclass(frozen=True)
class StaticFile:
    data: bytes
    etag: str
    media_type: str


class Pages:
    def __init__(self, templates_dir: Path, unsealed_notice: str = ""):
        self.root = templates_dir / "pages"
        # Read once, as the static files below are: the pages change with a release, and a
        # file's time looked up on every scan was a tenth of the uncached scan page's time.
        self.env = make_environment(self.root, auto_reload=False)
        # What an unsealed certificate says of itself (Settings.unsealed_notice): its page says the same.
        self.env.globals["unsealed_notice"] = unsealed_notice
        self.static: dict[str, StaticFile] = {}
        for path in sorted((self.root / "static").iterdir()):
            if path.suffix in _TYPES:
                data = path.read_bytes()
                etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
                self.static[path.name] = StaticFile(data, etag, _TYPES[path.suffix])

    def render(self, template: str, **context) -> str:
        return self.env.get_template(template).render(**context)
