"""The list sections of the review form, as tables whose columns follow their content.

Each table names its columns (heading, share of the width, kind: see
``service.documents.columns``) and turns the declaration's rows into the values
printed, formatted as the form prints them; ``Fitter.table`` then sizes the
columns to what they hold. The template only places the cells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from service.contract.declaration import Declaration
from service.documents.columns import Col, Fitter, Table
from service.documents.filters import dot_date, file_size, period, plain_number, yes_no
from service.profiles.schema import Profile

TABLE_MM = 167.0  # A4 portrait less the margins of common.css (25 mm left, 18 mm right)
SMALL = 8.0  # pt: the size of dates and codes in the lists


def _c(label: str, share: float, kind: str = "text", small: bool = False, centred: bool = False) -> Col:
    css = " ".join(filter(None, ["c" if centred else "", "small" if small else "", "mono" if kind == "code" else ""]))
    return Col(label, share, kind, SMALL if small else 9.0, css)


TITLES = (
    _c("资格名称（级别）", 16, "one", centred=True),
    _c("系列 / 专业", 20, "name"),
    _c("取得方式", 12, "one", centred=True),
    _c("取得时间", 14, "one", centred=True),
    _c("证书编号", 12, "code", small=True),
    _c("审批机关 / 发证机关", 26, "name"),
)


def titles_table(d: Declaration, fit: Fitter) -> Table:
    rows = [
        [
            t.title + (f"（{t.level}）" if t.level else ""),
            (t.series or "") + (f" / {t.specialty}" if t.specialty else ""),
            t.route,
            # Anhui's 现有职称情况 keeps 评审日期 and 发证日期 apart: each on its own line.
            "\n".join(
                filter(
                    None,
                    [
                        dot_date(t.approved_on),
                        f"评审 {dot_date(t.reviewed_on)}" if t.reviewed_on else None,
                        f"发证 {dot_date(t.issued_on)}" if t.issued_on else None,
                    ],
                )
            ),
            t.certificate_no,
            "\n".join(
                filter(
                    None,
                    [
                        t.approving_body,
                        t.issuing_body,
                        f"获得证书时工作单位：{t.unit_when_obtained}" if t.unit_when_obtained else None,
                    ],
                )
            ),
        ]
        for t in d.current_titles
    ]
    return fit.table(TITLES, rows, TABLE_MM)


EDUCATION = (
    _c("起止时间", 13, "one", small=True, centred=True),
    _c("毕业学校", 15, "name"),
    _c("所学专业", 13, "name"),
    _c("学历", 9, "one", centred=True),
    _c("学位", 9, "one", centred=True),
    _c("学习形式", 8, "one", centred=True),
    _c("学制", 6, "one", centred=True),
    _c("证书编号", 14, "code", small=True),
    _c("类别", 13, "one", small=True, centred=True),
)


def education_table(d: Declaration, fit: Fitter, words: Profile) -> Table:
    rows = [
        [
            period(e.start, e.end, ""),
            e.school,
            e.major,
            e.education_level,
            e.degree,
            e.study_mode,
            plain_number(e.length_years),
            e.certificate_no,
            "\n".join(words.word("education_role", role) for role in e.roles),
        ]
        for e in d.education
    ]
    return fit.table(EDUCATION, rows, TABLE_MM)


TRAINING = (
    _c("起止时间", 22, "one", small=True, centred=True),
    _c("培训内容", 40),
    _c("主办单位", 28, "name"),
    _c("学时", 10, "one", centred=True),
)


def training_table(d: Declaration, fit: Fitter) -> Table:
    rows = [[period(t.start, t.end, ""), t.content, t.organizer, plain_number(t.hours)] for t in d.training]
    return fit.table(TRAINING, rows, TABLE_MM)


WORK = (
    _c("起止时间", 17, "one", small=True, centred=True),
    _c("工作单位", 30, "name"),
    _c("职务 / 岗位", 17, "name"),
    _c("从事专业技术工作", 24, "name"),
    _c("证明人", 12, "one", centred=True),
)


def work_table(d: Declaration, fit: Fitter) -> Table:
    rows = [[period(w.start, w.end), w.unit, w.position, w.technical_work, w.witness] for w in d.work_history]
    return fit.table(WORK, rows, TABLE_MM)


ACHIEVEMENTS = (
    _c("起止时间", 15, "one", small=True, centred=True),
    _c("项目（工作）名称", 23),
    _c("工作内容及本人作用", 24),
    _c("完成情况及效果", 24),
    _c("符合条款", 14, "name"),  # a reference (业绩条件第（二）项): whole, a step smaller
)


def achievements_table(d: Declaration, fit: Fitter) -> Table:
    rows = [
        [
            "\n".join(filter(None, [period(x.start, x.end), f"（{x.period}）" if x.period else None])),
            x.name,
            x.content_and_role,
            x.outcome,
            x.clause,
        ]
        for x in d.achievements
    ]
    return fit.table(ACHIEVEMENTS, rows, TABLE_MM)


PAPERS = (
    _c("发表时间", 11, "one", centred=True),
    _c("论文题目", 35),
    _c("刊物名称", 20, "name"),
    _c("ISSN", 12, "code", small=True, centred=True),
    _c("CN", 12, "code", small=True, centred=True),
    _c("本人排名", 10, "one", centred=True),
)


# Hubei's 业绩成果-论文(已出) adds 刊号级别 and 主办单位, and asks for
# 「出版、登载获奖或在学术会议上交流情况」: printed when the payload carries any of them.
PAPERS_WITH_LEVEL = (
    _c("发表时间", 11, "one", centred=True),
    _c("论文题目", 33),
    _c("刊物名称 / 主办单位", 22, "name"),
    _c("刊号（ISSN / CN）", 14, "code", small=True, centred=True),
    _c("刊号级别", 10, "one", centred=True),
    _c("本人排名", 10, "one", centred=True),
)
NOTE_LABEL = "出版、登载获奖或在学术会议上交流情况"


def _with_note(title: str, note: str | None) -> str:
    return f"{title}\n（{NOTE_LABEL}：{note}）" if note else title


def papers_table(d: Declaration, fit: Fitter) -> Table:
    if any(p.journal_level or p.sponsor or p.publication_note for p in d.papers):
        rows = [
            [
                dot_date(p.published),
                _with_note(p.title, p.publication_note),
                "\n".join(filter(None, [p.journal, p.sponsor])),
                "\n".join(filter(None, [p.issn, p.cn])),
                p.journal_level,
                p.rank,
            ]
            for p in d.papers
        ]
        return fit.table(PAPERS_WITH_LEVEL, rows, TABLE_MM)
    rows = [[dot_date(p.published), p.title, p.journal, p.issn, p.cn, p.rank] for p in d.papers]
    return fit.table(PAPERS, rows, TABLE_MM)


BOOKS = (
    _c("出版时间", 11, "one", centred=True),
    _c("著作名称", 31),
    _c("出版社", 20, "name"),
    _c("ISBN", 16, "code", small=True, centred=True),
    _c("本人角色", 10, "one", centred=True),
    _c("撰写字数（万字）", 12, "one", centred=True),
)


def books_table(d: Declaration, fit: Fitter) -> Table:
    rows = [
        [
            dot_date(b.published),
            _with_note(b.title, b.publication_note),
            b.publisher,
            "\n".join(filter(None, [b.isbn, f"刊号级别：{b.journal_level}" if b.journal_level else None])),
            b.role,
            plain_number(b.words_10k),
        ]
        for b in d.books
    ]
    return fit.table(BOOKS, rows, TABLE_MM)


PATENTS = (
    _c("类型", 12, "one", centred=True),
    _c("状态", 9, "one", centred=True),
    _c("授权（申请）日期", 13, "one", centred=True),
    _c("专利名称", 28),
    _c("专利号", 18, "code", small=True),
    _c("本人排名", 10, "one", centred=True),
    _c("主要专利", 10, "one", centred=True),
)


def patents_table(d: Declaration, fit: Fitter, applied: bool | None = None) -> Table:
    """The patents; with ``applied`` given, only the granted (False) or applied-for (True)
    ones, for a province that lists 专利(已授) and 专利(申请) apart (Hubei)."""
    chosen = [p for p in d.patents if applied is None or is_application(p.status) == applied]
    rows = [[p.kind, p.status, dot_date(p.date), p.title, p.number, p.rank, yes_no(p.is_main)] for p in chosen]
    return fit.table(PATENTS, rows, TABLE_MM)


def is_application(status: str | None) -> bool:
    """申请中, 已申请, 实审 …: a patent not (yet) granted."""
    return status is not None and ("申请" in status or "审" in status) and "授权" not in status


AWARDS = (
    _c("获奖时间", 12, "one", centred=True),
    _c("奖项名称", 33),
    _c("等级", 12, "one", centred=True),
    _c("授奖单位", 31, "name"),
    _c("本人排名", 12, "one", centred=True),
)


def awards_table(d: Declaration, fit: Fitter) -> Table:
    rows = [[dot_date(w.date), w.name, w.grade, w.issuer, w.rank] for w in d.awards]
    return fit.table(AWARDS, rows, TABLE_MM)


PROJECTS = (
    _c("起止时间", 15, "one", small=True, centred=True),
    _c("项目（课题）名称", 27),
    _c("项目来源", 17, "name"),
    _c("级别", 9, "one", centred=True),
    _c("本人角色", 11, "one", centred=True),
    _c("经费（万元）", 11, "one", centred=True),
    _c("状态", 10, "one", centred=True),
)


def projects_table(d: Declaration, fit: Fitter) -> Table:
    rows = [
        [period(p.start, p.end), p.name, p.source, p.level, p.role, plain_number(p.funding_10k), p.status]
        for p in d.projects
    ]
    return fit.table(PROJECTS, rows, TABLE_MM)


ATTACHMENTS = (
    _c("序号", 8, "one", centred=True),
    _c("材料类别", 32, "name"),
    _c("文件名称", 46),
    _c("大小", 14, "one", centred=True),
)


def attachments_table(d: Declaration, fit: Fitter) -> Table:
    rows = [[str(i), f.category, f.name, file_size(f.size_bytes)] for i, f in enumerate(d.attachments, start=1)]
    return fit.table(ATTACHMENTS, rows, TABLE_MM)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def _dated(cell: str | None) -> str | None:
    """A cell that is a date (2020-06-01, 2020-06) printed as the form prints dates."""
    return dot_date(cell) if cell is not None and _ISO_DATE.match(cell.strip()) else cell


@dataclass(frozen=True)
class CriteriaTable:
    heading: str
    table: Table


def criteria_tables(d: Declaration, fit: Fitter) -> list[CriteriaTable]:
    """The sections by 评审标准, each under its heading, numbered items first."""
    tables = []
    for section in d.criteria:
        columns = (
            _c("序号", 6, "one", centred=True),
            *(_c(label, 94 / len(section.columns)) for label in section.columns),
        )
        rows = [[str(i), *(_dated(cell) for cell in item.cells)] for i, item in enumerate(section.items, start=1)]
        heading = f"{section.heading}（{section.standard}）" if section.standard else section.heading
        tables.append(CriteriaTable(heading, fit.table(columns, rows, TABLE_MM)))
    return tables


def review_tables(d: Declaration, fit: Fitter, words: Profile) -> dict[str, Any]:
    """Every list section of the review form, by name."""
    return {
        "titles": titles_table(d, fit),
        "education": education_table(d, fit, words),
        "training": training_table(d, fit),
        "work": work_table(d, fit),
        "achievements": achievements_table(d, fit),
        "papers": papers_table(d, fit),
        "books": books_table(d, fit),
        "patents": patents_table(d, fit),
        "patents_granted": patents_table(d, fit, applied=False),
        "patents_applied": patents_table(d, fit, applied=True),
        "criteria": criteria_tables(d, fit),
        "awards": awards_table(d, fit),
        "projects": projects_table(d, fit),
        "attachments": attachments_table(d, fit),
    }
