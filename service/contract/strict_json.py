"""Reading a JSON body strictly: what Python's ``json`` accepts but a payload must not hold.

``json.loads`` takes NaN, Infinity and ``1e999`` (as infinity), keeps the last of two
equal keys, returns lone surrogates (``"\\ud800"``) that fail later when encoded, raises a
``ValueError`` outside ``JSONDecodeError`` for an integer of more than 4,300 digits, and a
``RecursionError`` for about 1,000 nested arrays. Each of these is refused here with a
422 that names where it is; nesting is bounded before parsing, so that nothing after
(validation, pickling to a worker, storing) recurses deeply either.

Duplicate keys are refused, not resolved: parsers differ on which of the two wins, so
the platform and this service could read two different payloads from one body.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate, islice
from typing import Any

from service.errors import FieldError, InvalidInput

# The contract's deepest payload nests 5 levels; room for what a platform wraps around it.
MAX_DEPTH = 32
# No number of the contract has more digits (years, counts, scores); an ID number sent as a
# number would lose its leading zeros or its X anyway.
MAX_INTEGER_DIGITS = 30
MAX_REPORTED = 20

# A JSON string, escapes included (the unrolled form: linear, no backtracking).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(sorted(set(range(256)) - set(b"[]{}")))
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Refused:
    """A value the parser read but must not pass on; the walk reports it by its path."""

    def __init__(self, kind: str, message: str):
        self.kind, self.message = kind, message


class _Object(dict):
    """A JSON object whose body named ``duplicates`` more than once."""

    duplicates: list[str]


def load_json(body: bytes, where: str = "(body)", what: str = "请求体") -> Any:
    """``body`` as JSON, or ``InvalidInput`` naming what is wrong and where (paths under
    ``where``; ``what`` names the body in messages, e.g. 第 3 行 of a JSON Lines file)."""
    text = _utf8(body, where, what)
    depth = nesting_depth(body)
    if depth > MAX_DEPTH:
        message = f"{what}的 JSON 嵌套层数过多：最多 {MAX_DEPTH} 层，当前 {depth} 层"
        raise InvalidInput(message, errors=[FieldError(where, message, "json_too_deep")])
    flagged: list[bool] = []
    try:
        value = json.loads(
            text,
            parse_constant=_constant(flagged),
            parse_float=_float(flagged),
            parse_int=_int(flagged),
            object_pairs_hook=_object(flagged),
        )
    except json.JSONDecodeError as exc:
        position = f"第 {exc.lineno} 行第 {exc.colno} 列" if what == "请求体" else f"第 {exc.colno} 列"
        message = f"{what}不是合法的 JSON：{position}附近有误"
        raise InvalidInput(message, errors=[FieldError(where, message, "json_invalid")]) from None
    if flagged or _SURROGATE_ESCAPE.search(body):
        errors = list(islice(_problems(value, where), MAX_REPORTED))
        if errors:
            raise InvalidInput(f"提交的数据有 {len(errors)} 处错误，请按提示修改", errors=errors)
    return value


def nesting_depth(body: bytes) -> int:
    """How deeply ``body``'s arrays and objects nest (brackets inside strings not counted)."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKET)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _utf8(body: bytes, where: str, what: str) -> str:
    try:
        # A byte order mark is tolerated, as json.loads(bytes) did: some Windows tools write one.
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        message = f"{what}应为 UTF-8 编码的 JSON"
        raise InvalidInput(message, errors=[FieldError(where, message, "json_invalid")]) from None


def _constant(flagged: list):
    def parse(name: str) -> _Refused:
        # NaN, Infinity, -Infinity: not JSON (RFC 8259 §6), accepted by Python.
        flagged.append(True)
        return _Refused("number_not_finite", f"数值 {name} 不是有效数字")

    return parse


def _float(flagged: list):
    def parse(text: str) -> float | _Refused:
        value = float(text)
        if math.isfinite(value):
            return value
        flagged.append(True)
        return _Refused("number_not_finite", f"数值 {text[:20]} 超出范围")

    return parse


def _int(flagged: list):
    def parse(text: str) -> int | _Refused:
        digits = len(text.lstrip("-"))
        if digits <= MAX_INTEGER_DIGITS:
            return int(text)
        flagged.append(True)
        return _Refused("number_too_long", f"整数位数过多：最多 {MAX_INTEGER_DIGITS} 位，当前 {digits} 位")

    return parse


def _object(flagged: list):
    def build(pairs: list[tuple[str, Any]]) -> dict:
        value = dict(pairs)
        if len(value) == len(pairs):
            return value
        seen, duplicates = set(), []
        for key, _ in pairs:
            if key in seen and key not in duplicates:
                duplicates.append(key)
            seen.add(key)
        flagged.append(True)
        marked = _Object(value)
        marked.duplicates = duplicates
        return marked

    return build


def _problems(value: Any, path: str):
    """Every refused value, duplicate key and lone surrogate under ``value``, by its path."""
    if isinstance(value, _Refused):
        yield FieldError(path, value.message, value.kind)
    elif isinstance(value, str):
        if _SURROGATE.search(value):
            yield FieldError(path, "含有不成对的 Unicode 代理码元（\\ud800–\\udfff），不是有效的文字", "lone_surrogate")
    elif isinstance(value, dict):
        for key in getattr(value, "duplicates", ()):
            yield FieldError(_join(path, key), f"字段 {_printable(key)} 出现了不止一次，请只保留一个", "duplicate_key")
        for key, item in value.items():
            if _SURROGATE.search(key):
                yield FieldError(path, "字段名含有不成对的 Unicode 代理码元", "lone_surrogate")
                continue
            yield from _problems(item, _join(path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _problems(item, f"{path}[{index}]")


def _join(path: str, key: str) -> str:
    return key if path == "(body)" else f"{path}.{key}"


def _printable(key: str) -> str:
    return _SURROGATE.sub("\ufffd", key)
