"""Every form the service renders, by its URL slug."""

from __future__ import annotations

from service.forms import auxiliary, publicity, review_form, roster, summary_sheet
from service.forms.spec import FormSpec


def all_forms() -> dict[str, FormSpec]:
    specs = [review_form.SPEC, summary_sheet.SPEC, roster.SPEC, publicity.SPEC, *auxiliary.SPECS]
    return {spec.slug: spec for spec in specs}
