"""GB/T 38540-2020 electronic seals, version 4: 印章数据 (``SES_Seal``, the organisation's
seal image and properties, signed by the seal maker) and 签章数据 (``SES_Signature``: the
seal, the time, the hash of what is sealed, signed by the organisation's SM2 key).

The types below are the standard's ASN.1 module (§ 6.2 and § 7.2), field for field:

    SES_Seal ::= SEQUENCE { esealInfo SES_SealInfo, cert OCTET STRING,
                            signAlgID OBJECT IDENTIFIER, signedValue BIT STRING }
    SES_SealInfo ::= SEQUENCE { header SES_Header, esID IA5String,
                                property SES_ESPropertyInfo, picture SES_ESPictrueInfo,
                                extDatas ExtensionDatas OPTIONAL }
    SES_Signature ::= SEQUENCE { toSign TBS_Sign, cert OCTET STRING,
                                 signatureAlgID OBJECT IDENTIFIER, signature BIT STRING,
                                 timeStamp [0] BIT STRING OPTIONAL }
    TBS_Sign ::= SEQUENCE { version INTEGER, eseal SES_Seal, timeInfo GeneralizedTime,
                            dataHash BIT STRING, propertyInfo IA5String,
                            extDatas ExtensionDatas OPTIONAL }

The seal maker signs the DER of ``SEQUENCE {esealInfo, cert, signAlgID}``; the signer
signs the DER of ``TBS_Sign``; ``dataHash`` is SM3 of the sealed bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import core

from .sm2 import SM2_WITH_SM3_OID, Sm2Signer, sm3

SES_VERSION = 4
SEAL_TYPE_OFFICIAL = 1  # 单位印章 (2 would be 个人印章)


class ExtData(core.Sequence):
    _fields = [
        ("extnID", core.ObjectIdentifier),
        ("critical", core.Boolean, {"default": False}),
        ("extnValue", core.OctetString),
    ]


class ExtensionDatas(core.SequenceOf):
    _child_spec = ExtData


class SesHeader(core.Sequence):
    _fields = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]


class CertInfoList(core.SequenceOf):
    _child_spec = core.OctetString


class SesPropertyInfo(core.Sequence):
    _fields = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("certListType", core.Integer),  # 1: the certificates themselves
        ("certList", CertInfoList),
        ("createDate", core.GeneralizedTime),
        ("validStart", core.GeneralizedTime),
        ("validEnd", core.GeneralizedTime),
    ]


class SesPictureInfo(core.Sequence):  # the standard spells it SES_ESPictrueInfo
    _fields = [
        ("type", core.IA5String),
        ("data", core.OctetString),
        ("width", core.Integer),  # millimetres
        ("height", core.Integer),
    ]


class SesSealInfo(core.Sequence):
    _fields = [
        ("header", SesHeader),
        ("esID", core.IA5String),
        ("property", SesPropertyInfo),
        ("picture", SesPictureInfo),
        ("extDatas", ExtensionDatas, {"optional": True}),
    ]


class SesSeal(core.Sequence):
    _fields = [
        ("esealInfo", SesSealInfo),
        ("cert", core.OctetString),
        ("signAlgID", core.ObjectIdentifier),
        ("signedValue", core.OctetBitString),
    ]


class _SealToSign(core.Sequence):
    _fields = [("esealInfo", SesSealInfo), ("cert", core.OctetString), ("signAlgID", core.ObjectIdentifier)]


class TbsSign(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("eseal", SesSeal),
        ("timeInfo", core.GeneralizedTime),
        ("dataHash", core.OctetBitString),
        ("propertyInfo", core.IA5String),
        ("extDatas", ExtensionDatas, {"optional": True}),
    ]


class SesSignature(core.Sequence):
    _fields = [
        ("toSign", TbsSign),
        ("cert", core.OctetString),
        ("signatureAlgID", core.ObjectIdentifier),
        ("signature", core.OctetBitString),
        ("timeStamp", core.OctetBitString, {"implicit": 0, "optional": True}),
    ]


@dataclass(frozen=True)
class SealData:
    """What the seal maker puts in an organisation's 印章数据."""

    es_id: str  # the seal's code (ASCII): here the organisation's code
    name: str  # 印章名称
    signer_certs: tuple[bytes, ...]  # DER certificates allowed to use the seal
    picture_png: bytes
    width_mm: int
    height_mm: int
    created: datetime
    valid_start: datetime
    valid_end: datetime
    vendor_id: str = "ZHICHENG"


def make_seal(data: SealData, maker: Sm2Signer) -> bytes:
    """The DER ``SES_Seal`` of ``data``, signed by the seal maker."""
    info = SesSealInfo(
        {
            "header": {"id": "ES", "version": SES_VERSION, "vid": data.vendor_id},
            "esID": data.es_id,
            "property": {
                "type": SEAL_TYPE_OFFICIAL,
                "name": data.name,
                "certListType": 1,
                "certList": list(data.signer_certs),
                "createDate": data.created,
                "validStart": data.valid_start,
                "validEnd": data.valid_end,
            },
            "picture": {"type": "PNG", "data": data.picture_png, "width": data.width_mm, "height": data.height_mm},
        }
    )
    to_sign = _SealToSign({"esealInfo": info, "cert": maker.cert_der, "signAlgID": SM2_WITH_SM3_OID})
    signature = maker.sign(to_sign.dump())
    return SesSeal(
        {"esealInfo": info, "cert": maker.cert_der, "signAlgID": SM2_WITH_SM3_OID, "signedValue": signature}
    ).dump()


def make_signature(
    seal_der: bytes,
    data: bytes,
    property_info: str,
    at: datetime,
    signer: Sm2Signer,
    timestamp: Callable[[bytes], bytes | None] | None = None,
) -> bytes:
    """The DER ``SES_Signature`` over ``data`` (its SM3 hash), with the seal ``seal_der``;
    ``timestamp(signature value)`` → a DER RFC 3161 token (``ses_timestamp``), or None
    when no TSA answered: the seal is made without one."""
    tbs = TbsSign(
        {
            "version": SES_VERSION,
            "eseal": SesSeal.load(seal_der),
            "timeInfo": at,
            "dataHash": sm3(data),
            "propertyInfo": property_info,
        }
    )
    value = signer.sign(tbs.dump())
    fields = {"toSign": tbs, "cert": signer.cert_der, "signatureAlgID": SM2_WITH_SM3_OID, "signature": value}
    token = timestamp(value) if timestamp is not None else None
    if token is not None:
        fields["timeStamp"] = token
    return SesSignature(fields).dump()


def seal_to_sign(seal: SesSeal) -> bytes:
    """The bytes the seal maker signed."""
    info = seal["esealInfo"]
    return _SealToSign({"esealInfo": info, "cert": seal["cert"], "signAlgID": seal["signAlgID"]}).dump()
