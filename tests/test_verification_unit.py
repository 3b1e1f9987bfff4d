"""The pure parts of 证书查验: masking, verdicts, the rate limiter."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from service.verification.facts import judge_upload, mask_id
from service.verification.ratelimit import RateLimiter


@pytest.mark.parametrize(
    ("given", "masked"),
    [
        ("420106198905261525", "420106********1525"),
        ("42010619890526152X", "420106********152X"),
        ("G12345678", "G*******8"),
        ("AB", "**"),
    ],
)
def test_id_numbers_are_masked(given, masked):
    assert mask_id(given) == masked


@dataclass
class Reason:
    code: str


@dataclass
class Seal:
    reasons: tuple = ()

    @property
    def trusted(self) -> bool:  # as the validator says: a chain to a trusted root
        return not any(r.code == "untrusted" for r in self.reasons)


@dataclass
class Report:
    seals: tuple = ()
    reasons: tuple = ()
    valid: bool = True
    unpermitted_changes: bool = False


@dataclass
class Cert:
    status: str = "valid"
    number: str = "9422024420001000001"


def test_the_exact_issued_file_is_genuine_with_its_status():
    report = Report(seals=(Seal(), Seal()))
    assert judge_upload(report, Cert("valid"), None).code == "genuine_current"
    assert judge_upload(report, Cert("revoked"), None).code == "genuine_revoked"
    assert judge_upload(report, Cert("superseded"), None).code == "genuine_superseded"
    assert judge_upload(Report(), Cert("pending_seal"), None).code == "genuine_pending"


def test_altered_and_foreign_files():
    altered = Report(seals=(Seal((Reason("altered"),)),), valid=False)
    assert judge_upload(altered, None, Cert()).code == "altered"
    changed_after = Report(seals=(Seal(),), unpermitted_changes=True, valid=False)
    assert judge_upload(changed_after, None, Cert()).code == "altered"
    foreign = Report(seals=(Seal((Reason("untrusted"),)),), valid=False)
    assert judge_upload(foreign, None, Cert()).code == "not_issued_here"  # whatever number it names
    ours_revoked = Report(seals=(Seal((Reason("revoked"),)),), valid=False)
    assert judge_upload(ours_revoked, None, Cert()).code == "unknown_key"
    mixed = Report(seals=(Seal(), Seal((Reason("untrusted"),))), valid=False)
    assert judge_upload(mixed, None, Cert()).code == "unknown_key"
    assert judge_upload(Report(), None, None).code == "not_issued_here"


def test_our_valid_seals_on_a_file_with_later_permitted_updates_name_their_certificate():
    report = Report(seals=(Seal(), Seal()), valid=True)
    assert judge_upload(report, None, Cert("revoked")).code == "genuine_revoked"
    assert judge_upload(report, None, None).code == "not_issued_here"


def test_rate_limiter_allows_a_burst_then_asks_to_wait():
    now = [0.0]
    limiter = RateLimiter(rate_per_minute=60, burst=3, clock=lambda: now[0])
    assert [limiter.take("1.2.3.4") for _ in range(3)] == [0, 0, 0]
    wait = limiter.take("1.2.3.4")
    assert 0.9 < wait <= 1.0
    assert limiter.take("5.6.7.8") == 0  # another client has its own bucket
    now[0] += 1.0
    assert limiter.take("1.2.3.4") == 0
    assert RateLimiter.retry_after(0.2) == "1"


def test_rate_limiter_memory_stays_bounded():
    limiter = RateLimiter(rate_per_minute=60, burst=1, max_clients=100)
    for i in range(1000):
        limiter.take(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter._buckets) == 100


def test_a_scan_answer_is_made_once_for_all_who_ask_meanwhile():
    """The answer of a certificate scanned again and again expires: the scans that arrive
    while one request reads the registry wait for its answer instead of each reading it."""
    import asyncio

    from service.verification.scan_cache import ScanCache

    cache = ScanCache(seconds=60)
    made = []

    async def make():
        made.append(1)
        await asyncio.sleep(0.05)  # the registry read
        return (200, b"page", "valid")

    async def burst():
        return await asyncio.gather(*(cache.answer(("page", "tok"), make) for _ in range(20)))

    answers = asyncio.run(burst())
    assert answers == [(200, b"page", "valid")] * 20 and len(made) == 1
    assert asyncio.run(cache.answer(("page", "tok"), make)) == (200, b"page", "valid") and len(made) == 1
    cache.forget(["tok"])
    assert asyncio.run(cache.answer(("page", "tok"), make)) and len(made) == 2  # forgotten: read again


def test_when_the_first_scan_fails_the_waiting_ones_ask_for_themselves():
    import asyncio

    from service.verification.scan_cache import ScanCache

    cache = ScanCache(seconds=60)
    calls = []

    async def make():
        calls.append(1)
        await asyncio.sleep(0.02)
        if len(calls) == 1:
            raise RuntimeError("the registry is away")
        return (200, b"page", "valid")

    async def burst():
        return await asyncio.gather(*(cache.answer(("page", "tok"), make) for _ in range(3)), return_exceptions=True)

    first, *others = asyncio.run(burst())
    assert isinstance(first, RuntimeError)
    assert others == [(200, b"page", "valid")] * 2
    assert not cache._making  # nothing left waiting


def test_the_pages_are_read_once_not_looked_at_again_on_every_scan(tmp_path):
    """The public pages change with a release, as their static files do: a page's file is
    read on first use and never stat'ed again (that lookup was a tenth of the uncached
    scan page's time)."""
    import shutil

    from service import TEMPLATES_DIR
    from service.verification.pages import Pages

    shutil.copytree(TEMPLATES_DIR / "pages", tmp_path / "pages")
    pages = Pages(tmp_path)
    first = pages.render("not_found.html", message="二维码无效")
    (tmp_path / "pages" / "not_found.html").write_text("changed {{ message }}", encoding="utf-8")
    assert pages.render("not_found.html", message="二维码无效") == first
    assert "二维码无效" in first and "changed" not in first
    assert "changed 二维码无效" == Pages(tmp_path).render("not_found.html", message="二维码无效")  # a restart reads it
