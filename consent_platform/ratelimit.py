"""Fixed-window rate limits kept in the cache (Redis in production), shared by all workers."""

import ipaddress
import time

from django.conf import settings
from django.core.cache import cache


def client_ip(request) -> str:
    """The client's address; X-Forwarded-For is trusted only for TRUSTED_PROXY_COUNT hops."""
    hops = settings.KAIZEN_TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [
            p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()
        ]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def limited_subject(subject: str) -> str:
    """What a limit counts: an IPv6 client by its /64, the block one household or server is
    given (else each of its 2**64 addresses would get a limit of its own); anything else as is."""
    if ":" not in subject:
        return subject
    try:
        address = ipaddress.IPv6Address(subject)
    except ValueError:
        return subject
    if address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False))


def hit(limit_name: str, subject: str) -> bool:
    """Count one request against a named limit; return False when the limit is exceeded."""
    allowed, window = settings.KAIZEN_RATE_LIMITS[limit_name]
    subject = limited_subject(subject)
    bucket = int(time.time() // window)
    key = f"rl:{limit_name}:{subject}:{bucket}"
    if cache.add(key, 1, timeout=window + 1):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window + 1)
        return True
    return count <= allowed


def over_limit(limit_name: str, subject: str) -> bool:
    """Whether the limit is already exceeded, without counting a request."""
    allowed, window = settings.KAIZEN_RATE_LIMITS[limit_name]
    bucket = int(time.time() // window)
    count = cache.get(f"rl:{limit_name}:{limited_subject(subject)}:{bucket}", 0)
    return count >= allowed


def retry_after(limit_name: str) -> int:
    window = settings.KAIZEN_RATE_LIMITS[limit_name][1]
    return max(1, int(window - time.time() % window))
