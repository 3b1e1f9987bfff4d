"""Province profiles: each shipped one validates; a platform of Anhui, Fujian or Hubei posts its
own words and gets its own paper; a profile with an unknown key or a missing label is refused
at start-up, naming the key."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service import PROFILES_DIR
from service.app import create_app
from service.contract.declaration import Declaration
from service.contract.parse import validate_payload
from service.forms.catalog import all_forms
from service.forms.spec import RenderContext, render_blank, render_form
from service.profiles.load import ProfileError, available, load_profile
from tests.conftest import auth, load_contract, make_key
from tests.pdftext import pdf_text

SHIPPED = ("anhui", "fujian", "hubei")


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def settings_for(settings, name: str, folder: Path = PROFILES_DIR):
    return settings.model_copy(update={"profile": name, "profiles_dir": folder}).with_profile(
        load_profile(name, folder)
    )


# --- a declaration in Anhui's words (职称申报系统操作手册（申报个人）) ------------------------


def anhui_declaration(base: dict) -> dict:
    """The manual's own sample: a 小学数学 teacher declaring 高级教师 to 蚌埠市中小学教师系列
    高级职称评审委员会 by 常规申报, her 合格学历 marked, her achievements under the
    中小学教师 评审标准's headings (思想政治 … 教研科研条件) with the items its 提交审核 lists."""
    d = copy.deepcopy(base)
    d["application"].update(
        {
            "route": "常规申报",
            "series": "中小学教师",
            "specialty": "小学数学",
            "title": "高级教师",
            "level": "高级",
        }
    )
    d["plan"]["committee"]["name"] = "蚌埠市中小学教师系列高级职称评审委员会"
    d["education"][0]["roles"] = ["合格学历", "最高学历"]
    d["current_titles"][0].update(
        {"reviewed_on": "2016-11-20", "issued_on": "2016-12-30", "unit_when_obtained": "青阳路小学"}
    )
    d["teacher_info"] = {
        "teacher_category": "专任教师",
        "teaching_years": 12,
        "rural_teaching_years": 3,
        "principal_training_certificate": "校（园）长任职资格培训合格证书 皖教培〔2019〕0231号",
    }
    columns = ["类别", "时间", "业绩内容", "排名"]
    d["criteria"] = [
        {
            "heading": "思想政治",
            "columns": columns,
            "items": [{"cells": ["任职期表彰奖励", "2020-06", "市级优秀教师", "1/1"]}],
        },
        {
            "heading": "乡村任教或支教",
            "columns": columns,
            "items": [{"cells": ["乡村任教或支教经历", "2017-09", "固镇县新马桥镇中心小学支教一年", "1/1"]}],
        },
        {
            "heading": "能力条件",
            "columns": columns,
            "items": [{"cells": ["行动研究报告", "2021-03", "小学数学建模教学行动研究", "1/3"]}],
        },
        {
            "heading": "业绩条件",
            "columns": columns,
            "items": [
                {"cells": ["教学成果奖", "2020-06", "基于积极语用观的核心素养培育(省部)一等", "1/10"]},
                {"cells": ["优秀班主任或所带班级获得表彰", "2021-09", "区级优秀班集体", "1/1"]},
            ],
        },
        {
            "heading": "教研科研条件",
            "columns": columns,
            "items": [{"cells": ["主持并完成课题研究", "2022-01", "小学数学单元整体教学研究（市级课题）", "1/5"]}],
        },
    ]
    for key in ("unit", "recommending", "competent", "approval", "committee"):
        d["opinions"].pop(key, None)
    return d


@pytest.fixture(scope="module")
def anhui():
    return load_profile("anhui", PROFILES_DIR)


def test_every_shipped_profile_validates_with_its_forms_known():
    assert set(SHIPPED) <= set(available(PROFILES_DIR))
    forms = all_forms()
    for name in SHIPPED:
        profile = load_profile(name, PROFILES_DIR)
        assert profile.name == name
        assert set(profile.forms) <= set(forms), name
        assert sum(box.kind == "committee" for box in profile.review_form.boxes) == 1


