"""What a province profile may say, and nothing else (a key it does not know is refused).

A profile is data, one TOML file per province under ``profiles/``: the words its platform
sends and prints, the certificate's title, labels and rows, the pledge, the review form's
stamping boxes, which forms exist, the number pattern, the paper and who may reissue.
The forms and the certificate read the profile they are handed, never a province's name.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

# The canonical values the contract validates against; a profile maps its own words onto
# them (service.contract.common.TERMS lists the same kinds with their values).
CANONICAL_TERMS: dict[str, tuple[str, ...]] = {
    "route": ("正常", "破格", "转评"),
    "education_role": ("基础学历", "申报学历", "最高学历"),
    "assessment_grade": ("优秀", "合格", "基本合格", "不合格"),
}

# Every value the certificate can print, by slot key (service.documents.certificate_layout).
CERTIFICATE_ROW_KEYS = (
    "number",
    "name",
    "gender",
    "birth",
    "id_type",
    "id_number",
    "work_unit",
    "acquired_on",
    "series",
    "specialty",
    "title",
    "level",
    "route",
    "nature",
    "approval_doc_no",
)
CERTIFICATE_LABEL_KEYS = (*CERTIFICATE_ROW_KEYS, "committee", "issuer", "issue_date", "qr_caption", "original_number")

# Where a stamping box takes its text from (service.contract.declaration.Opinions).
OPINION_SOURCES = ("unit", "recommending", "competent", "organizer", "approval")


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# The formats a province issues, and the one seal algorithm each format's seals can use:
# PAdES seals (ISO 32000, ETSI EN 319 142) with ECDSA P-256, GB/T 38540 seals in OFD
# (GB/T 33190) with SM2 and SM3, as the standard fixes.
Format = Literal["pdf", "ofd"]
SealAlgorithm = Literal["ecdsa", "sm2"]
FORMATS: tuple[Format, ...] = ("pdf", "ofd")
SEAL_ALGORITHMS: dict[Format, SealAlgorithm] = {"pdf": "ecdsa", "ofd": "sm2"}


class Certificate(_Data):
    title: str = Field(min_length=1, max_length=20)
    # pdf always: the registry's file of record, the one the seals of the page go on; ofd:
    # its 电子证照 twin, sealed with GB/T 38540 seals, stored beside it.
    formats: tuple[Format, ...] = FORMATS
    seals: dict[Format, SealAlgorithm] = dict(SEAL_ALGORITHMS)
    # The rows of the two columns, left then right, by value key; a row may leave a side empty ("").
    rows: tuple[tuple[str, str], ...] = Field(min_length=1, max_length=8)
    labels: dict[str, str]
    id_number: Literal["full", "masked"] = "full"
    # Printed on a certificate issued before its organisations have e-seals.
    unsealed_notice: str = Field(min_length=1, max_length=60)
    # What a new version says of itself: 补发 (lost) or 换发 (corrected), with the old number.
    reissue_marks: dict[Literal["补发", "换发"], str]

    @field_validator("rows")
    @classmethod
    def _known_rows(cls, rows: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        seen = [key for row in rows for key in row if key]
        for key in seen:
            if key not in CERTIFICATE_ROW_KEYS:
                raise ValueError(f"未知的证书栏目 {key!r}，可用：{'、'.join(CERTIFICATE_ROW_KEYS)}")
        if len(seen) != len(set(seen)):
            raise ValueError("证书栏目重复")
        for must in ("number", "name", "title"):
            if must not in seen:
                raise ValueError(f"证书必须有栏目 {must!r}")
        return rows

    @model_validator(mode="after")
    def _formats_and_their_seals(self) -> Certificate:
        if "pdf" not in self.formats or len(set(self.formats)) != len(self.formats):
            raise ValueError('formats: 必须含 "pdf"，且不重复（可选 ["pdf"] 或 ["pdf", "ofd"]）')
        for fmt, algorithm in self.seals.items():
            if algorithm != SEAL_ALGORITHMS[fmt]:
                wanted = SEAL_ALGORITHMS[fmt]
                raise ValueError(f"seals.{fmt}: {fmt} 文件的印章只支持 {wanted!r}（而非 {algorithm!r}）")
        return self

    @property
    def issues_ofd(self) -> bool:
        return "ofd" in self.formats

    @model_validator(mode="after")
    def _every_row_labelled(self) -> Certificate:
        unknown = sorted(set(self.labels) - set(CERTIFICATE_LABEL_KEYS))
        if unknown:
            raise ValueError(f"labels: 未知的标签 {', '.join(unknown)}")
        needed = {key for row in self.rows for key in row if key} | {"committee", "issuer", "issue_date"}
        missing = sorted(needed - set(self.labels))
        if missing:
            raise ValueError(f"labels: 缺少标签 {', '.join(missing)}")
        return self


class Pledge(_Data):
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    signature: str = "承诺人（签字）"


class StampBox(_Data):
    """One body that signs and stamps the review form: always printed, empty where the
    payload carries no opinion, with room for the seal and the date."""

    title: str = Field(min_length=1, max_length=30)
    kind: Literal["opinion", "publicity", "committee"] = "opinion"
    source: str | None = None  # opinion boxes: which opinion of the payload fills it
    signer: str = "负责人（签字）"
    seal: str = "（盖章）"

    @model_validator(mode="after")
    def _source_for_opinions(self) -> StampBox:
        if self.kind == "opinion" and self.source not in OPINION_SOURCES:
            raise ValueError(f"{self.title}: source 应为 {'、'.join(OPINION_SOURCES)} 之一")
        if self.kind != "opinion" and self.source is not None:
            raise ValueError(f"{self.title}: {self.kind} 栏不取 source")
        return self


# The review form's sections (templates/forms/review-form/form.html), in the default order.
REVIEW_SECTIONS = (
    "basic",  # 基本情况 (with 破格依据, 转评情况)
    "education",  # 学历教育, 继续教育
    "work",  # 工作经历
    "annual_reviews",  # 年度考核
    "work_summary",  # 任职以来主要工作业绩和履行岗位职责情况
    "achievements",  # 任现职以来主要专业技术工作业绩
    "results",  # 业绩成果: 论文, 著作, 专利, 获奖, 项目
    "criteria",  # 申报业绩 by 评审标准
    "teacher",  # 中小学教师信息
    "opinions",  # the stamping boxes
)


class ReviewForm(_Data):
    title: str = "专业技术资格评审表"
    boxes: tuple[StampBox, ...] = Field(min_length=1)
    # Which sections print, in which order (a section left out is not printed at all).
    sections: tuple[Literal[REVIEW_SECTIONS], ...] = REVIEW_SECTIONS  # type: ignore[valid-type]
    # The heading over the achievements grouped by the committee's 评审标准.
    criteria_heading: str = "申报业绩"
    # 专利(已授) and 专利(申请) as two lists (Hubei's 业绩成果), or one.
    split_patents: bool = False

    @field_validator("sections")
    @classmethod
    def _sections_once(cls, sections: tuple[str, ...]) -> tuple[str, ...]:
        if len(sections) != len(set(sections)):
            raise ValueError("评审表栏目重复")
        for must in ("basic", "opinions"):
            if must not in sections:
                raise ValueError(f"评审表必须有栏目 {must!r}")
        return sections

    @field_validator("boxes")
    @classmethod
    def _one_committee(cls, boxes: tuple[StampBox, ...]) -> tuple[StampBox, ...]:
        if sum(box.kind == "committee" for box in boxes) != 1:
            raise ValueError('评审表须有且只有一个评委会评审意见栏（kind = "committee"）')
        return boxes


# The auxiliary forms whose opinion boxes a profile may name (form_boxes).
BOXED_FORMS = ("exception-approval", "transfer")


class Paper(_Data):
    size: Literal["A4", "A3"] = "A4"  # the tables are laid out for A4 at least
    # Margins of the portrait forms, mm: top, right, bottom, left (the left edge is bound).
    margins_mm: tuple[float, float, float, float] = (20.0, 18.0, 18.0, 25.0)

    @field_validator("margins_mm")
    @classmethod
    def _sane(cls, margins: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        if any(not 5 <= m <= 40 for m in margins):
            raise ValueError("页边距应在 5–40 mm 之间")
        return margins


class Printing(_Data):
    """How the province's paper is printed: duplex by default or not, what a blank verso
    says (archive rules want a blank page to say it is blank on purpose), covers numbered."""

    duplex: bool = False
    # Review-form sections that start on a recto when printed duplex (the stamping boxes, say).
    recto_sections: tuple[Literal[REVIEW_SECTIONS], ...] = ()  # type: ignore[valid-type]
    # Printed inside a stylesheet (@page :blank): no quotes, braces or angle brackets.
    blank_text: str = Field(default="此页无正文", min_length=1, max_length=20, pattern=r'^[^"\\<>{};]+$')
    number_cover: bool = True


class Reissue(_Data):
    # Who may reissue a certificate (补换证): staff keys, the platform's keys, or both.
    roles: tuple[Literal["staff", "platform"], ...] = ("staff",)


class Profile(_Data):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    province: str = Field(min_length=2)
    platform: str = Field(min_length=2)
    source: str = ""  # the manual it was written from
    # kind → canonical value → the province's words, the first one printed.
    vocabulary: dict[str, dict[str, tuple[str, ...]]]
    certificate: Certificate
    pledge: Pledge
    review_form: ReviewForm
    forms: tuple[str, ...] = Field(min_length=1)
    number_pattern: str = "9{province}{year}{committee}{seq:06d}"
    paper: Paper = Paper()
    printing: Printing = Printing()
    reissue: Reissue = Reissue()
    # The opinion boxes of 破格申报审批表 and 转评申报表 in the province's words, in order
    # (none given: the form's own 所在单位 / 主管部门 / 人社部门 boxes).
    form_boxes: dict[str, tuple[StampBox, ...]] = {}
    notices: dict[str, str] = {}
    _aliases: dict[str, dict[str, str]] | None = PrivateAttr(default=None)
    _terms: frozenset[str] | None = PrivateAttr(default=None)

    @field_validator("vocabulary")
    @classmethod
    def _known_terms(cls, vocabulary: dict[str, dict[str, tuple[str, ...]]]) -> dict[str, dict[str, tuple[str, ...]]]:
        for kind, words in vocabulary.items():
            canonical = CANONICAL_TERMS.get(kind)
            if canonical is None:
                raise ValueError(f"未知的词表 {kind!r}，可用：{'、'.join(CANONICAL_TERMS)}")
            for value, aliases in words.items():
                if value not in canonical:
                    raise ValueError(f"{kind}: {value!r} 不是标准值（{'、'.join(canonical)}）")
                if not aliases:
                    raise ValueError(f"{kind}.{value}: 至少一个词")
            taken = [alias for aliases in words.values() for alias in aliases]
            if len(taken) != len(set(taken)):
                raise ValueError(f"{kind}: 同一个词对应了两个标准值")
        return vocabulary

    @field_validator("form_boxes")
    @classmethod
    def _boxed_forms(cls, boxes: dict[str, tuple[StampBox, ...]]) -> dict[str, tuple[StampBox, ...]]:
        for slug, listed in boxes.items():
            if slug not in BOXED_FORMS:
                raise ValueError(f"{slug!r} 不能配置意见栏（可配置：{'、'.join(BOXED_FORMS)}）")
            if not listed or any(box.kind != "opinion" for box in listed):
                raise ValueError(f"{slug}: 至少一个意见栏，且只能是 opinion 栏")
        return boxes

    # --- reading -------------------------------------------------------------------------

    def word(self, kind: str, value: str | None) -> str:
        """What the province prints for a canonical value (the value itself if it has no word)."""
        if value is None:
            return ""
        words = self.vocabulary.get(kind, {}).get(value)
        return words[0] if words else value

    def printed(self, kind: str, text: str | None) -> str | None:
        """Free text that may be any accepted word (a list row sent as the platform wrote it)
        as the province prints it: 正常 and 常规申请 both become 常规申报 in Anhui; a text
        that is no word of the kind stays as it is."""
        if text is None:
            return None
        canonical = self.aliases().get(kind, {}).get(text.strip())
        return self.word(kind, canonical) if canonical is not None else text

    def choices(self, kind: str) -> tuple[str, ...]:
        """The words a platform of this province may send, canonical values that have none included."""
        words = self.vocabulary.get(kind, {})
        return tuple(words[v][0] if v in words else v for v in CANONICAL_TERMS[kind])

    def aliases(self) -> dict[str, dict[str, str]]:
        """kind → any accepted word → its canonical value (what validation maps). Built once
        per profile: list rows ask it for every row."""
        if self._aliases is None:
            table: dict[str, dict[str, str]] = {}
            for kind, canonical in CANONICAL_TERMS.items():
                mapping = {value: value for value in canonical}
                for value, words in self.vocabulary.get(kind, {}).items():
                    mapping.update({word: value for word in words})
                table[kind] = mapping
            self._aliases = table
        return self._aliases

    def terms(self) -> frozenset[str]:
        """Every word of the vocabulary and every label the province prints: what line breaking
        keeps whole (service.documents.words)."""
        if self._terms is None:
            words = {word for kind in self.vocabulary.values() for aliases in kind.values() for word in aliases}
            words |= {value for canonical in CANONICAL_TERMS.values() for value in canonical}
            words |= set(self.certificate.labels.values())
            self._terms = frozenset(words)
        return self._terms
