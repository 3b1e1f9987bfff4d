"""HTML (Jinja2) and PDF (WeasyPrint) rendering.

``Renderer`` holds what is expensive to build and safe to reuse: the Jinja2
environment, the isolated font configuration and the URL fetcher. It is
built by the application at start-up (never at import) and its two calls are
pure: the same template, data and options give the same bytes.
"""

from __future__ import annotations

import gc
import re
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from service.documents import drawn_lines, filters
from service.documents.fetcher import SafeURLFetcher
from service.documents.fonts import MAIN_FACE, isolate_fontconfig
from service.documents.synthetic_bold import embolden_synthetic_faces
from service.documents.tabular import advances_for


@dataclass(frozen=True)
class SourceAttachment:
    """A machine-readable copy of the input, embedded in the PDF/A-3 file."""

    name: str
    data: bytes
    description: str = "申报数据（机读）"
    media_type: str = "application/json"


@dataclass(frozen=True)
class PdfOptions:
    # Dates written into the attachment's file specification. They come from
    # the payload so that output never depends on the clock.
    date: datetime
    attachments: tuple[SourceAttachment, ...] = field(default_factory=tuple)
    pdf_variant: str | None = "pdf/a-3b"


class TooManyPages(ValueError):
    """A document longer than the renderer's page budget (checked after layout, before
    the far costlier writing of the PDF)."""

    def __init__(self, pages: int, limit: int):
        super().__init__(f"{pages} pages, more than the limit of {limit}")
        self.pages = pages
        self.limit = limit

    def __reduce__(self):
        return (TooManyPages, (self.pages, self.limit))