def test_anhui_words_are_accepted_and_kept_canonical(settings, contract_declaration, anhui):
    limits = settings_for(settings, "anhui").limits
    d = validate_payload(Declaration, anhui_declaration(contract_declaration), limits)
    assert d.application.route == "正常"
    assert "申报学历" in d.education[0].roles
    assert anhui.word("route", d.application.route) == "常规申报"


@pytest.mark.parametrize(
    ("name", "word", "choices"),
    [
        ("hubei", "常规申报", "可用值：正常、破格、平级转评"),
        ("anhui", "平级转评", "可用值：常规申报、破格申报、转评申报"),
        ("fujian", "特殊", "可用值：常规申报、破格申报、转评申报"),
    ],
)
def test_a_word_the_province_does_not_use_is_refused_naming_its_words(
    settings, contract_declaration, name, word, choices
):
    limits = settings_for(settings, name).limits
    data = copy.deepcopy(contract_declaration)
    data["application"]["route"] = word
    with pytest.raises(Exception) as caught:
        validate_payload(Declaration, data, limits)
    errors = {e.path: e.message for e in caught.value.errors}
    assert errors == {"application.route": choices}


def test_anhuis_review_form_prints_its_words_sections_and_all_five_stamping_boxes(
    settings, renderer, contract_declaration, anhui
):
    limits = settings_for(settings, "anhui").limits
    d = validate_payload(Declaration, anhui_declaration(contract_declaration), limits)
    ctx = RenderContext(settings.fonts_dir, profile=anhui)
    text = squash(pdf_text(render_form(renderer, all_forms()["review-form"], d, ctx)))
    for word in ("常规申报", "合格学历", "校（园）长岗位培训证书", "皖教培〔2019〕0231号"):
        assert word in text, word
    # the criteria headings in the committee's order, each with its items
    headings = (
        "申报业绩（一）思想政治",
        "（二）乡村任教或支教",
        "（三）能力条件",
        "（四）业绩条件",
        "（五）教研科研条件",
    )
    positions = [text.index(h) for h in headings]
    assert positions == sorted(positions)
    for item in ("任职期表彰奖励", "行动研究报告", "主持并完成课题研究", "区级优秀班集体"):
        assert item in text, item
    # no opinion in the payload: every body's box is still there, with room for its seal
    boxes = ("用人单位意见", "业务主管部门意见", "职称管理部门意见", "评委会组建单位意见", "评委会评审意见")
    at = [text.index(squash(b)) for b in boxes]
    assert at == sorted(at)
    for seal in (
        "（用人单位盖章）",
        "（业务主管部门盖章）",
        "（职称管理部门盖章）",
        "（评委会组建单位盖章）",
        "（评委会盖章）",
    ):
        assert seal in text, seal
    assert "基层单位意见" not in text  # Hubei's word, not Anhui's
    # the sections in the order of Anhui's 申报一览表: 工作经历 before 学历教育, 申报业绩 before 业绩成果
    assert text.index("、中小学教师信息") < text.index("、工作经历") < text.index("、学历教育")
    assert text.index("、申报业绩") < text.index("、业绩成果")


def test_hubeis_boxes_are_printed_even_without_opinion_text(settings, renderer, contract_declaration):
    hubei = load_profile("hubei", PROFILES_DIR)
    data = copy.deepcopy(contract_declaration)
    data["opinions"] = {}
    d = validate_payload(Declaration, data, settings_for(settings, "hubei").limits)
    text = squash(
        pdf_text(render_form(renderer, all_forms()["review-form"], d, RenderContext(settings.fonts_dir, profile=hubei)))
    )
    for box in ("基层单位意见", "推荐单位意见", "主管部门意见", "公示情况", "评审委员会评审意见", "审批（备案）意见"):
        assert squash(box) in text, box


