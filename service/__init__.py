"""Document rendering, e-certificate sealing and verification for 职称 review."""

from pathlib import Path

# The templates, fonts and province profiles ship inside the package (``service/assets``, links to the
# top-level ``templates/``, ``fonts/`` and ``profiles/`` folders in a source checkout, copies in a wheel),
# so the service runs from any directory once installed. Resolved: the URL fetcher
# compares real paths.
ASSETS_DIR = Path(__file__).resolve().parent / "assets"
TEMPLATES_DIR = (ASSETS_DIR / "templates").resolve()
FONTS_DIR = (ASSETS_DIR / "fonts").resolve()
PROFILES_DIR = (ASSETS_DIR / "profiles").resolve()
