"""The only way WeasyPrint may read a resource while rendering.

Served: files under the allowed folders (templates, fonts) and ``data:``
URLs. Refused: every other scheme (http, https, ftp ...), files outside the
folders (``../`` and symlinks are resolved first), and redirects (nothing
here ever redirects). A refused URL is recorded and rendering goes on
without it, so nothing of it reaches the PDF.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)


class ResourceRefused(Exception):
    """A template or payload asked for a resource outside the allowed set."""


class SafeURLFetcher(URLFetcher):
    def __init__(self, allowed_roots: list[Path]):
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
        self._roots = [root.resolve() for root in allowed_roots]
        self._local = threading.local()

    # WeasyPrint calls fetch() for every stylesheet, image, font and attachment.
    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            return self._fetch_data(url)
        if scheme == "file":
            return self._fetch_file(url)
        self._refuse(url, f"scheme {scheme or '(none)'} is not allowed")

    @property
    def refused(self) -> list[str]:
        """URLs refused in this thread since the last ``reset()``."""
        return list(getattr(self._local, "refused", []))

    def reset(self) -> None:
        self._local.refused = []

    def _refuse(self, url: str, why: str):
        if not hasattr(self._local, "refused"):
            self._local.refused = []
        self._local.refused.append(url)
        log.warning("refused resource %.200s: %s", url, why)
        raise ResourceRefused(f"{why}: {url[:200]}")

    def _fetch_file(self, url: str) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            self._refuse(url, "remote file URL")
        path = Path(unquote(parts.path)).resolve()
        if not any(path.is_relative_to(root) for root in self._roots):
            self._refuse(url, "outside the template and font folders")
        if not path.is_file():
            self._refuse(url, "no such file")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), body=path.read_bytes(), headers={"Content-Type": media_type})

    def _fetch_data(self, url: str) -> URLFetcherResponse:
        header, _, payload = url[5:].partition(",")
        media_type, *params = header.split(";")
        try:
            if "base64" in params:
                body = base64.b64decode(payload, validate=False)
            else:
                body = unquote(payload).encode()
        except ValueError:
            self._refuse(url, "malformed data URL")
        return URLFetcherResponse(url, body=body, headers={"Content-Type": media_type or "text/plain"})