@pytest.mark.parametrize("name", SHIPPED)
def test_each_provinces_pledge_is_its_own(settings, renderer, name):
    profile = load_profile(name, PROFILES_DIR)
    pdf = render_blank(renderer, all_forms()["integrity-pledge"], RenderContext(settings.fonts_dir, profile=profile))
    text = squash(pdf_text(pdf))
    assert squash(profile.pledge.title) in text
    assert squash(profile.pledge.text) in text
    assert squash(profile.pledge.signature) in text


def test_hubei_lists_granted_and_applied_patents_apart(settings, renderer, contract_declaration):
    data = copy.deepcopy(contract_declaration)
    base = data["patents"][0]
    data["patents"] = [
        {**base, "status": "已授权", "title": "一种授权专利"},
        {**base, "status": "申请中", "title": "一种申请专利"},
    ]
    d = validate_payload(Declaration, data, settings_for(settings, "hubei").limits)
    hubei = load_profile("hubei", PROFILES_DIR)
    text = squash(
        pdf_text(render_form(renderer, all_forms()["review-form"], d, RenderContext(settings.fonts_dir, profile=hubei)))
    )
    granted, applied = text.index("专利（已授）"), text.index("专利（申请）")
    assert granted < text.index("一种授权专利") < applied < text.index("一种申请专利")


# --- refused at start-up ------------------------------------------------------------------


def broken_copy(tmp_path: Path, edit) -> Path:
    folder = tmp_path / "profiles"
    folder.mkdir()
    source = (PROFILES_DIR / "anhui.toml").read_text("utf-8")
    (folder / "anhui.toml").write_text(edit(source), "utf-8")
    return folder


def test_an_unknown_key_is_refused_naming_it(tmp_path):
    folder = broken_copy(tmp_path, lambda s: s.replace("[certificate]\n", '[certificate]\ncolour = "red"\n'))
    with pytest.raises(ProfileError, match=r"anhui\.toml: certificate\.colour: 未知的键"):
        load_profile("anhui", folder)


def test_a_missing_label_is_refused_naming_it(tmp_path):
    folder = broken_copy(tmp_path, lambda s: s.replace('acquired_on = "取得资格时间"\n', ""))
    with pytest.raises(ProfileError, match=r"缺少标签 acquired_on"):
        load_profile("anhui", folder)


def test_every_shipped_province_issues_pdf_and_ofd_each_with_its_seal_algorithm():
    for name in SHIPPED:
        certificate = load_profile(name, PROFILES_DIR).certificate
        assert certificate.formats == ("pdf", "ofd") and certificate.issues_ofd
        assert certificate.seals == {"pdf": "ecdsa", "ofd": "sm2"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ('formats = ["ofd"]', '必须含 "pdf"'),
        ('formats = ["pdf", "pdf"]', "不重复"),
        ('formats = ["pdf", "docx"]', r"formats\.1"),
        ('seals = { pdf = "ecdsa", ofd = "ecdsa" }', r"seals\.ofd: ofd 文件的印章只支持 'sm2'"),
        ('seals = { pdf = "sm2", ofd = "sm2" }', r"seals\.pdf: pdf 文件的印章只支持 'ecdsa'"),
    ],
)
def test_formats_and_seal_algorithms_are_checked_at_start_up(tmp_path, edit, message):
    key = edit.split(" ", 1)[0]
    folder = broken_copy(tmp_path, lambda s: re.sub(rf"^{key} = .*$", edit, s, count=1, flags=re.M))
    with pytest.raises(ProfileError, match=message):
        load_profile("anhui", folder)


