"""The certificate request (证书签发请求) sent by a provincial title platform.

Field names follow ``tests/data/contract/certificate-request.json``. Every
text has a fixed upper bound: the certificate is one page of fixed boxes
(``service.forms.certificate``), and its tests print the longest value each
limit allows to prove that nothing overlaps. Raise a limit only together
with the layout.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator, model_validator
from pydantic_core import PydanticCustomError

from service.contract.common import GENDERS, LEVELS, ContractModel, Day, Photo, identifier_text

# How each field is bounded; the layout is checked against exactly these.
MAX_CHARS = {
    "name": 50,  # the declaration's Name: transliterated minority names run long
    "id_type": 20,  # 港澳台居民居住证, 外国人永久居留身份证 ...
    "id_number": 30,  # 18 for the resident ID; passports and permits are shorter
    "work_unit": 60,
    "series": 30,  # 工程技术人员, 自然科学研究人员 ...
    "specialty": 30,
    "title": 30,  # 资格名称: 正高级工程师, 主任医师 ...
    "nature": 20,  # 资格性质: 社会化, 单位自主评审 ...
    "approval_doc_no": 40,  # 鄂职称〔2024〕15号
    "committee_code": 20,
    "committee_name": 60,
    "region": 30,
    "organizer": 60,
    "issuer_name": 60,
    "declaration_id": 64,
}

# 取得方式 (DOMAIN.md). The declaration's ROUTES describe how one applies
# (正常/破格/转评); the certificate says how the title was obtained.
CERTIFICATE_ROUTES = ("评审", "认定", "考试", "转评", "破格")

_ID_18 = re.compile(r"^\d{17}[\dXx]$")
# GB 32100 统一社会信用代码: 18 characters of digits and capitals without I O S V Z.
# The check character is not enforced: registries hold codes that fail it
# (the contract's own example does), and the certificate prints what it is given.
_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")


# Everything on the certificate is a name, a number or a code: printed on one page,
# searched by the public, compared by the registry; no invisible character in any.
PersonName = identifier_text(MAX_CHARS["name"])
IdType = identifier_text(MAX_CHARS["id_type"])
IdNumber = identifier_text(MAX_CHARS["id_number"])
WorkUnit = identifier_text(MAX_CHARS["work_unit"])
Series = identifier_text(MAX_CHARS["series"])
Specialty = identifier_text(MAX_CHARS["specialty"])
TitleName = identifier_text(MAX_CHARS["title"])
Nature = identifier_text(MAX_CHARS["nature"])
DocNumber = identifier_text(MAX_CHARS["approval_doc_no"])
OrgCode = identifier_text(MAX_CHARS["committee_code"])
OrgName = identifier_text(MAX_CHARS["committee_name"])
IssuerName = identifier_text(MAX_CHARS["issuer_name"])
Region = identifier_text(MAX_CHARS["region"])
Organizer = identifier_text(MAX_CHARS["organizer"])
DeclarationId = identifier_text(MAX_CHARS["declaration_id"])


class Holder(ContractModel):
    name: PersonName
    gender: Literal[GENDERS]
    birth_date: Day
    id_type: IdType = "居民身份证"
    id_number: IdNumber
    work_unit: WorkUnit
    photo: Photo

    @field_validator("id_number")
    @classmethod
    def _id_number_shape(cls, value: str, info) -> str:
        # As in the declaration: the shape is checked, the check digit is not
        # (legacy numbers fail it and must still print as on the ID card).
        if info.data.get("id_type") == "居民身份证":
            if not _ID_18.match(value):
                raise PydanticCustomError("id_number", "居民身份证号码应为 18 位数字（末位可为 X）")
            return value.upper()
        return value


class Qualification(ContractModel):
    series: Series
    specialty: Specialty
    title: TitleName
    level: Literal[LEVELS]
    route: Literal[CERTIFICATE_ROUTES]
    nature: Nature
    acquired_on: Day
    approval_doc_no: DocNumber


class CertCommittee(ContractModel):
    code: OrgCode
    name: OrgName
    region: Region | None = None
    organizer: Organizer | None = None


class Issuer(ContractModel):
    code: str
    name: IssuerName

    @field_validator("code")
    @classmethod
    def _uscc_shape(cls, value: str) -> str:
        value = value.strip().upper()
        if not _USCC.match(value):
            raise PydanticCustomError(
                "uscc", "发证机关代码应为 18 位统一社会信用代码（数字和大写字母，不含 I、O、S、V、Z）"
            )
        return value


REISSUE_KINDS = ("补发", "换发")


class Replaces(ContractModel):
    """What a reissued certificate replaces, printed on it: 补发 (the old one lost) or 换发
    (its fields corrected), and the old certificate's number and issue date. A paper
    certificate never issued electronically is the source of a 补发 this way too: the
    platform sends its 原证书编号 and 原发证日期 with an ordinary issuance request."""

    kind: Literal[REISSUE_KINDS]
    original_number: DocNumber
    original_issue_date: Day | None = None


class CertificateRequest(ContractModel):
    declaration_id: DeclarationId
    holder: Holder
    qualification: Qualification
    committee: CertCommittee
    issuer: Issuer
    issue_date: Day
    replaces: Replaces | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> CertificateRequest:
        acquired = self.qualification.acquired_on
        if acquired > self.issue_date:
            raise PydanticCustomError("date_order", "取得资格时间不能晚于发证日期")
        if self.holder.birth_date >= acquired:
            raise PydanticCustomError("date_order", "出生日期应早于取得资格时间")
        return self
