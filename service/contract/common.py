"""Field types shared by every payload of the platform contract.

Limits (text length, rows per list) are configurable, so they are read from
the validation context (``{"limits": Limits}``) that ``parse_payload`` passes
in, never from module state. Messages are in Chinese: a clerk reads them.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from service.config import Limits
from service.contract.characters import describe, invisible_in, normalise, unprintable_in
from service.documents.photo import CheckedPhoto, PhotoError, check_photo

_DEFAULT_LIMITS = Limits()


def limits_of(info: ValidationInfo) -> Limits:
    context = info.context or {}
    return context.get("limits", _DEFAULT_LIMITS)


class ContractModel(BaseModel):
    """Base of every contract model: values are immutable once validated, and a
    field the model does not declare is an error (silently dropping a misnamed
    field loses archive data; ``service.contract.unknown`` names it and suggests
    the field meant, or drops it when ``ZC_CONTRACT_UNKNOWN_FIELDS=ignore``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_optional_is_none(cls, data: Any) -> Any:
        # Platforms send "" for an optional field left blank; treat it as
        # absent. A blank required field still fails with 不能为空.
        if not isinstance(data, dict):
            return data
        cleaned = dict(data)
        for name, field in cls.model_fields.items():
            value = cleaned.get(name)
            if isinstance(value, str) and not value.strip() and not field.is_required():
                cleaned[name] = None
        return cleaned


# --- text -------------------------------------------------------------------


def _check_text(value: str, info: ValidationInfo) -> str:
    limit = limits_of(info).max_text_chars
    if len(value) > limit:
        raise PydanticCustomError(
            "text_too_long",
            "文字过长：最多 {limit} 个字符，当前 {length} 个，请精简后再提交",
            {"limit": limit, "length": len(value)},
        )
    return value


def _printable(value: str) -> str:
    # Controls, lone surrogates and direction overrides cannot be printed faithfully
    # (service.contract.characters says why); the rest is NFC-normalised.
    char = unprintable_in(value)
    if char is not None:
        raise PydanticCustomError(
            "control_chars", "含有无法打印或会改变文字顺序的字符 {char}，请删除后再提交", {"char": describe(char)}
        )
    return normalise(value)


def _visible(value: str) -> str:
    # Names, numbers and codes are printed, searched and compared: every character must show.
    char = invisible_in(value)
    if char is not None:
        raise PydanticCustomError(
            "invisible_chars",
            "含有不可见字符 {char}（姓名、编号、代码中不允许），请删除后再提交",
            {"char": describe(char)},
        )
    return value


Text = Annotated[str, AfterValidator(_printable), AfterValidator(_check_text)]
"""Free text: any length up to the configured limit."""


def short_text(max_chars: int) -> Any:
    """A one-line value (a title, a unit) with a fixed upper bound."""
    return Annotated[str, Field(min_length=1, max_length=max_chars), AfterValidator(_printable)]


def identifier_text(max_chars: int) -> Any:
    """A name, number or code: one line, every character visible."""
    return Annotated[
        str, Field(min_length=1, max_length=max_chars), AfterValidator(_printable), AfterValidator(_visible)
    ]


Name = identifier_text(50)
Code = identifier_text(100)
Short = short_text(100)
Line = short_text(200)


# --- lists ------------------------------------------------------------------


def _check_rows(value: Any, info: ValidationInfo) -> Any:
    # Runs before the items are validated, so an oversized list is refused
    # without spending time on its rows.
    if value is None:
        return []
    if isinstance(value, list):
        limit = limits_of(info).max_list_rows
        if len(value) > limit:
            raise PydanticCustomError(
                "too_many_rows",
                "条目过多：最多 {limit} 条，当前 {count} 条",
                {"limit": limit, "count": len(value)},
            )
    return value


def rows(item: Any) -> Any:
    """A list section of ``item``; null means empty."""
    return Annotated[list[item], BeforeValidator(_check_rows), Field(default_factory=list)]


def required_rows(item: Any) -> Any:
    """A list of ``item`` that must hold at least one row (absent: 缺少必填项; null or empty: 至少需要 1 项)."""
    return Annotated[list[item], BeforeValidator(_check_rows), Field(min_length=1)]


# --- dates ------------------------------------------------------------------

_DAY_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def _parse_day(value: Any) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and (match := _DAY_RE.match(value.strip())):
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            raise PydanticCustomError("date_invalid", "日期不存在，请检查年月日") from None
    raise PydanticCustomError("date_format", "日期格式应为 YYYY-MM-DD")


Day = Annotated[
    date,
    BeforeValidator(_parse_day),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2024-08-20"]}),
]


@dataclass(frozen=True, order=True)
class YearMonth:
    """A month, as the platform's forms ask for most periods (``2007-09``).

    A full date is accepted too and keeps its day, since some platforms send
    one where the form asks for a month."""

    year: int
    month: int
    day: int | None = None

    def __str__(self) -> str:
        text = f"{self.year:04d}-{self.month:02d}"
        return text if self.day is None else f"{text}-{self.day:02d}"


def _parse_month(value: Any) -> YearMonth:
    if isinstance(value, YearMonth):
        return value
    if isinstance(value, str) and (match := _MONTH_RE.match(value.strip())):
        year, month = int(match[1]), int(match[2])
        day = int(match[3]) if match[3] else None
        try:
            date(year, month, day or 1)
        except ValueError:
            raise PydanticCustomError("date_invalid", "日期不存在，请检查年月") from None
        return YearMonth(year, month, day)
    raise PydanticCustomError("month_format", "年月格式应为 YYYY-MM")


Month = Annotated[
    YearMonth,
    BeforeValidator(_parse_month),
    WithJsonSchema({"type": "string", "pattern": r"^\d{4}-\d{2}(-\d{2})?$", "examples": ["2007-09"]}),
]


def check_period(start: Any, end: Any) -> None:
    """Raise when a period ends before it starts (both optional)."""
    if start is None or end is None:
        return
    if _month_key(end) < _month_key(start):
        raise PydanticCustomError("period_order", "结束时间不能早于开始时间")


def _month_key(value: Any) -> tuple[int, int, int]:
    if isinstance(value, date):
        return (value.year, value.month, value.day)
    return (value.year, value.month, value.day or 0)


# --- enumerations -----------------------------------------------------------

GENDERS = ("男", "女")
LEVELS = ("正高级", "副高级", "高级", "中级", "助理级", "助理", "初级", "员级")
ROUTES = ("正常", "破格", "转评")


def term(kind: str, canonical: tuple[str, ...]) -> Any:
    """One of ``canonical``, sent in the province's own words: its profile (applied to the
    limits at start-up) maps 常规申报 to 正常, 合格学历 to 申报学历 and so on. What the
    model keeps is the canonical value; the forms print the province's word for it. A word
    the province does not use is refused naming the words it does use."""

    canonical_only = {value: value for value in canonical}  # no profile applied: these alone

    def _canonical(value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value  # the Literal below names the type
        limits = limits_of(info)
        mapping = limits.vocabulary.get(kind) or canonical_only
        word = value.strip()
        if word in mapping:
            return mapping[word]
        choices = limits.vocabulary_choices.get(kind) or canonical
        raise PydanticCustomError("term", "可用值：{choices}", {"choices": "、".join(choices)})

    return Annotated[Literal[canonical], BeforeValidator(_canonical)]


Route = term("route", ROUTES)


def word_of(limits: Limits, kind: str, canonical: tuple[str, ...], value: str) -> str:
    """The province's word for a canonical value (for messages; the forms use the profile)."""
    choices = limits.vocabulary_choices.get(kind)
    return choices[canonical.index(value)] if choices and value in canonical else value


# --- photo ------------------------------------------------------------------


class _Decoded(str):
    """``data_base64`` once checked: the text as sent, carrying what was decoded from it
    (a field validator's way to hand its result to the model without decoding twice)."""

    checked: CheckedPhoto

    def __new__(cls, text: str, checked: CheckedPhoto) -> _Decoded:
        decoded = super().__new__(cls, text)
        decoded.checked = checked
        return decoded

    def __reduce__(self):  # the validated payload travels to worker processes pickled
        return (_Decoded, (str(self), self.checked))


def _check(data: bytes, limits: Limits, declared: str | None) -> CheckedPhoto:
    try:
        return check_photo(data, max_bytes=limits.max_photo_bytes, max_side=limits.max_photo_side_px, declared=declared)
    except PhotoError as exc:
        raise PydanticCustomError("photo", str(exc)) from None


class Photo(ContractModel):
    """The holder's photo, JPEG or PNG, base64-encoded. Decoded and checked once, while
    validating: the model then carries the file and its fitted picture (``checked``)."""

    media_type: Literal["image/jpeg", "image/png"]
    data_base64: str = Field(min_length=1, repr=False)
    _checked: CheckedPhoto | None = PrivateAttr(default=None)

    @field_validator("data_base64")
    @classmethod
    def _usable_image(cls, value: str, info: ValidationInfo) -> str:
        limits = limits_of(info)
        # Base64 is 4/3 of the bytes: refuse before decoding a huge string.
        if len(value) > limits.max_photo_bytes * 4 // 3 + 4:
            raise PydanticCustomError(
                "photo", "照片文件过大：最多 {mb} MB", {"mb": limits.max_photo_bytes // (1024 * 1024)}
            )
        try:
            data = base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            raise PydanticCustomError("photo", "照片不是合法的 Base64 编码") from None
        # media_type is validated first (field order): compare it with what the file is.
        return _Decoded(value, _check(data, limits, info.data.get("media_type")))

    @model_validator(mode="after")
    def _keep_what_was_decoded(self) -> Photo:
        # An instance passed in again (a reissue's stored photo) keeps its own.
        if self._checked is None and isinstance(self.data_base64, _Decoded):
            self._checked = self.data_base64.checked
        return self

    @classmethod
    def from_file(cls, content: bytes, media_type: str, limits: Limits) -> Photo:
        """A photo already in the file store (a reissue, a public copy): checked again,
        never re-encoded; ``data_base64`` stays empty."""
        photo = cls.model_construct(media_type=media_type, data_base64="")
        photo._checked = _check(content, limits, media_type)
        return photo

    @property
    def checked(self) -> CheckedPhoto:
        assert self._checked is not None, "a Photo is made by validation or from_file"
        return self._checked

    @property
    def content(self) -> bytes:
        return self.checked.content
