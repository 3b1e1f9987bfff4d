"""What page 1 of an upload costs to draw, charged before pdfium is asked for its text.

:mod:`.inflation` charges each stream once. A reader that lays out a page reads a stream
once *per use*: ``/Contents [4 0 R 4 0 R ...]`` reads stream 4 each time, and a form
XObject is parsed again each time a content stream paints it (``/F Do``), its own forms
in turn. And parsing costs more memory than the bytes: pdfium keeps an object per text
run or path, tens of times the content's size. So the content page 1 makes pdfium parse
is added up here, each use of a stream counted, from pyHanko's reading of the file (its
streams already known to be bounded), and refused past ``max_drawn``; the re-reads are
charged to the upload's :class:`~service.verification.inflation.Meter` too.

The ``Do`` operators are found by a pattern, not a content parser: a ``/Name Do`` inside a
string or inline image is counted as if it were drawn, which only overcounts.
"""

from __future__ import annotations

import re
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from service.verification.inflation import Meter, refuse

_DO = re.compile(rb"/([^\x00\t\n\x0c\r ()<>\[\]{}/%]+)[\x00\t\n\x0c\r ]*Do(?![^\x00\t\n\x0c\r ()<>\[\]{}/%])")
MAX_FORM_DEPTH = 32
MAX_PAGE_TREE_DEPTH = 64
# Signature fields an upload may have: each is validated (tens of milliseconds, and more
# for one that pretends to be another's); a certificate of this service has two, and a
# document timestamp per renewal.
MAX_SIGNATURE_FIELDS = 16
MAX_FIELDS = 500  # form fields walked to find them


def charge_first_page(pdf: bytes, meter: Meter, max_drawn: int) -> bool:
    """Charge what drawing page 1 reads, and refuse more signature fields than a
    certificate could have; False when pyHanko cannot find or read page 1 (then nothing
    may draw it: the caller leaves pdfium's page reading out)."""
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        fields = _signature_fields(reader.root)
    except Exception:  # noqa: BLE001 - damage here is the validator's to report
        fields = 0
    if fields > MAX_SIGNATURE_FIELDS:
        refuse(f"文件内容过多：签名域多达 {fields} 个（证书最多 {MAX_SIGNATURE_FIELDS} 个），无法查验")
    try:
        page = _first_page(reader.root.get("/Pages"), None, 0, set())
    except Exception:  # noqa: BLE001 - any damage means: do not draw this page
        return False
    if page is None:
        return False
    page_dict, resources = page
    drawing = _Drawing(meter, max_drawn)
    try:
        contents = _deref(page_dict.raw_get("/Contents")) if "/Contents" in page_dict else None
    except Exception:  # noqa: BLE001
        return False
    streams = list(contents.iterate()) if isinstance(contents, generic.ArrayObject) else [contents]
    try:
        for entry in streams:
            drawing.draw(entry, resources, 0, ())
    except _Unreadable:
        return False
    return True


class _Unreadable(Exception):
    pass


def _signature_fields(root) -> int:
    """How many signature fields the AcroForm holds (its kids walked, loops and runaway
    trees cut short: past MAX_FIELDS the count is what was seen, already too many)."""
    form = _deref(root.get("/AcroForm")) if root is not None else None
    if not isinstance(form, generic.DictionaryObject):
        return 0
    pending = list(_entries(form.get("/Fields")))
    seen: set[int] = set()
    count = 0
    while pending and len(seen) < MAX_FIELDS:
        node = _deref(pending.pop())
        if not isinstance(node, generic.DictionaryObject) or id(node) in seen:
            continue
        seen.add(id(node))
        if node.get("/FT") == "/Sig":
            count += 1
        pending.extend(_entries(node.get("/Kids")))
    return count


def _entries(array) -> list:
    array = _deref(array)
    return list(array.iterate()) if isinstance(array, generic.ArrayObject) else []


def _first_page(node, inherited, depth: int, seen: set) -> tuple[generic.DictionaryObject, object] | None:
    """Page 1 as a depth-first walk of the page tree finds it, with the resources it
    inherits; loops and runaway depth end the walk."""
    if depth > MAX_PAGE_TREE_DEPTH or node is None:
        return None
    node = _deref(node)
    if id(node) in seen:
        return None
    seen.add(id(node))
    if not isinstance(node, generic.DictionaryObject):
        return None
    resources = node.get("/Resources", inherited)
    if node.get("/Type") == "/Page" or "/Kids" not in node:
        return node, resources
    kids = _deref(node.raw_get("/Kids"))
    for kid in kids.iterate() if isinstance(kids, generic.ArrayObject) else []:
        found = _first_page(kid, resources, depth + 1, seen)
        if found is not None:
            return found
    return None


def _deref(node):
    return node.get_object() if isinstance(node, (generic.IndirectObject, generic.Reference)) else node


def _key(node) -> int:
    """An object's identity: pyHanko's reader hands out one Python object per PDF object
    (it caches what it resolved), and every object here stays referenced while it runs."""
    return id(_deref(node))


class _Drawing:
    def __init__(self, meter: Meter, max_drawn: int):
        self.meter, self.max_drawn = meter, max_drawn
        self.drawn = 0
        self.seen: set = set()  # streams read at least once (charged once by inflation already)
        self.forms: dict = {}  # (form, resources) -> what one use of it reads, its own forms included

    def draw(self, entry, resources, depth: int, stack: tuple) -> int:
        """Read one content stream (or form) as a reader laying out the page would."""
        if depth > MAX_FORM_DEPTH:
            refuse(f"文件内容过多：表单对象嵌套超过 {MAX_FORM_DEPTH} 层")
        stream = _deref(entry)
        if not isinstance(stream, generic.StreamObject):
            return 0
        key = id(stream)
        memo = (key, _key(resources) if resources is not None else None)
        if memo in self.forms:
            cost = self.forms[memo]
            self._charge(cost)
            return cost
        if key in stack:
            refuse("文件结构异常：表单对象循环引用")
        try:
            data = stream.data
        except Exception as exc:  # noqa: BLE001 - a stream pyHanko cannot decode
            raise _Unreadable() from exc
        first_read = key not in self.seen
        self.seen.add(key)
        before = self.drawn
        self.drawn += len(data)
        if not first_read:
            self.meter.charge(len(data), len(data))
        self._check()
        own = stream.get("/Resources")
        used = own if own is not None else resources
        for match in _DO.finditer(data):
            form = _xobject(used, "/" + match.group(1).decode("latin-1"))
            if form is not None:
                self.draw(form, used, depth + 1, (*stack, key))
        cost = self.drawn - before
        self.forms[memo] = cost
        return cost

    def _charge(self, cost: int) -> None:
        self.drawn += cost
        self.meter.charge(cost, 0)
        self._check()

    def _check(self) -> None:
        if self.drawn > self.max_drawn:
            refuse(f"文件内容过多：第 1 页的内容超过 {self.max_drawn // 1048576} MB，无法查验")


def _xobject(resources, name: str):
    """The form XObject ``name`` in ``resources`` (images and the rest are not parsed)."""
    try:
        resources = _deref(resources)
        xobjects = resources.get("/XObject") if isinstance(resources, generic.DictionaryObject) else None
        xobjects = _deref(xobjects)
        if not isinstance(xobjects, generic.DictionaryObject) or name not in xobjects:
            return None
        entry = xobjects.raw_get(name)
        target = _deref(entry)
    except Exception:  # noqa: BLE001 - a broken resource: nothing drawn from it
        return None
    if isinstance(target, generic.StreamObject) and target.get("/Subtype") == "/Form":
        return entry
    return None
