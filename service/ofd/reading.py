"""Reading an uploaded OFD package under bounds: a zip whose entries are counted and
inflated against a budget before anything parses them (a zip bomb stops at the budget,
not at the end of the bomb), and XML parsed without entities, DTDs or the network.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from lxml import etree


class OfdUnreadable(ValueError):
    """The upload is not a package this service can read; the message says why."""


@dataclass(frozen=True)
class OfdLimits:
    max_entries: int = 200
    max_total_bytes: int = 40 * 1024 * 1024  # inflated, all entries together
    max_entry_bytes: int = 20 * 1024 * 1024
    max_xml_bytes: int = 2 * 1024 * 1024
    max_ratio: int = 200  # inflated / compressed, per entry


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, dtd_validation=False
)


def parse_xml(data: bytes, limits: OfdLimits = OfdLimits()) -> etree._Element:
    """One XML file of the package; a DTD (and so any entity) is refused outright."""
    if len(data) > limits.max_xml_bytes:
        raise etree.XMLSyntaxError("XML file too large", None, 0, 0)
    root = etree.fromstring(data, _PARSER)
    if root.getroottree().docinfo.internalDTD is not None or b"<!DOCTYPE" in data[:4096]:
        raise etree.XMLSyntaxError("a DTD in an OFD file", None, 0, 0)
    return root


def read_package(data: bytes, limits: OfdLimits = OfdLimits()) -> dict[str, bytes]:
    """Every file of the zip, by name, or :class:`OfdUnreadable`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise OfdUnreadable(f"not a zip package: {exc}") from exc
    if len(infos) > limits.max_entries:
        raise OfdUnreadable(f"{len(infos)} files in the package; at most {limits.max_entries}")
    files: dict[str, bytes] = {}
    total = 0
    for info in infos:
        name = info.filename
        if info.is_dir():
            continue
        if name.startswith("/") or ".." in name.split("/") or "\\" in name or name in files:
            raise OfdUnreadable(f"file name {name!r} not allowed")
        budget = min(
            limits.max_entry_bytes, limits.max_total_bytes - total, max(info.compress_size, 1024) * limits.max_ratio
        )
        try:
            with archive.open(info) as handle:
                content = handle.read(budget + 1)  # the declared size is not trusted: read to the budget
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
            raise OfdUnreadable(f"cannot inflate {name!r}: {exc}") from exc
        if len(content) > budget:
            raise OfdUnreadable(f"{name!r} inflates beyond what a certificate holds")
        total += len(content)
        files[name] = content
    if "OFD.xml" not in files:
        raise OfdUnreadable("no OFD.xml: not an OFD package")
    return files
