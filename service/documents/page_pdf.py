"""A one-page PDF/A-3b written directly: placed lines of text, images, rules and fills in,
bytes out. For a page whose every box is fixed and whose every line is already broken
and sized (the certificate: ``service.forms.certificate_drawing``), so that nothing is
left for a layout engine to decide.

Why not WeasyPrint, as for the forms: the certificate is issued thousands of times a
season, and WeasyPrint spent about 70 ms on each (styles, layout, drawing, subsetting
the 3 MB CFF faces twice, compressing the results) for a page of fixed boxes; written
here, from the same boxes, it is a few milliseconds, and the OFD twin takes the same
font subsets.

What PDF/A-3b asks of it (ISO 19005-3): every font embedded (TrueType subsets, CIDs
the subset's glyph ids, widths and a ToUnicode map so that the text layer reads back),
an sRGB output intent, XMP metadata matching the document information, images without
interpolation, attachments with their relationship (/AF), a file identifier.

Pure and deterministic: the same page gives the same bytes (the identifier is a digest
of the file's body; no clock, no random subset tag).
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from importlib.resources import files
from xml.sax.saxutils import escape

import uharfbuzz as hb

MM = 72 / 25.4  # points per mm
# Noto Serif CJK's vertical metrics (hhea, 1/1000 em): where a line's baseline sits, as
# the forms' layout engine (Pango) puts it: half the leading above the ascent.
ASCENT, DESCENT = 1.151, 0.286
Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Line:
    """One line of text in its line box (mm from the page's top-left corner): ``align``
    left, center (after a ``indent_em`` text indent, as the letter-spaced titles have) or
    justify (the characters spread over the box's width)."""

    x: float
    top: float
    width: float
    height: float
    text: str
    size_pt: float
    bold: bool = False
    colour: Colour = (0, 0, 0)
    align: str = "left"
    tracking_em: float = 0.0
    indent_em: float = 0.0


@dataclass(frozen=True)
class Picture:
    """An image in its box: a JPEG (passed through) or a bitmap of dark (True) and light
    modules, one pixel each (a QR code)."""

    x: float
    y: float
    w: float
    h: float
    jpeg: bytes | None = None
    modules: tuple[tuple[bool, ...], ...] | None = None


@dataclass(frozen=True)
class Rule:
    """A line through ``points`` (mm), closed into an outline or not; or a filled rectangle."""

    points: tuple[tuple[float, float], ...]
    width_mm: float
    colour: Colour
    closed: bool = False
    fill: bool = False


@dataclass(frozen=True)
class Face:
    """An embedded face: its name and its TrueType bytes (a subset)."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes
    description: str
    media_type: str = "application/json"


@dataclass(frozen=True)
class Page:
    width_mm: float
    height_mm: float
    lines: tuple[Line, ...]
    pictures: tuple[Picture, ...] = ()
    rules: tuple[Rule, ...] = ()  # drawn first, under the pictures and the text
    overlays: tuple[Rule, ...] = ()  # drawn after the pictures (an outline round the photo)
    title: str = ""
    description: str | None = None
    lang: str = "zh-CN"
    created: datetime | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass
class Fonts:
    """The faces a page's text is set in: regular and bold, and the fallbacks for the
    characters they lack (each with the characters it sets)."""

    regular: Face
    bold: Face
    fallbacks: Sequence[tuple[Face, frozenset[str]]] = ()
    bold_fallbacks: Sequence[tuple[Face, frozenset[str]]] = ()

    def face_of(self, char: str, bold: bool) -> Face:
        for face, chars in self.bold_fallbacks if bold else self.fallbacks:
            if char in chars:
                return face
        return self.bold if bold else self.regular


CREATOR = "zhicheng-docs"


def write_page_pdf(page: Page, fonts: Fonts) -> bytes:
    writer = _Writer()
    content, used = _content(page, fonts, writer)
    catalog, pages, page_ref = writer.reserve(), writer.reserve(), writer.reserve()
    font_refs = {face.name: _font(writer, face, chars) for face, chars in used.items()}
    image_refs = {f"Im{i}": _image(writer, picture) for i, picture in enumerate(page.pictures, 1)}
    contents = writer.stream({}, content)
    resources = "<< /Font << {} >> /XObject << {} >> >>".format(
        " ".join(f"/{_resource_name(name)} {ref}" for name, ref in font_refs.items()),
        " ".join(f"/{name} {ref}" for name, ref in image_refs.items()),
    )
    size = f"[0 0 {_num(page.width_mm * MM)} {_num(page.height_mm * MM)}]"
    writer.put(
        page_ref,
        f"<< /Type /Page /Parent {pages} /MediaBox {size} /TrimBox {size} /Resources {resources} "
        f"/Contents {contents} >>",
    )
    writer.put(pages, f"<< /Type /Pages /Kids [{page_ref}] /Count 1 >>")
    date = _pdf_date(page.created) if page.created else None
    info = [f"/Title {_text(page.title)}", f"/Creator {_text(CREATOR)}", f"/Producer {_text(CREATOR)}"]
    if page.description:
        info.append(f"/Subject {_text(page.description)}")
    if date:
        info += [f"/CreationDate ({date})", f"/ModDate ({date})"]
    info_ref = writer.obj("<< " + " ".join(info) + " >>")
    metadata = writer.stream({"Type": "/Metadata", "Subtype": "/XML"}, _xmp(page), compress=False)
    icc = writer.stream({"N": "3"}, _srgb_profile())
    intent = (
        f"<< /Type /OutputIntent /S /GTS_PDFA1 /DestOutputProfile {icc} "
        "/OutputConditionIdentifier (IEC 61966-2-1 Default RGB Colour Space - sRGB) "
        "/Info (IEC 61966-2-1 Default RGB Colour Space - sRGB) >>"
    )
    specs = [_attachment(writer, item, date) for item in page.attachments]
    names = ""
    if specs:
        tree = " ".join(f"{_text(item.name)} {ref}" for item, ref in zip(page.attachments, specs, strict=True))
        names = f" /Names << /EmbeddedFiles << /Names [{tree}] >> >> /AF [{' '.join(specs)}]"
    writer.put(
        catalog,
        f"<< /Type /Catalog /Pages {pages} /Lang {_text(page.lang)} /Metadata {metadata} "
        f"/OutputIntents [{intent}]{names} >>",
    )
    return writer.finish(catalog, info_ref)


# --- the page's content ----------------------------------------------------------------


def _content(page: Page, fonts: Fonts, writer: _Writer) -> tuple[bytes, dict[Face, set[str]]]:
    height = page.height_mm * MM
    ops: list[str] = []
    for rule in page.rules:
        ops.append(_rule_ops(rule, height))
    for index, picture in enumerate(page.pictures, 1):
        w, h = picture.w * MM, picture.h * MM
        x, y = picture.x * MM, height - (picture.y + picture.h) * MM
        ops.append(f"q {_num(w)} 0 0 {_num(h)} {_num(x)} {_num(y)} cm /Im{index} Do Q")
    for rule in page.overlays:
        ops.append(_rule_ops(rule, height))
    used: dict[Face, set[str]] = {}
    for line in page.lines:
        if line.text:
            ops.append(_line_ops(line, fonts, height, used))
    return "\n".join(ops).encode("latin-1"), used


def _rule_ops(rule: Rule, height: float) -> str:
    r, g, b = (c / 255 for c in rule.colour)
    (x0, y0), *rest = rule.points
    path = f"{_num(x0 * MM)} {_num(height - y0 * MM)} m " + " ".join(
        f"{_num(x * MM)} {_num(height - y * MM)} l" for x, y in rest
    )
    if rule.fill:
        return f"q {_num(r)} {_num(g)} {_num(b)} rg {path} h f Q"
    close = " h" if rule.closed else ""
    return f"q {_num(r)} {_num(g)} {_num(b)} RG {_num(rule.width_mm * MM)} w 0 J 0 j {path}{close} S Q"


def _line_ops(line: Line, fonts: Fonts, height: float, used: dict[Face, set[str]]) -> str:
    size = line.size_pt
    faces = [fonts.face_of(char, line.bold) for char in line.text]
    advances = [_metrics(face.data).advance(char) * size for face, char in zip(faces, line.text, strict=True)]
    width = line.width * MM
    extra = line.tracking_em * size
    count = len(line.text)
    if line.align == "justify" and count > 1:
        start, extra = 0.0, (width - sum(advances)) / (count - 1)
    else:
        total = sum(advances) + extra * count
        indent = line.indent_em * size
        start = (width - total - indent) / 2 + indent if line.align == "center" else indent
    line_box = line.height * MM
    baseline = (line_box - (ASCENT + DESCENT) * size) / 2 + ASCENT * size
    y = height - line.top * MM - baseline
    r, g, b = (c / 255 for c in line.colour)
    ops = [f"BT {_num(r)} {_num(g)} {_num(b)} rg"]
    x = line.x * MM + start
    index = 0
    while index < count:  # one run per face, each started where the whole line puts it
        face, run_x = faces[index], x
        run = []
        while index < count and faces[index] is face:
            run.append(line.text[index])
            x += advances[index] + extra
            index += 1
        used.setdefault(face, set()).update(run)
        metrics = _metrics(face.data)
        glyphs = "".join(f"{metrics.glyph(char):04x}" for char in run)
        ops.append(
            f"/{_resource_name(face.name)} {_num(size)} Tf {_num(extra)} Tc "
            f"1 0 0 1 {_num(run_x)} {_num(y)} Tm <{glyphs}> Tj"
        )
    ops.append("ET")
    return " ".join(ops)


class _Metrics:
    """A subset's glyph ids and advances (em), read with HarfBuzz."""

    def __init__(self, data: bytes):
        face = hb.Face(data)
        self._font = hb.Font(face)
        self._upem = face.upem
        self.bbox = (0, -round(DESCENT * 1000), 1000, round(ASCENT * 1000))

    def glyph(self, char: str) -> int:
        return self._font.get_nominal_glyph(ord(char)) or 0

    def advance(self, char: str) -> float:
        return self.advance_of(self.glyph(char))

    def advance_of(self, gid: int) -> float:
        return self._font.get_glyph_h_advance(gid) / self._upem


@lru_cache(maxsize=64)
def _metrics(data: bytes) -> _Metrics:
    return _Metrics(data)


# --- objects ------------------------------------------------------------------------------


def _font(writer: _Writer, face: Face, chars: set[str]) -> str:
    metrics = _metrics(face.data)
    name = _resource_name(face.name)
    base = f"{_subset_tag(face.data)}+{name}"
    # One entry per glyph: two characters drawn with one glyph (a compatibility ideograph and
    # its unified form) read back as the first of them.
    by_glyph: dict[int, str] = {}
    for char in sorted(chars):
        by_glyph.setdefault(metrics.glyph(char), char)
    glyphs = sorted(by_glyph.items())
    widths = " ".join(f"{gid} [{round(metrics.advance_of(gid) * 1000)}]" for gid, _ in glyphs)
    file_ref = writer.stream({"Length1": str(len(face.data))}, face.data)
    left, bottom, right, top = metrics.bbox
    descriptor = writer.obj(
        f"<< /Type /FontDescriptor /FontName /{base} /Flags 6 /FontBBox [{left} {bottom} {right} {top}] "
        f"/ItalicAngle 0 /Ascent {top} /Descent {bottom} /CapHeight {top} /StemV 80 /FontFile2 {file_ref} >>"
    )
    cid_font = writer.obj(
        f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{base} "
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
        f"/FontDescriptor {descriptor} /CIDToGIDMap /Identity /DW 1000 /W [{widths}] >>"
    )
    to_unicode = writer.stream({}, _to_unicode(glyphs))
    return writer.obj(
        f"<< /Type /Font /Subtype /Type0 /BaseFont /{base} /Encoding /Identity-H "
        f"/DescendantFonts [{cid_font}] /ToUnicode {to_unicode} >>"
    )


def _to_unicode(glyphs: list[tuple[int, str]]) -> bytes:
    entries = "\n".join(f"<{gid:04x}> <{char.encode('utf-16-be').hex()}>" for gid, char in glyphs)
    return (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        "1 begincodespacerange <0000> <ffff> endcodespacerange\n"
        f"{len(glyphs)} beginbfchar\n{entries}\nendbfchar\n"
        "endcmap CMapName currentdict /CMap defineresource pop end end\n"
    ).encode()


def _image(writer: _Writer, picture: Picture) -> str:
    common = {"Type": "/XObject", "Subtype": "/Image", "Interpolate": "false"}
    if picture.jpeg is not None:
        from PIL import Image

        with Image.open(io.BytesIO(picture.jpeg)) as image:  # the header alone: size and mode
            width, height, mode = image.width, image.height, image.mode
        space = {"L": "/DeviceGray", "RGB": "/DeviceRGB", "CMYK": "/DeviceCMYK"}[mode]
        extra = {"Width": str(width), "Height": str(height), "ColorSpace": space, "BitsPerComponent": "8"}
        return writer.stream({**common, **extra, "Filter": "/DCTDecode"}, picture.jpeg, compress=False)
    assert picture.modules is not None
    rows = picture.modules
    packed = b"".join(_pack_row(row) for row in rows)
    extra = {
        "Width": str(len(rows[0])),
        "Height": str(len(rows)),
        "ColorSpace": "/DeviceGray",
        "BitsPerComponent": "1",
    }
    return writer.stream({**common, **extra}, packed)


def _pack_row(row: tuple[bool, ...]) -> bytes:
    bits = "".join("0" if dark else "1" for dark in row)  # DeviceGray: 0 black, 1 white
    bits += "1" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def _attachment(writer: _Writer, item: Attachment, date: str | None) -> str:
    dates = f" /CreationDate ({date}) /ModDate ({date})" if date else ""
    params = f"<< /CheckSum <{hashlib.md5(item.data).hexdigest()}> /Size {len(item.data)}{dates} >>"
    subtype = "/" + item.media_type.replace("/", "#2f")
    embedded = writer.stream({"Type": "/EmbeddedFile", "Subtype": subtype, "Params": params}, item.data)
    return writer.obj(
        f"<< /Type /Filespec /F {_text(item.name)} /UF {_text(item.name)} /Desc {_text(item.description)} "
        f"/AFRelationship /Source /EF << /F {embedded} >> >>"
    )


def _xmp(page: Page) -> bytes:
    created = page.created.isoformat() if page.created else None
    dates = (
        f'<rdf:Description rdf:about=""><xmp:CreateDate>{created}</xmp:CreateDate>'
        f"<xmp:ModifyDate>{created}</xmp:ModifyDate></rdf:Description>"
        if created
        else ""
    )
    description = (
        '<rdf:Description rdf:about=""><dc:description><rdf:Alt><rdf:li xml:lang="x-default">'
        f"{escape(page.description)}</rdf:li></rdf:Alt></dc:description></rdf:Description>"
        if page.description
        else ""
    )
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
        '<rdf:Description rdf:about="" pdfaid:part="3" pdfaid:conformance="B"/>'
        f'<rdf:Description rdf:about="" pdf:Producer="{CREATOR}"/>'
        '<rdf:Description rdf:about=""><dc:title><rdf:Alt><rdf:li xml:lang="x-default">'
        f"{escape(page.title)}</rdf:li></rdf:Alt></dc:title></rdf:Description>{description}"
        f'<rdf:Description rdf:about=""><xmp:CreatorTool>{CREATOR}</xmp:CreatorTool></rdf:Description>{dates}'
        '</rdf:RDF></x:xmpmeta>\n<?xpacket end="r"?>'
    ).encode()


@lru_cache(maxsize=1)
def _srgb_profile() -> bytes:
    # The sRGB profile the forms' PDF/A output intent carries (WeasyPrint's own copy).
    return (files("weasyprint.pdf") / "sRGB2014.icc").read_bytes()


# --- the file -----------------------------------------------------------------------------


@dataclass
class _Writer:
    """Numbered objects, written in order; the cross-reference table and a trailer whose
    /ID is a digest of everything before it."""

    bodies: dict[int, bytes] = field(default_factory=dict)
    count: int = 0

    def reserve(self) -> str:
        self.count += 1
        return f"{self.count} 0 R"

    def put(self, ref: str, body: str | bytes) -> None:
        self.bodies[int(ref.split()[0])] = body.encode("latin-1") if isinstance(body, str) else body

    def obj(self, body: str | bytes) -> str:
        ref = self.reserve()
        self.put(ref, body)
        return ref

    def stream(self, entries: dict[str, str], data: bytes, compress: bool = True) -> str:
        if compress:
            data = zlib.compress(data, 6)
            entries = {**entries, "Filter": "/FlateDecode"}
        head = " ".join(f"/{key} {value}" for key, value in entries.items())
        return self.obj(
            b"<< " + head.encode("latin-1") + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"
        )

    def finish(self, root: str, info: str) -> bytes:
        out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number in range(1, self.count + 1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % number + self.bodies[number] + b"\nendobj\n"
        start = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (self.count + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        digest = hashlib.md5(bytes(out)).hexdigest()
        out += (
            f"trailer\n<< /Size {self.count + 1} /Root {root} /Info {info} /ID [<{digest}> <{digest}>] >>\n"
            f"startxref\n{start}\n%%EOF\n"
        ).encode()
        return bytes(out)


def _num(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _text(value: str) -> str:
    """A PDF text string: UTF-16BE with its byte order mark, in hex."""
    return "<feff" + value.encode("utf-16-be").hex() + ">"


def _pdf_date(moment: datetime) -> str:
    offset = moment.strftime("%z") or "+0000"
    return moment.strftime("D:%Y%m%d%H%M%S") + f"{offset[:3]}'{offset[3:]}'"


def _resource_name(name: str) -> str:
    return "".join(char if char.isalnum() or char in "-_" else "-" for char in name)


def _subset_tag(data: bytes) -> str:
    """Six capitals from the subset's digest: the same subset, the same tag."""
    digest = hashlib.sha256(data).digest()
    return "".join(chr(ord("A") + byte % 26) for byte in digest[:6])