class Renderer:
    def __init__(
        self, templates_dir: Path, fonts_dir: Path, *, isolate_fonts: bool = True, max_pages: int | None = None
    ):
        self.templates_dir = templates_dir.resolve()
        self.fonts_dir = fonts_dir.resolve()
        self.max_pages = max_pages
        # Only the benchmark's baseline turns isolation off, to measure
        # WeasyPrint's default font setup against the shipped fonts.
        if isolate_fonts:
            isolate_fontconfig(self.fonts_dir)
        self.env = filters.make_environment(self.templates_dir)
        self.fetcher = SafeURLFetcher([self.templates_dir, self.fonts_dir])
        self._font_config = None
        self._stylesheets: dict[tuple[Path, int], object] = {}
        self._written = 0
        # Pango's font map and WeasyPrint's font cache are not thread-safe.
        self._lock = threading.Lock()

    def render_html(self, template: str, context: Mapping) -> str:
        return self.env.get_template(template).render(**context)

    def html_to_pdf(self, html: str, *, template: str, options: PdfOptions) -> bytes:
        """Lay out ``html`` (whose relative URLs resolve in ``template``'s folder) as PDF bytes."""
        with self._lock:
            return self._write(self._layout(html, template), options)

    def render_pdf(self, template: str, context: Mapping, options: PdfOptions) -> bytes:
        return self.html_to_pdf(self.render_html(template, context), template=template, options=options)

    def render_fitting(self, template: str, contexts, max_pages: int, options: PdfOptions) -> tuple[bytes, int]:
        """Render the first of ``contexts`` whose layout has at most ``max_pages`` pages.

        For documents that must fit (a one-page summary): each context shows
        less than the one before. Returns the PDF and the index of the context
        used; the last context is used whatever its length."""
        contexts = list(contexts)
        with self._lock:
            for index, context in enumerate(contexts):
                document = self._layout(self.render_html(template, context), template)
                if len(document.pages) <= max_pages or index == len(contexts) - 1:
                    return self._write(document, options), index
        raise ValueError("no context given")

    def render_filling(self, template: str, context_for: Callable[[float], Mapping], options: PdfOptions) -> bytes:
        """A one-page form whose writing boxes take the room its page leaves (a blank form,
        written on by hand): laid out with ``context_for(0)``, then again with that room, in
        mm, given to ``context_for``; the first layout when the second is no longer one page."""
        with self._lock:
            document = self._layout(self.render_html(template, context_for(0.0)), template)
            room = free_room_mm(document)
            if room > FILL_SLACK_MM:
                grown = self._layout(self.render_html(template, context_for(room - FILL_SLACK_MM)), template)
                if len(grown.pages) == 1:
                    document = grown
            return self._write(document, options)

    def _layout(self, html: str, template: str):
        from weasyprint import HTML  # heavy import, kept off the import path

        base_dir = self.templates_dir / PurePosixPath(template).parent
        self.fetcher.reset()
        html, sheets = self._own_stylesheets(html, base_dir)
        document = HTML(string=html, base_url=base_dir.as_uri() + "/", url_fetcher=self.fetcher)
        laid_out = document.render(font_config=self._fonts(), stylesheets=sheets)
        for page in laid_out.pages:
            close_cut_tables(page._page_box)
        if self.max_pages is not None and len(laid_out.pages) > self.max_pages:
            raise TooManyPages(len(laid_out.pages), self.max_pages)
        if drawn_lines.MARK in html:
            drawn_lines.draw_placed_lines(laid_out, advances_for(self.fonts_dir / MAIN_FACE))
        return laid_out

    def _write(self, document, options: PdfOptions) -> bytes:
        from weasyprint import Attachment

        if len(document.pages) == 1:
            _drop_page_numbers(document.pages[0])

        attachments = [
            Attachment(
                string=item.data,
                name=item.name,
                description=item.description,
                created=options.date,
                modified=options.date,
                relationship="Source",
                url_fetcher=self.fetcher,
            )
            for item in options.attachments
        ]
        pdf = document.write_pdf(
            pdf_variant=options.pdf_variant,
            attachments=attachments or None,
            uncompressed_pdf=False,
            finisher=_finish,
        )
        self._written += 1
        if len(document.pages) > LARGE_DOCUMENT_PAGES or self._written % COLLECT_EVERY == 0:
            # Laying out leaves cyclic garbage (boxes point to their parents) that
            # the tuned collector (service.runtime) reaches late: a long list leaves
            # hundreds of MB, and a thousand certificates grew the process by 100 MB.
            # A full collection now and then keeps memory flat for ~2 ms a document.
            del document
            gc.collect()
        return pdf

    def _own_stylesheets(self, html: str, base_dir: Path) -> tuple[str, list]:
        """``html`` without the links to the templates' stylesheets, and those stylesheets,
        parsed once and kept (parsing them again for every document took a fifth of a small
        form's time), in the order the links name them."""
        sheets = []

        def parsed_once(link: re.Match) -> str:
            path = (base_dir / link.group(1)).resolve()
            if not (path.is_relative_to(self.templates_dir) and path.is_file()):
                return link.group(0)  # not one of ours: left to WeasyPrint and the fetcher's refusal
            sheets.append(self._stylesheet(path))
            return ""

        return _STYLESHEET_LINK.sub(parsed_once, html), sheets

    def _stylesheet(self, path: Path):
        """A template stylesheet, parsed on first use (again if the file changed)."""
        from weasyprint import CSS

        key = (path, path.stat().st_mtime_ns)
        sheet = self._stylesheets.get(key)
        if sheet is None:
            # fetched through the fetcher: a stylesheet outside the template folders is refused
            sheet = self._stylesheets[key] = CSS(url=path.as_uri(), url_fetcher=self.fetcher, font_config=self._fonts())
        return sheet

    def _fonts(self):
        from weasyprint.text.fonts import FontConfiguration

        if self._font_config is None:
            self._font_config = FontConfiguration()
        return self._font_config


# How the templates link their stylesheets (exactly so: they are the project's own).
# How the templates link their stylesheets (exactly so: they are the project's own), by a
# relative path without a scheme.
_STYLESHEET_LINK = re.compile(r'<link rel="stylesheet" href="((?![a-zA-Z][\w+.-]*:|/)[^"<>]+\.css)">')
LARGE_DOCUMENT_PAGES = 20
FILL_SLACK_MM = 1.0  # what a filled page keeps free, against rounding
CSS_PX_MM = 25.4 / 96


