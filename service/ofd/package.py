"""The certificate as an OFD package (GB/T 33190-2016): the same page as the PDF, from the
same fixed boxes (``service.documents.certificate_layout``) and the same fitted sizes and
lines (``service.forms.certificate.place``), so the two formats cannot drift apart.

Pure: placed texts, images and font bytes in, a dict of package files out. OFD's unit is
the millimetre, its origin the page's top-left corner, like the layout's boxes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from service.documents.certificate_layout import PAGE_MM, Box
from service.documents.font_subset import Fallback

OFD_NS = "http://www.ofdspec.org/2016"
PT_MM = 25.4 / 72
LINE_HEIGHT = 1.25  # as the PDF's stylesheet: each line 1.25 × the font size
# GB/T 36903 (电子证照 元数据): the names of the CustomData the metadata goes in
METADATA_NAMES = {"identifier": "电子证照标识", "number": "证照编号", "holder": "持证主体", "issuer": "证照颁发机构"}
_ZIP_DATE = (2000, 1, 1, 0, 0, 0)
# A character's advance in em, in the regular and in the bold face.
Widths = tuple[Callable[[str], float], Callable[[str], float]]


@dataclass(frozen=True)
class Text:
    box: Box
    lines: tuple[str, ...]
    size_pt: float
    valign: str = "middle"  # middle | top | bottom
    bold: bool = False
    colour: str = "0 0 0"
    align: str = "left"  # left | center | justify (a label spread over its box, as the PDF's)
    tracking_em: float = 0.0  # letter-spacing (the title's)


@dataclass(frozen=True)
class Image:
    box: Box
    data: bytes
    format: str  # JPEG | PNG


@dataclass(frozen=True)
class Stroke:
    """A line drawn through ``points`` (mm from the page's top-left), closed into a
    rectangle's outline or not: the frame and the rules the PDF's borders draw."""

    points: tuple[tuple[float, float], ...]
    width_mm: float
    colour: str
    closed: bool = False


@dataclass(frozen=True)
class PageContent:
    texts: tuple[Text, ...]
    images: tuple[Image, ...]
    title: str
    doc_id: str
    created: str  # YYYY-MM-DD
    metadata: Mapping[str, str]  # by METADATA_NAMES key
    strokes: tuple[Stroke, ...] = ()  # drawn first, under the images and the text


def package_files(
    page: PageContent, font: bytes, bold_font: bytes, widths: Widths, fallbacks: tuple[Fallback, ...] = ()
) -> dict[str, bytes]:
    """Every file of the unsigned package, by its path inside the zip. ``widths``: each
    character's advance in em, regular and bold (where the glyphs go: DeltaX);
    ``fallbacks``: the faces of the characters the Noto faces lack."""
    ids = iter(range(1, 10_000))
    font_id, bold_id = next(ids), next(ids)
    fallback_ids = [next(ids) for _ in fallbacks]
    faces = tuple(zip(fallback_ids, fallbacks, strict=True))
    media = [(next(ids), image) for image in page.images]
    page_id = next(ids)
    objects = [_path_object(stroke, next(ids)) for stroke in page.strokes]
    for media_id, image in media:
        box = image.box
        objects.append(
            f'<ofd:ImageObject ID="{next(ids)}" Boundary="{_box(box)}" CTM="{box.w:g} 0 0 {box.h:g} 0 0" '
            f'ResourceID="{media_id}"/>'
        )
    for text in page.texts:
        objects.extend(_text_objects(text, bold_id if text.bold else font_id, ids, widths, faces))
    max_id = next(ids)
    files = {
        "OFD.xml": _ofd_xml(page),
        "Doc_0/Document.xml": _xml(
            "Document",
            f"<ofd:CommonData><ofd:MaxUnitID>{max_id}</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>"
            f"0 0 {PAGE_MM[0]:g} {PAGE_MM[1]:g}</ofd:PhysicalBox></ofd:PageArea>"
            "<ofd:PublicRes>PublicRes.xml</ofd:PublicRes><ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes>"
            f'</ofd:CommonData><ofd:Pages><ofd:Page ID="{page_id}" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>',
        ),
        "Doc_0/PublicRes.xml": _xml(
            "Res",
            "<ofd:Fonts>"
            f'<ofd:Font ID="{font_id}" FontName="Noto Serif SC" FamilyName="Noto Serif SC">'
            "<ofd:FontFile>font_regular.ttf</ofd:FontFile></ofd:Font>"
            f'<ofd:Font ID="{bold_id}" FontName="Noto Serif SC Bold" FamilyName="Noto Serif SC" Bold="true">'
            "<ofd:FontFile>font_bold.ttf</ofd:FontFile></ofd:Font>"
            + "".join(
                f'<ofd:Font ID="{face_id}" FontName={quoteattr(face.name)} FamilyName={quoteattr(face.name)}>'
                f"<ofd:FontFile>font_{face_id}.ttf</ofd:FontFile></ofd:Font>"
                for face_id, face in faces
            )
            + "</ofd:Fonts>",
            'BaseLoc="Res"',
        ),
        "Doc_0/DocumentRes.xml": _xml(
            "Res",
            "<ofd:MultiMedias>"
            + "".join(
                f'<ofd:MultiMedia ID="{media_id}" Type="Image" Format="{image.format}">'
                f"<ofd:MediaFile>image_{media_id}.{image.format.lower()}</ofd:MediaFile></ofd:MultiMedia>"
                for media_id, image in media
            )
            + "</ofd:MultiMedias>",
            'BaseLoc="Res"',
        ),
        "Doc_0/Pages/Page_0/Content.xml": _xml(
            "Page",
            f'<ofd:Content><ofd:Layer ID="{max_id}" Type="Body">{"".join(objects)}</ofd:Layer></ofd:Content>',
        ),
        "Doc_0/Res/font_regular.ttf": font,
        "Doc_0/Res/font_bold.ttf": bold_font,
    }
    for face_id, face in faces:
        files[f"Doc_0/Res/font_{face_id}.ttf"] = face.data
    for media_id, image in media:
        files[f"Doc_0/Res/image_{media_id}.{image.format.lower()}"] = image.data
    return files


def zip_package(files: Mapping[str, bytes]) -> bytes:
    """The zip of ``files``: sorted, fixed timestamps, fixed attributes: the same files
    give the same bytes. Fonts and images are already compressed: stored, not deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            stored = name.endswith((".ttf", ".otf", ".jpeg", ".jpg", ".png", ".dat", ".esl"))
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return out.getvalue()


def text_of(page: PageContent) -> str:
    """Every character the page prints (what the embedded fonts are subset to)."""
    return "".join(sorted({char for text in page.texts for line in text.lines for char in line}))


def _text_objects(
    text: Text, font_id: int, ids: Iterable[int], widths: Widths, faces: tuple[tuple[int, Fallback], ...] = ()
) -> list[str]:
    """One TextObject per line and face, each glyph placed: a reader that does not measure
    the font (or finds none it can use) still sets the characters where the PDF sets them.
    A line with a rare character is cut into runs, one per face, each starting where the
    whole line puts its first character."""
    ids = iter(ids)
    main = widths[1] if text.bold else widths[0]
    rare = {char: face_id for face_id, face in faces for char in face.chars}

    def advance(char: str) -> float:
        return 1.0 if char in rare else main(char)

    size_mm = text.size_pt * PT_MM
    line_mm = LINE_HEIGHT * size_mm
    room = text.box.h - len(text.lines) * line_mm
    top = {"top": 0.0, "bottom": room}.get(text.valign, room / 2)
    objects = []
    for index, line in enumerate(text.lines):
        if not line:
            continue
        y = text.box.y + top + index * line_mm
        boundary = Box(text.box.x, y, text.box.w, line_mm)
        # the baseline about 0.88 em below the line's top inside a 1.25 em line (Noto's ascent)
        baseline = (line_mm - size_mm) / 2 + 0.88 * size_mm
        x, deltas = _placed(line, text, size_mm, advance)
        starts = [x]
        for step in deltas:
            starts.append(starts[-1] + step)
        for first, run in _runs(line, lambda char: rare.get(char, font_id)):
            run_face = rare.get(run[0], font_id)
            steps = deltas[first : first + len(run) - 1]
            delta = f' DeltaX="{" ".join(f"{d:.3f}" for d in steps)}"' if steps else ""
            objects.append(
                f'<ofd:TextObject ID="{next(ids)}" Boundary="{_box(boundary)}" Font="{run_face}" '
                f'Size="{size_mm:.3f}"><ofd:FillColor Value="{text.colour}"/>'
                f'<ofd:TextCode X="{starts[first]:.3f}" Y="{baseline:.3f}"{delta}>{escape(run)}</ofd:TextCode>'
                "</ofd:TextObject>"
            )
    return objects


def _path_object(stroke: Stroke, object_id: int) -> str:
    (x0, y0), *rest = stroke.points
    path = f"M {x0:.3f} {y0:.3f} " + " ".join(f"L {x:.3f} {y:.3f}" for x, y in rest) + (" C" if stroke.closed else "")
    return (
        f'<ofd:PathObject ID="{object_id}" Boundary="0 0 {PAGE_MM[0]:g} {PAGE_MM[1]:g}" '
        f'LineWidth="{stroke.width_mm:.3f}" Stroke="true" Fill="false">'
        f'<ofd:StrokeColor Value="{stroke.colour}"/><ofd:AbbreviatedData>{path}</ofd:AbbreviatedData></ofd:PathObject>'
    )


def _runs(line: str, face_of: Callable[[str], int]) -> list[tuple[int, str]]:
    """The line cut where the face changes: (index of the run's first character, the run)."""
    runs: list[tuple[int, str]] = []
    for index, char in enumerate(line):
        if runs and face_of(runs[-1][1][0]) == face_of(char):
            runs[-1] = (runs[-1][0], runs[-1][1] + char)
        else:
            runs.append((index, char))
    return runs


def _placed(line: str, text: Text, size_mm: float, advance: Callable[[str], float]) -> tuple[float, list[float]]:
    """Where a line's first glyph goes (mm from the box's left) and the step to each next one."""
    steps = [(advance(char) + text.tracking_em) * size_mm for char in line]
    if text.align == "justify" and len(line) > 1:
        gap = (text.box.w - sum(advance(char) * size_mm for char in line)) / (len(line) - 1)
        return 0.0, [advance(char) * size_mm + gap for char in line[:-1]]
    # letter-spacing follows every character, the last too (as the PDF's, which then centres)
    width = sum(steps)
    x = max(0.0, (text.box.w - width) / 2) if text.align == "center" else 0.0
    return x, steps[:-1]


def _ofd_xml(page: PageContent) -> bytes:
    custom = "".join(
        f"<ofd:CustomData Name={quoteattr(METADATA_NAMES[key])}>{escape(value)}</ofd:CustomData>"
        for key, value in page.metadata.items()
    )
    body = (
        "<ofd:DocBody><ofd:DocInfo>"
        f"<ofd:DocID>{escape(page.doc_id)}</ofd:DocID><ofd:Title>{escape(page.title)}</ofd:Title>"
        f"<ofd:CreationDate>{page.created}</ofd:CreationDate><ofd:CustomDatas>{custom}</ofd:CustomDatas>"
        "</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>"
        "<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody>"
    )
    return _xml("OFD", body, 'Version="1.0" DocType="OFD"')


def _xml(root: str, body: str, attributes: str = "") -> bytes:
    attrs = f" {attributes}" if attributes else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:{root} xmlns:ofd="{OFD_NS}"{attrs}>{body}</ofd:{root}>'.encode()
    )


def _box(box: Box) -> str:
    return f"{box.x:.3f} {box.y:.3f} {box.w:.3f} {box.h:.3f}"
