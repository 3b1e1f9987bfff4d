"""Jinja2 filters: how values print on the forms (dates, periods, sizes, numerals)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import jinja2
from markupsafe import Markup

from service.documents.typeset import typeset_html
from service.documents.words import segmenter_for

_CN_DIGITS = "零一二三四五六七八九"


def dot_date(value: Any) -> str:
    """``2007-09`` → ``2007.09``; ``1989-05-26`` → ``1989.05.26``; None → ``""``."""
    if not value:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.year:04d}.{value.month:02d}.{value.day:02d}"
    text = str(value)
    return text.replace("-", ".")


def cn_date(value: Any) -> str:
    """``2024-08-20`` → ``2024年08月20日`` (a month prints as ``2007年09月``)."""
    if not value:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.year:04d}年{value.month:02d}月{value.day:02d}日"
    parts = str(value).split("-")
    suffix = ("年", "月", "日")
    return "".join(part + suffix[i] for i, part in enumerate(parts))


def period(start: Any, end: Any, open_end: str = "至今") -> str:
    if not start and not end:
        return ""
    return f"{dot_date(start)}—{dot_date(end) if end is not None else open_end}"


def cn_numeral(number: int) -> str:
    """Section numbers: 1 → 一, 10 → 十, 12 → 十二, 20 → 二十."""
    if number < 10:
        return _CN_DIGITS[number]
    tens, ones = divmod(number, 10)
    head = "" if tens == 1 else _CN_DIGITS[tens]
    return head + "十" + (_CN_DIGITS[ones] if ones else "")


def plain_number(value: Any) -> str:
    """4.0 → ``4``, 2.5 → ``2.5``, None → ``""``."""
    if value is None or value == "" or (not value and not isinstance(value, (int, float))):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def file_size(size: int | None) -> str:
    if size is None or not isinstance(size, int):
        return ""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1048576:.1f} MB"


def yes_no(value: bool | None) -> str:
    return "是" if value is True else ("否" if value is False else "")


def paragraphs(text: str | None) -> list[str]:
    """Split free text into paragraphs at line breaks, dropping blank lines."""
    if not text:
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def spread(label: str) -> str:
    """``单位`` → ``单 位``: with ``text-align-last: justify`` the characters of
    labels of different lengths spread over one width (WeasyPrint justifies at
    spaces only)."""
    return " ".join(label)


def cut(text, limit: int) -> str:
    """At most ``limit`` characters, the last replaced by … when cut."""
    text = "" if not text else str(text)
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"


@jinja2.pass_context
def typeset(context: jinja2.runtime.Context, html) -> Markup:
    """A rendered block of a form with the typesetting rules applied (service.documents.typeset),
    the words of the province's profile kept whole where the context has one."""
    profile = context.get("profile")
    terms = profile.terms() if profile is not None else frozenset()
    return Markup(typeset_html(str(html), segmenter_for(terms)))


def opinion_column(box: Any, opinions: Any) -> dict:
    """A stamping box of a profile (title, source, seal, signer) as the opinion_columns macro
    takes it, with the payload's opinion it names (None on a blank form)."""
    opinion = getattr(opinions, box.source, None) if opinions is not None else None
    return {"title": box.title, "opinion": opinion, "seal": box.seal, "signer_label": box.signer}


def or_none(value: Any, blank: bool = False) -> Any:
    """An optional field the payload leaves empty prints 无 (DOMAIN.md: the archive copy shows
    it was considered, not forgotten); a blank form keeps its box empty, to be filled in."""
    empty = not value.strip() if isinstance(value, str) else not value and not isinstance(value, int)
    if empty:
        return "" if blank else "无"
    return value


def make_environment(root, *, auto_reload: bool = True) -> jinja2.Environment:
    """The Jinja2 environment of the service's templates (documents and pages alike):
    autoescaped, strict about undefined names, with the filters below. ``auto_reload``:
    look at each template file's time again on every use (and read it again if changed)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=auto_reload,
    )
    install(env)
    return env


def install(env: jinja2.Environment) -> None:
    env.filters.update(
        dot_date=dot_date,
        cn_date=cn_date,
        cn_numeral=cn_numeral,
        plain_number=plain_number,
        file_size=file_size,
        yes_no=yes_no,
        paragraphs=paragraphs,
        spread=spread,
        cut=cut,
        typeset=typeset,
        opinion_column=opinion_column,
        or_none=or_none,
    )
    env.globals.update(period=period)


def mask_id(id_number: str) -> str:
    """``420106198905261525`` → ``420106********1525`` (the verification page, and a
    certificate whose province prints the ID number masked)."""
    if len(id_number) > 10:
        return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]
    if len(id_number) > 2:
        return id_number[0] + "*" * (len(id_number) - 2) + id_number[-1]
    return "*" * len(id_number)
