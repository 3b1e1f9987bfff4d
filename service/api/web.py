"""What only the web edge uses, built at start-up beside the flows' ``Services``: the
public and staff pages, the rate limiter of lookups and sign-ins, the QR scan cache.

Kept out of ``Services`` so that no flow below ``api/`` can reach a web object: the
flows are the same whether a route, the command line or a batch worker calls them.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.config import Settings
from service.offline.cose import Es256Signer
from service.verification.pages import Pages
from service.verification.published_lists import load_list_signer
from service.verification.ratelimit import Limiter, RateLimiter, RedisRateLimiter
from service.verification.scan_cache import ScanCache


@dataclass
class Web:
    pages: Pages
    # per client address: in this process, or shared through Redis (ZC_REDIS_URL)
    limiter: Limiter
    # QR scan answers for a few seconds (service.api.verify)
    scan_cache: ScanCache
    # signs the published key and status lists (service.api.offline)
    list_signer: Es256Signer


def build_web(settings: Settings) -> Web:
    limiter: Limiter
    if settings.redis_url:
        limiter = RedisRateLimiter(settings.redis_url, settings.verify_rate_per_minute, settings.verify_burst)
    else:
        limiter = RateLimiter(settings.verify_rate_per_minute, settings.verify_burst)
    return Web(
        pages=Pages(settings.templates_dir, settings.unsealed_notice),
        limiter=limiter,
        scan_cache=ScanCache(settings.scan_cache_seconds),
        list_signer=load_list_signer(settings),
    )
