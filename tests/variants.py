"""Variations of the contract's declaration that real platforms send.

Used by the tests and the benchmarks; each takes the contract example and
returns a new payload.
"""

from __future__ import annotations

import copy

SUMMARY_SENTENCE = (
    "任现职以来，本人坚持以安全生产为前提，围绕装置工艺优化、节能降耗和技术改造开展工作，"
    "组织完成了多项工艺包设计与现场技术服务，解决了生产中的关键技术难题。"
)


def long_text(chars: int, sentence: str = SUMMARY_SENTENCE) -> str:
    """About ``chars`` characters of plausible prose in paragraphs."""
    paragraphs, total, i = [], 0, 0
    while total < chars:
        para = f"（{i + 1}）" + sentence * 3
        paragraphs.append(para)
        total += len(para)
        i += 1
    return "\n".join(paragraphs)[:chars]


def papers(count: int) -> list[dict]:
    return [
        {
            "published": f"{2015 + i % 9}-{1 + i % 12:02d}",
            "title": f"化工过程强化与节能技术研究（第{i + 1}篇）：反应釜温度控制策略的优化与工程应用",
            "journal": ["化工进展", "化学工程", "石油化工", "现代化工"][i % 4],
            "issn": f"1000-{6600 + i:04d}",
            "cn": f"11-{1900 + i}/TQ",
            "rank": f"{1 + i % 3}/5",
        }
        for i in range(count)
    ]


def long_variant(base: dict) -> dict:
    """The benchmark's long declaration: 40 papers and a 3,000-character summary."""
    payload = copy.deepcopy(base)
    payload["papers"] = papers(40)
    payload["work_summary"] = long_text(3000)
    return payload


def minimal(base: dict) -> dict:
    """Every optional section null or empty."""
    payload = copy.deepcopy(base)
    for key in (
        "current_titles",
        "education",
        "training",
        "work_history",
        "annual_reviews",
        "achievements",
        "papers",
        "books",
        "patents",
        "awards",
        "projects",
        "attachments",
    ):
        payload[key] = None if key in ("training", "books", "attachments") else []
    payload["work_summary"] = None
    payload["teacher_info"] = None
    payload["opinions"] = None
    for key in (
        "former_name",
        "ethnicity",
        "birthplace",
        "political_status",
        "health",
        "work_start_date",
        "years_of_work",
        "years_in_specialty",
        "current_technical_work",
        "administrative_post",
        "academic_societies",
        "foreign_language",
        "phone",
        "photo",
    ):
        payload["applicant"][key] = None
    return payload


def teacher(base: dict) -> dict:
    payload = copy.deepcopy(base)
    payload["application"].update(series="中小学教师", specialty="初中数学", title="一级教师", level="中级")
    payload["teacher_info"] = {
        "teacher_category": "在编在岗教师",
        "staffing_category": "事业编制",
        "teaching_start": "2011-09",
        "teaching_years": 13,
        "rural_teaching_years": 6,
        "teacher_qualification": "初级中学教师资格（数学）",
        "school_stage": "初中",
        "subject": "数学",
        "school": "鄂州市第一中学",
    }
    return payload


def exceptional(base: dict) -> dict:
    payload = copy.deepcopy(base)
    payload["application"]["route"] = "破格"
    payload["application"]["exception"] = {
        "rule": "《湖北省工程系列职称评审条件》第十二条第（一）项",
        "text": "任现职以来主持完成省级科技项目1项，获省科技进步二等奖（排名第2）。",
        "evidence": ["湖北省科技进步奖证书", "项目验收证书", "单位推荐说明"],
    }
    return payload


def transfer(base: dict) -> dict:
    payload = copy.deepcopy(base)
    payload["application"]["route"] = "转评"
    payload["application"]["transfer"] = {
        "original_series": "经济专业人员",
        "original_specialty": "工商管理",
        "original_title": "经济师",
        "original_level": "中级",
        "original_approved_on": "2018-11-10",
        "original_issuer": "人力资源和社会保障部",
        "original_certificate_no": "ECO2018000123",
        "new_post": "工艺工程师",
        "new_post_start": "2021-01-01",
        "years_in_post": 3,
        "reason": "现从事化工工艺设计工作，岗位发生变化，申请转评工程系列。",
    }
    return payload


def many_rows(base: dict, rows: int = 36) -> dict:
    """Dozens of rows in every list section."""
    payload = copy.deepcopy(base)
    payload["papers"] = papers(rows)
    payload["training"] = [
        {
            "start": f"20{10 + i % 14}-03-01",
            "end": f"20{10 + i % 14}-03-05",
            "content": f"专业技术人员继续教育专题{i + 1}",
            "organizer": "湖北省专业技术人员继续教育平台",
            "hours": 8 + i % 5,
        }
        for i in range(rows)
    ]
    payload["awards"] = [
        {
            "date": f"20{10 + i % 14}-12",
            "name": f"科技进步奖{i + 1}",
            "grade": "三等奖",
            "issuer": "武汉东湖化工研究院有限公司",
            "rank": "2/6",
        }
        for i in range(rows)
    ]
    payload["work_history"] = [
        {
            "start": f"20{10 + i % 14}-01",
            "end": f"20{10 + i % 14}-12",
            "unit": f"某化工企业第{i + 1}分厂",
            "position": "工艺员",
            "technical_work": "工艺管理",
            "witness": "李四",
        }
        for i in range(rows)
    ]
    return payload
