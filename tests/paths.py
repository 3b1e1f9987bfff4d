"""Payload values by the JSON path the contract's errors name them by (``a.b[0].c``, ``a.b[*].c``)."""

from __future__ import annotations

import re

_PART = re.compile(r"[^.\[\]]+|\[\*\]|\[\d+\]")


def values_at(payload, path: str) -> list:
    """The values at ``path`` (``a.b[0].c``, ``a.b[*].c``); absent and empty ones left out."""
    nodes = [payload]
    for part in _PART.findall(path):
        found = []
        for node in nodes:
            if part == "[*]":
                found.extend(node or [])
            elif part.startswith("["):
                index = int(part[1:-1])
                found.append(node[index] if isinstance(node, list) and len(node) > index else None)
            else:
                found.append(node.get(part) if isinstance(node, dict) else None)
        nodes = found
    return [n for n in nodes if n is not None and n != "" and n != []]


def set_at(payload: dict, path: list, value) -> None:
    for key in path[:-1]:
        payload = payload[key]
    payload[path[-1]] = value
