"""Every form the service renders, by its URL slug."""

from __future__ import annotations

from service.forms import (
    admission_ticket,
    auxiliary,
    publicity,
    publicity_proof,
    review_form,
    roster,
    summary_sheet,
    written_test,
)
from service.forms.spec import FormSpec


def all_forms() -> dict[str, FormSpec]:
    specs = [
        review_form.SPEC,
        summary_sheet.SPEC,
        roster.SPEC,
        publicity.SPEC,
        *auxiliary.SPECS,
        publicity_proof.SPEC,
        admission_ticket.SPEC,
        written_test.SPEC,
    ]
    return {spec.slug: spec for spec in specs}