def test_the_service_does_not_start_on_a_broken_profile(tmp_path, settings):
    folder = broken_copy(tmp_path, lambda s: s.replace('"破格" = ["破格申报"]', '"特别" = ["破格申报"]'))
    with pytest.raises(ProfileError, match=r"vocabulary.*'特别' 不是标准值"):
        create_app(settings.model_copy(update={"profile": "anhui", "profiles_dir": folder}))
    with pytest.raises(ProfileError, match=r"没有名为 'hunan' 的省份配置"):
        create_app(settings.model_copy(update={"profile": "hunan"}))


# --- through the API ------------------------------------------------------------------------


@pytest.fixture
def anhui_app(settings):
    s = settings.model_copy(update={"profile": "anhui", "seal_level": "B-T"})
    with TestClient(create_app(s)) as client:
        yield client, {role: make_key(s, role) for role in ("platform", "staff")}


def test_profiles_are_listed_with_the_active_one(anhui_app):
    client, keys = anhui_app
    listed = client.get("/api/v1/profiles", headers=auth(keys["platform"])).json()
    assert {p["name"] for p in listed} >= set(SHIPPED)
    active = [p for p in listed if p["active"]]
    assert [p["name"] for p in active] == ["anhui"]
    assert active[0]["routes"] == ["常规申报", "破格申报", "转评申报"]
    full = client.get("/api/v1/profiles/fujian", headers=auth(keys["platform"])).json()
    assert full["platform"] == "福建省职称申报评审管理平台"
    assert client.get("/api/v1/profiles/hunan", headers=auth(keys["platform"])).status_code == 404


def test_forms_outside_the_profile_are_not_served(anhui_app):
    client, keys = anhui_app
    slugs = {f["form"] for f in client.get("/api/v1/forms", headers=auth(keys["platform"])).json()}
    assert "unit-review" not in slugs and "review-form" in slugs  # 单位审核意见表 is Hubei's
    assert client.post("/api/v1/forms/unit-review", json={}, headers=auth(keys["platform"])).status_code == 404


def test_anhuis_certificate_has_its_labels_and_its_platform_reissues(anhui_app):
    client, keys = anhui_app
    body = load_contract("certificate-request.json")
    issued = client.post("/api/v1/certificates", json=body, headers=auth(keys["platform"]))
    assert issued.status_code == 201, issued.text
    number = issued.json()["number"]
    pdf = client.get(f"/api/v1/certificates/{number}/pdf", headers=auth(keys["platform"])).content
    text = squash(pdf_text(pdf))
    for label in ("取得资格时所在单位", "发证机构", "评委会名称", "职称级别", "职称取得方式", "职称证书"):
        assert label in text, label
    # Anhui's platform makes the new certificate once the 发证机关 approves a 补换证
    reissued = client.post(
        f"/api/v1/certificates/{number}/reissue",
        json={"reason": "证书遗失，申请补发", "kind": "补发"},
        headers=auth(keys["platform"]),
    )
    assert reissued.status_code == 201, reissued.text
    version = reissued.json()["version"]
    pdf = client.get(f"/api/v1/certificates/{number}/pdf?version={version}", headers=auth(keys["platform"])).content
    text = squash(pdf_text(pdf))
    assert f"补发原证书编号{number}" in text


def test_hubeis_platform_may_not_reissue_and_its_certificate_says_批准日期(client, keys):
    body = load_contract("certificate-request.json")
    issued = client.post("/api/v1/certificates", json=body, headers=auth(keys["platform"]))
    assert issued.status_code == 201, issued.text
    number = issued.json()["number"]
    text = squash(pdf_text(client.get(f"/api/v1/certificates/{number}/pdf", headers=auth(keys["platform"])).content))
    assert "批准日期" in text and "取得资格时间" not in text
    refused = client.post(
        f"/api/v1/certificates/{number}/reissue", json={"reason": "更正"}, headers=auth(keys["platform"])
    )
    assert refused.status_code == 403
    assert "湖北省" in refused.json()["message"]


