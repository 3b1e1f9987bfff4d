"""The certificate's OFD twin: the package's files, the same boxes as the PDF, the
GB/T 36903 metadata, two GB/T 38540 seals that check, every change to the package found,
and hostile packages refused within bounds."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile
from datetime import timedelta

import pytest
from fontTools.ttLib import TTFont
from lxml import etree

from service import FONTS_DIR
from service.documents.certificate_layout import PHOTO_BOX, SEAL_BOXES, SLOT_BY_KEY
from service.documents.seal_image import default_seal_font, render_round_seal
from service.ofd.certificate import OrgSeal, certificate_page, make_ofd
from service.ofd.package import OFD_NS, zip_package
from service.ofd.reading import OfdLimits, OfdUnreadable, parse_xml, read_package
from service.ofd.signatures import check_package
from service.signing.devpki import generate_dev_pki
from service.signing.errors import KeySourceError
from service.signing.ses import SealData, make_seal
from service.signing.sm2 import certificate_der
from tests.signing.conftest import FROZEN
from tests.test_certificate_doc import CONTRACT, NUMBER, VERIFY_URL, identifier_for, request_of

NS = {"ofd": OFD_NS}


@pytest.fixture(scope="module")
def request_():
    return request_of(CONTRACT)


@pytest.fixture(scope="module")
def pki(request_):
    orgs = [
        (request_.committee.code, request_.committee.name, "committee"),
        (request_.issuer.code, request_.issuer.name, "issuer"),
    ]
    return generate_dev_pki(orgs, FROZEN)


def org_seal(pki, code: str, name: str) -> OrgSeal:
    pair = pki.sm2.seals[code]
    data = SealData(
        es_id=code,
        name=name,
        signer_certs=(certificate_der(pair.cert_pem),),
        picture_png=render_round_seal(name, None, default_seal_font()),
        width_mm=40,
        height_mm=40,
        created=FROZEN,
        valid_start=FROZEN,
        valid_end=FROZEN + timedelta(days=365),
    )
    return OrgSeal(make_seal(data, pki.sm2.maker.signer()), pair.signer())


@pytest.fixture(scope="module")
def seals(pki, request_):
    return (
        org_seal(pki, request_.committee.code, request_.committee.name),
        org_seal(pki, request_.issuer.code, request_.issuer.name),
    )


@pytest.fixture(scope="module")
def page(request_):
    return certificate_page(
        request_, number=NUMBER, identifier=identifier_for(request_), verify_url=VERIFY_URL, fonts_dir=FONTS_DIR
    )


@pytest.fixture(scope="module")
def ofd(page, seals):
    return make_ofd(page, FONTS_DIR, seals, FROZEN + timedelta(hours=1))


def roots(pki):
    return (certificate_der(pki.sm2.root.cert_pem),)


def check(pki, files):
    return check_package(files, roots(pki), parse_xml)


def test_the_package_has_the_standards_files(ofd):
    names = set(read_package(ofd))
    assert {
        "OFD.xml",
        "Doc_0/Document.xml",
        "Doc_0/PublicRes.xml",
        "Doc_0/DocumentRes.xml",
        "Doc_0/Pages/Page_0/Content.xml",
        "Doc_0/Signs/Signatures.xml",
        "Doc_0/Signs/Sign_0/Signature.xml",
        "Doc_0/Signs/Sign_0/SignedValue.dat",
        "Doc_0/Signs/Sign_1/Seal.esl",
    } <= names
    with zipfile.ZipFile(io.BytesIO(ofd)) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(2000, 1, 1, 0, 0, 0)}


def test_metadata_carries_the_identifier_and_number(ofd, request_):
    root = parse_xml(read_package(ofd)["OFD.xml"])
    info = root.find("ofd:DocBody/ofd:DocInfo", NS)
    assert info.findtext("ofd:DocID", namespaces=NS) == identifier_for(request_)
    custom = {c.get("Name"): c.text for c in info.findall("ofd:CustomDatas/ofd:CustomData", NS)}
    assert custom["电子证照标识"] == identifier_for(request_) and custom["证照编号"] == NUMBER
    assert custom["持证主体"] == request_.holder.name


def test_the_page_uses_the_pdfs_boxes_and_an_embedded_subset(ofd, request_):
    files = read_package(ofd)
    content = parse_xml(files["Doc_0/Pages/Page_0/Content.xml"])
    texts = {
        t.findtext("ofd:TextCode", namespaces=NS): t.get("Boundary") for t in content.iter(f"{{{OFD_NS}}}TextObject")
    }
    name_box = SLOT_BY_KEY["name"].box
    x, _, w, _ = (float(v) for v in texts[request_.holder.name].split())
    assert (x, w) == (pytest.approx(name_box.x), pytest.approx(name_box.w))
    assert NUMBER in texts
    images = [i.get("Boundary") for i in content.iter(f"{{{OFD_NS}}}ImageObject")]
    assert f"{PHOTO_BOX.x:.3f} {PHOTO_BOX.y:.3f} {PHOTO_BOX.w:.3f} {PHOTO_BOX.h:.3f}" in images
    font = TTFont(io.BytesIO(files["Doc_0/Res/font_regular.ttf"]))
    cmap = font.getBestCmap()
    assert all(ord(ch) in cmap for ch in request_.holder.name + request_.issuer.name)
    assert len(files["Doc_0/Res/font_regular.ttf"]) < 200_000  # a subset, not the 3 MB face
    # TrueType outlines (readers built on ReportLab print no text in a CFF face), and the
    # face's names, which viewers match it by (hb-subset's default kept none of 1-6)
    assert "glyf" in font and "CFF " not in font
    assert {1, 2, 4, 6} <= {record.nameID for record in font["name"].names}
    stamps = [parse_xml(files[f"Doc_0/Signs/Sign_{i}/Signature.xml"]).find(".//ofd:StampAnnot", NS) for i in (0, 1)]
    committee = SEAL_BOXES["Committee"]
    assert stamps[0].get("Boundary") == f"{committee.x:.3f} {committee.y:.3f} 40.000 40.000"


def test_two_genuine_seals_committee_first(ofd, pki, request_):
    verdict = check(pki, read_package(ofd))
    assert verdict.genuine, verdict.problems
    assert [s.es_id for s in verdict.seals] == [request_.committee.code, request_.issuer.code]


def test_same_input_same_files_but_the_signatures(page, seals):
    a = read_package(make_ofd(page, FONTS_DIR, seals, FROZEN))
    b = read_package(make_ofd(page, FONTS_DIR, seals, FROZEN))
    differ = {name for name in a if a[name] != b[name]}
    # SM2 signatures are randomised (a fresh k each time); every other byte is the same
    assert differ <= {
        "Doc_0/Signs/Sign_0/SignedValue.dat",
        "Doc_0/Signs/Sign_1/SignedValue.dat",
        "Doc_0/Signs/Sign_1/Signature.xml",
    }


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.__setitem__(
            "Doc_0/Pages/Page_0/Content.xml", f["Doc_0/Pages/Page_0/Content.xml"].replace(b"2024", b"2025", 1)
        ),
        lambda f: f.__setitem__("Doc_0/Res/extra.png", b"\x89PNG added"),
        lambda f: f.pop("Doc_0/DocumentRes.xml"),
        lambda f: f.__setitem__("OFD.xml", f["OFD.xml"] + b" "),
        lambda f: f.__setitem__(
            "Doc_0/Signs/Sign_0/Signature.xml", f["Doc_0/Signs/Sign_0/Signature.xml"].replace(b"zhicheng", b"zhichenG")
        ),
        lambda f: f.__setitem__("Doc_0/Signs/Sign_1/note.txt", b"added beside the last seal"),
    ],
    ids=[
        "content-changed",
        "file-added",
        "file-removed",
        "metadata-changed",
        "signature-xml-changed",
        "added-in-sign-dir",
    ],
)
def test_any_change_is_altered(ofd, pki, change):
    files = read_package(ofd)
    change(files)
    verdict = check(pki, read_package(zip_package(files)))
    assert not verdict.genuine and "altered" in verdict.problems


def test_a_package_sealed_by_another_pki_is_untrusted(ofd, request_):
    other = generate_dev_pki([(request_.committee.code, "x", "committee")], FROZEN)
    assert "untrusted" in check(other, read_package(ofd)).problems


def test_unsealed_and_unreadable(ofd, pki):
    files = read_package(ofd)
    files.pop("Doc_0/Signs/Signatures.xml")
    assert check(pki, files).problems == ("unsealed",)
    files = read_package(ofd)
    files["Doc_0/Signs/Signatures.xml"] = b"<not xml"
    assert check(pki, files).problems == ("unreadable",)


def test_hostile_packages_are_refused_within_bounds():
    with pytest.raises(OfdUnreadable, match="not a zip"):
        read_package(b"%PDF-1.7 not a zip")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("OFD.xml", b"<a/>")
        archive.writestr("Doc_0/bomb.xml", b"\0" * (50 * 1024 * 1024))
    with pytest.raises(OfdUnreadable, match="inflates beyond"):
        read_package(bomb.getvalue())
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        for index in range(30):
            archive.writestr(f"f{index}", b"x")
    with pytest.raises(OfdUnreadable, match="at most 20"):
        read_package(many.getvalue(), OfdLimits(max_entries=20))
    escape = io.BytesIO()
    with zipfile.ZipFile(escape, "w") as archive:
        archive.writestr("../../etc/passwd", b"x")
    with pytest.raises(OfdUnreadable, match="not allowed"):
        read_package(escape.getvalue())


def test_entities_are_never_expanded():
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxxxx"><!ENTITY y "&x;&x;&x;&x;&x;&x;">]><a>&y;&y;</a>'
    )
    with pytest.raises(etree.XMLSyntaxError):
        parse_xml(laughs)
    external = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>'
    with pytest.raises(etree.XMLSyntaxError):
        parse_xml(external)
    with pytest.raises(etree.XMLSyntaxError):
        parse_xml(b"<a>" + b"x" * (3 * 1024 * 1024) + b"</a>")


def test_a_production_seal_from_the_cas_pkcs12_file_seals_a_package_that_checks(
    pki, request_, page, tmp_path, monkeypatch
):
    from service.sealing.sm2_seals import _production_seal

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: it makes the PKCS#12 file")
    code = request_.committee.code
    pair = pki.sm2.seals[code]
    (tmp_path / "k.pem").write_bytes(pair.key_pem)
    (tmp_path / "c.pem").write_bytes(pair.cert_pem)
    subprocess.run(
        [openssl, "pkcs12", "-export", "-inkey", str(tmp_path / "k.pem"), "-in", str(tmp_path / "c.pem")]
        + ["-passout", "env:ZC_TEST_SEAL_SECRET", "-out", str(tmp_path / "seal.p12")],
        check=True,
        env={**os.environ, "ZC_TEST_SEAL_SECRET": "口令"},
    )
    monkeypatch.setenv("ZC_TEST_SEAL_SECRET", "口令")
    (tmp_path / "seal.esl").write_bytes(org_seal(pki, code, request_.committee.name).seal_der)
    source = {"pkcs12_path": str(tmp_path / "seal.p12"), "seal_path": str(tmp_path / "seal.esl")}
    committee = _production_seal(code, {**source, "secret_env": "ZC_TEST_SEAL_SECRET"})
    issuer = org_seal(pki, request_.issuer.code, request_.issuer.name)
    verdict = check(pki, read_package(make_ofd(page, FONTS_DIR, (committee, issuer), FROZEN + timedelta(hours=1))))
    assert verdict.genuine, verdict.problems
    with pytest.raises(KeySourceError, match="wrong passphrase"):
        _production_seal(code, source)


def test_a_names_rare_characters_are_set_in_the_faces_the_pdf_takes_them_from(seals, pki):
    """龑 (U+9F91) and 𠇔 (Extension B) are not in Noto Serif SC: the package embeds the
    HanaMin faces' subsets for them, each character in a run of its own face, placed where
    the whole line puts it."""
    import copy

    import uharfbuzz as hb

    data = copy.deepcopy(CONTRACT)
    data["holder"]["name"] = "欧阳龑𠇔"
    rare_request = request_of(data)
    rare_page = certificate_page(
        rare_request, number=NUMBER, identifier=identifier_for(rare_request), verify_url=VERIFY_URL, fonts_dir=FONTS_DIR
    )
    files = read_package(make_ofd(rare_page, FONTS_DIR, seals, FROZEN + timedelta(hours=1)))
    fonts = {
        f.get("ID"): (f.get("FontName"), f.findtext("ofd:FontFile", namespaces=NS))
        for f in parse_xml(files["Doc_0/PublicRes.xml"]).iter(f"{{{OFD_NS}}}Font")
    }
    names = {name: font_id for font_id, (name, _) in fonts.items()}
    assert {"HanaMinA", "HanaMinB"} <= set(names)
    for name, char in (("HanaMinA", "龑"), ("HanaMinB", "𠇔")):
        subset = hb.Face(files["Doc_0/Res/" + fonts[names[name]][1]])
        assert ord(char) in subset.unicodes
    content = parse_xml(files["Doc_0/Pages/Page_0/Content.xml"])
    runs = [
        (t.get("Font"), t.find("ofd:TextCode", NS))
        for t in content.iter(f"{{{OFD_NS}}}TextObject")
        if t.find("ofd:TextCode", NS).text in ("欧阳", "龑", "𠇔")
    ]
    assert [code.text for _, code in runs] == ["欧阳", "龑", "𠇔"]
    assert [font for font, _ in runs][1:] == [names["HanaMinA"], names["HanaMinB"]]
    xs = [float(code.get("X")) for _, code in runs]
    step = float(runs[0][1].get("DeltaX"))  # 阳 one step after 欧, as the rare ones after it
    assert xs[1] - xs[0] == pytest.approx(2 * step, abs=0.01) and xs[2] - xs[1] == pytest.approx(step, abs=0.01)
    assert check(pki, files).genuine


def test_the_frame_and_the_value_rules_are_drawn_as_the_pdf_draws_them(ofd):
    content = parse_xml(read_package(ofd)["Doc_0/Pages/Page_0/Content.xml"])
    paths = [
        (p.get("LineWidth"), p.findtext("ofd:AbbreviatedData", namespaces=NS))
        for p in content.iter(f"{{{OFD_NS}}}PathObject")
    ]
    frames = [data for _, data in paths if data.endswith(" C")]
    # the double border's two lines and the body's rule, each a closed rectangle
    assert [frame.split()[1:3] for frame in frames] == [["6.400", "6.400"], ["8.000", "8.000"], ["10.106", "10.106"]]
    rules = [data for _, data in paths if not data.endswith(" C")]
    assert len(rules) == len([s for s in SLOT_BY_KEY.values() if s.kind == "row"])
    # each rule at the foot of its value's box
    first = next(s for s in SLOT_BY_KEY.values() if s.kind == "row")
    assert f"M {first.box.x:.3f}" in " ".join(rules)
