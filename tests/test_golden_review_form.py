"""Golden images of the review form: the contract example and its variations."""

from __future__ import annotations

import pytest

from service import FONTS_DIR
from service.config import Limits
from service.contract.declaration import Declaration
from service.contract.parse import validate_payload
from service.forms.review_form import SPEC
from service.forms.spec import RenderContext, render_form
from tests import variants
from tests.golden import assert_matches_golden

CASES = {
    "contract": lambda d: d,
    "long": variants.long_variant,
    "minimal": variants.minimal,
    "teacher-exceptional": lambda d: variants.exceptional(variants.teacher(d)),
    "transfer": variants.transfer,
}


@pytest.mark.parametrize("case", CASES)
def test_review_form_matches_golden(renderer, declaration, case):
    payload = validate_payload(Declaration, CASES[case](declaration), Limits())
    assert_matches_golden(render_form(renderer, SPEC, payload, RenderContext(FONTS_DIR)), f"review-form/{case}")