def test_a_province_that_masks_the_id_number_prints_it_masked(tmp_path, settings):
    folder = tmp_path / "profiles"
    shutil.copytree(PROFILES_DIR, folder)
    path = folder / "fujian.toml"
    path.write_text(path.read_text("utf-8").replace('id_number = "full"', 'id_number = "masked"'), "utf-8")
    s = settings.model_copy(update={"profile": "fujian", "profiles_dir": folder, "seal_level": "B-T"})
    with TestClient(create_app(s)) as client:
        key = make_key(s, "platform")
        body = load_contract("certificate-request.json")
        issued = client.post("/api/v1/certificates", json=body, headers=auth(key))
        assert issued.status_code == 201, issued.text
        pdf = client.get(f"/api/v1/certificates/{issued.json()['number']}/pdf", headers=auth(key)).content
    text = squash(pdf_text(pdf))
    assert "420106********1525" in text
    assert "420106198905261525" not in text


@pytest.mark.parametrize(
    ("name", "boxes"),
    [
        ("hubei", ("所在单位意见", "主管部门意见", "人社部门审批意见")),
        ("anhui", ("用人单位意见", "业务主管部门意见", "职称管理部门审批意见")),
    ],
)
def test_the_exception_forms_boxes_are_the_provinces(settings, renderer, contract_declaration, name, boxes):
    profile = load_profile(name, PROFILES_DIR)
    data = copy.deepcopy(contract_declaration)
    data["application"]["route"] = profile.choices("route")[1]  # 破格 in the province's word
    spec = all_forms()["exception-approval"]
    d = spec.validate(data, settings_for(settings, name).limits)
    ctx = RenderContext(settings.fonts_dir, profile=profile)
    for pdf in (render_form(renderer, spec, d, ctx), render_blank(renderer, spec, ctx)):
        text = squash(pdf_text(pdf))
        at = [text.index(box) for box in boxes]
        assert at == sorted(at)


def test_a_long_certificate_label_stays_on_its_row_inside_its_column(renderer, settings):
    """Anhui's 取得资格时所在单位 is set a step smaller, on one line, inside the label column."""
    from service.contract.certificate import CertificateRequest
    from service.documents.certificate_layout import COLUMNS, LABEL_W, ROW_H, ROW_TOP
    from service.forms.certificate import render_certificate, wording_of
    from tests.test_certificate_doc import glyphs as glyph_boxes

    anhui = load_profile("anhui", PROFILES_DIR)
    request = CertificateRequest.model_validate(load_contract("certificate-request.json"))
    pdf = render_certificate(
        renderer,
        request,
        number="9342024420001000123",
        identifier="1.2.3",
        verify_url="http://x/v/t",
        wording=wording_of(anhui.certificate),
    )
    label = "取得资格时所在单位"
    row = next(i for i, (left, _right) in enumerate(anhui.certificate.rows) if left == "work_unit")
    glyphs = glyph_boxes(pdf)
    text = "".join(char for char, _ in glyphs)
    start = text.index(label)
    boxes = [box for _, box in glyphs[start : start + len(label)]]
    top, bottom = ROW_TOP + row * ROW_H, ROW_TOP + (row + 1) * ROW_H
    assert all(COLUMNS[0] - 0.2 <= b.x and b.right <= COLUMNS[0] + LABEL_W + 0.2 for b in boxes)
    assert all(top <= b.y and b.bottom <= bottom for b in boxes)
    assert max(b.y for b in boxes) - min(b.y for b in boxes) < 0.5  # one line


def test_rows_sent_as_text_print_the_provinces_route_words(settings, renderer):
    anhui = load_profile("anhui", PROFILES_DIR)
    limits = settings_for(settings, "anhui").limits
    ctx = RenderContext(settings.fonts_dir, profile=anhui)
    publicity = load_contract("publicity-pre-review.json")
    for row, word in zip(publicity["rows"], ("正常", "破格", "常规申请")):
        row["route"] = word
    spec = all_forms()["publicity"]
    text = squash(pdf_text(render_form(renderer, spec, spec.validate(publicity, limits), ctx)))
    assert "常规申报" in text and "破格申报" in text
    assert "正常" not in text and "常规申请" not in text


