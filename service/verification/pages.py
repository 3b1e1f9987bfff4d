"""The public web pages (证书查验): Jinja2 with autoescape, built once at start-up."""

from __future__ import annotations

import hashlib
from pathlib import Path

from service.documents.filters import make_environment


class Pages:
    def __init__(self, templates_dir: Path, unsealed_notice: str = ""):
        self.root = templates_dir / "pages"
        self.env = make_environment(self.root)
        # What an unsealed certificate says of itself (Settings.unsealed_notice): its page says the same.
        self.env.globals["unsealed_notice"] = unsealed_notice
        css = (self.root / "static" / "verify.css").read_bytes()
        self.stylesheet = css
        self.stylesheet_etag = '"' + hashlib.sha256(css).hexdigest()[:32] + '"'

    def render(self, template: str, **context) -> str:
        return self.env.get_template(template).render(**context)