def free_room_mm(document) -> float:
    """How much of a one-page document's page is left below its content, in mm (0 for more pages)."""
    if len(document.pages) != 1:
        return 0.0
    page = document.pages[0]._page_box
    root = page.children[0]
    content_end = root.position_y + root.margin_height()
    page_end = page.content_box_y() + page.height
    return max(0.0, (page_end - content_end) * CSS_PX_MM)


COLLECT_EVERY = 20


def close_cut_tables(page_box) -> None:
    """End each table of a page at its last row.

    When what follows a table must stay with its last rows (the publicity table's closing
    block, ``break-before: avoid``), WeasyPrint moves those rows to the next page after the
    table was laid out, and leaves the table as tall as it was (its own TODO, "fix table
    height", in ``find_earlier_page_break``): the table's background, which draws the long
    lists' column rules, then ran down to the page foot as an empty, open-bottomed row.
    A table is cut back to its rows; one laid out whole is left as it is."""
    from weasyprint.formatting_structure.boxes import LineBox, TableBox

    stack = [page_box]
    while stack:
        box = stack.pop()
        for child in getattr(box, "children", ()):
            if isinstance(child, TableBox):
                _end_at_last_row(child)
            elif not isinstance(child, LineBox):
                stack.append(child)


def _end_at_last_row(table) -> None:
    groups = [group for group in table.children if group.height != "auto"]
    if not groups or table.style["height"] != "auto" or table.height == "auto":
        return
    spacing = 0 if table.style["border_collapse"] == "collapse" else table.style["border_spacing"][1]
    rows_end = max(group.position_y + group.height for group in groups) + spacing
    cut = table.height - (rows_end - table.content_box_y())
    if cut <= 0.01:
        return
    table.height -= cut
    if table.background is not None:  # placed with the box's first height: cut it as well
        table.background = table.background._replace(
            layers=[
                layer._replace(
                    painting_area=_shorter(layer.painting_area, cut),
                    clipped_boxes=[_shorter(clip, cut) for clip in layer.clipped_boxes],
                )
                for layer in table.background.layers
            ]
        )


def _shorter(rectangle, cut: float):
    x, y, width, height, *rest = rectangle
    return (x, y, width, max(0.0, height - cut), *rest)


def _drop_page_numbers(page) -> None:
    """第 N 页 共 M 页 is for documents of more than one page (DOMAIN.md): on a
    one-page document, leave out the page-number margin box (laid out, not yet drawn)."""
    from weasyprint.formatting_structure.boxes import MarginBox

    box = page._page_box  # WeasyPrint keeps the laid-out page here until it is drawn
    box.children = [
        child for child in box.children if not (isinstance(child, MarginBox) and child.at_keyword == "@bottom-center")
    ]


def _finish(document, pdf) -> None:
    embolden_synthetic_faces(document, pdf)
    _dedupe_associated_files(document, pdf)
    _deflate_streams(pdf)


# pydyf deflates every stream at zlib's level 9: on the six-page review form that was 30 ms
# of a 280 ms render. Level 6 takes a fifth of that for 0.3 % more bytes.
DEFLATE_LEVEL = 6


def _deflate_streams(pdf) -> None:
    """Deflate the document's streams now, at ``DEFLATE_LEVEL``, and leave them marked as
    already compressed (pydyf's writer then copies them as they are)."""
    import pydyf

    for obj in pdf.objects:
        if isinstance(obj, pydyf.Stream) and obj.compress:
            raw = b"\n".join(pydyf._to_bytes(item) for item in obj.stream)  # pydyf's own join
            obj.stream = [zlib.compress(raw, DEFLATE_LEVEL)]
            obj.extra["Filter"] = "/FlateDecode"
            obj.compress = False


def _dedupe_associated_files(document, pdf) -> None:
    # WeasyPrint's PDF/A-3 step lists each attachment twice in the catalog's
    # /AF array (once from the name tree, once from the file specification).
    import pydyf

    associated = pdf.catalog.get("AF")
    if associated:
        pdf.catalog["AF"] = pydyf.Array(dict.fromkeys(associated))