# --- every string of a province's own payload on its paper -------------------------------


def fujian_declaration(base: dict) -> dict:
    """From the Fujian manual: a 中小学系列 declaration by 常规申报, 最高学历 marked, the
    teacher's 任教年级 and 校（园）长岗位培训, achievements under 能力条件, 业绩条件 and
    教科研条件 (its test 评审标准), two 年度考核 results of 合格."""
    d = copy.deepcopy(base)
    d["application"].update({"route": "常规申报", "series": "中小学系列", "specialty": "初中语文", "title": "一级教师"})
    d["plan"]["committee"]["name"] = "福州市中小学教师中级职务评审委员会"
    d["education"][0]["roles"] = ["最高学历"]
    d["teacher_info"] = {
        "school_stage": "初中二年级",
        "teaching_years": 9,
        "principal_training_certificate": "校（园）长岗位培训合格证书 闽教培〔2021〕0057号",
    }
    for review in d["annual_reviews"]:
        review["result"] = "合格"
    columns = ["业绩名称", "时间", "业绩内容", "排名"]
    standard = "中小学教师专业技术职务评审标准（测试）"
    d["criteria"] = [
        {
            "heading": "能力条件",
            "standard": standard,
            "columns": columns,
            "items": [{"cells": ["公开课", "2021-05", "县级公开课《背影》", "1/1"]}],
        },
        {
            "heading": "业绩条件",
            "standard": standard,
            "columns": columns,
            "items": [{"cells": ["班主任工作", "2022-07", "所带班级获评市级先进班集体", "1/1"]}],
        },
        {
            "heading": "教科研条件",
            "standard": standard,
            "columns": columns,
            "items": [{"cells": ["课题研究", "2023-01", "初中语文整本书阅读教学研究", "2/5"]}],
        },
    ]
    return d


def hubei_declaration(base: dict) -> dict:
    """From Hubei's 网报指南 and 系统操作手册: 中小学教师系列, 高中教师, 乡教高, 正常, the
    three 学历 kinds, 论文 with 刊号级别 and 主办单位 and its 出版情况, 专利 granted and applied."""
    d = copy.deepcopy(base)
    d["application"].update(
        {
            "route": "正常",
            "series": "中小学教师系列",
            "specialty": "高中教师",
            "title": "高级教师",
            "work_post_specialty": "乡教高",
        }
    )
    d["plan"]["committee"]["name"] = "鄂州市中小学教师高级职称评审委员会"
    d["papers"][0].update(
        {"journal_level": "省级", "sponsor": "湖北省教育科学研究院", "publication_note": "化工进展 2022-03"}
    )
    granted = d["patents"][0]
    d["patents"] = [
        granted,
        {**granted, "status": "申请中", "title": "一种教学演示用反应装置", "number": "CN202310000000.1"},
    ]
    return d


@pytest.mark.parametrize(
    ("name", "build"),
    [("anhui", anhui_declaration), ("fujian", fujian_declaration), ("hubei", hubei_declaration)],
)
def test_a_provinces_own_payload_prints_every_string_on_its_review_form(
    settings, renderer, contract_declaration, name, build
):
    from tests.test_review_form import printed, printed_strings

    profile = load_profile(name, PROFILES_DIR)
    payload = build(contract_declaration)
    d = validate_payload(Declaration, payload, settings_for(settings, name).limits)
    text = squash(
        pdf_text(
            render_form(renderer, all_forms()["review-form"], d, RenderContext(settings.fonts_dir, profile=profile))
        )
    )
    missing = [s for s in printed_strings(payload) if not printed(s, text)]
    assert missing == []
