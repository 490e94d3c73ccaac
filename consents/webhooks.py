"""Deliver the webhook outbox: signed POSTs, retried with exponential backoff and jitter.

`record_consent` writes WebhookDelivery rows in the consent transaction; this module sends them.
A worker claims due rows by moving their `next_attempt_at` forward by a lease (rows locked with
SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, and claimed with a compare-and-set update on
every database), then posts outside any transaction. A worker that dies mid-delivery leaves the
row pending; once the lease runs out another worker sends it again. Delivery is therefore at
least once: receivers dedupe on the `Kaizen-Delivery` header (or `delivery_id` in the body).
"""

import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import random
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from consents.models import WebhookDelivery

logger = logging.getLogger("kaizen.webhooks")

SIGNATURE_HEADER = "Kaizen-Signature"
DELIVERY_HEADER = "Kaizen-Delivery"
EVENT_HEADER = "Kaizen-Event"
ATTEMPT_HEADER = "Kaizen-Attempt"
USER_AGENT = "Kaizenify-Consent-Webhooks/1"
SIGNATURE_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class RetryPolicy:
    """How hard we try. The defaults give up after ten attempts, about three hours at most."""

    base_seconds: float = 30.0
    max_delay_seconds: float = 3600.0
    max_attempts: int = 10
    timeout_seconds: float = 10.0
    lease_seconds: float = 70.0

    @classmethod
    def from_settings(cls, **overrides) -> "RetryPolicy":
        configured = getattr(settings, "KAIZEN_WEBHOOKS", {})
        values = {**configured, **{k: v for k, v in overrides.items() if v is not None}}
        return cls(**values)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 (hex) over `<timestamp>.<body>` with the endpoint's secret."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance_seconds: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: recompute the signature and refuse stale timestamps (replays)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(parts.get("v1", ""), signature(secret, timestamp, body))


def backoff_delay(attempts: int, policy: RetryPolicy, rng: random.Random | None = None) -> float:
    """Seconds before the next try after `attempts` failures: doubling, capped, with jitter
    (a random point in the upper half) so receivers coming back are not hit all at once."""
    ceiling = min(policy.max_delay_seconds, policy.base_seconds * 2 ** max(attempts - 1, 0))
    return (rng or random).uniform(ceiling / 2, ceiling)


def delivery_body(delivery: WebhookDelivery) -> bytes:
    return json.dumps(
        {**delivery.payload, "delivery_id": delivery.pk}, separators=(",", ":"), sort_keys=True
    ).encode()


PRIVATE_ADDRESS = "refused: the receiver's address is not public"
NOT_HTTP = "refused: a receiver is an http or https URL"
MAX_ANSWER_BYTES = 65_536


def public_address(host: str) -> str | None:
    """One address to reach `host` at, when every address it resolves to is public; else None.

    Endpoints are configured by tenant admins; without this a worker inside the network could
    be pointed at internal services (or a cloud metadata address) and used to probe them."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    addresses = [info[4][0] for info in infos]
    if not addresses or not all(ipaddress.ip_address(a).is_global for a in addresses):
        return None
    return addresses[0]


def receiver_is_public(url: str) -> bool:
    return public_address(urllib.parse.urlsplit(url).hostname or "") is not None


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, not to what the name resolves to next: a
    name that answers a public address to the check and a private one to the connection
    (DNS rebinding) cannot reach the inside."""

    def __init__(self, host, *, address=None, **kwargs):
        super().__init__(host, **kwargs)
        self.address = address or host

    def connect(self):
        self.sock = self.raw_sock = socket.create_connection(
            (self.address, self.port), self.timeout
        )


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As _PinnedHTTPConnection; the certificate is still checked against the host name."""

    def __init__(self, host, *, address=None, **kwargs):
        super().__init__(host, context=ssl.create_default_context(), **kwargs)
        self.address = address or host

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        # Held before the handshake, so post()'s watchdog can cut a trickling handshake too.
        self.raw_sock = self._context.wrap_socket(
            sock, server_hostname=self.host, do_handshake_on_connect=False
        )
        self.raw_sock.do_handshake()
        self.sock = self.raw_sock


def post(url: str, body: bytes, headers: dict, timeout: float) -> tuple[int | None, str]:
    """POST once; return (HTTP status or None, error text or ""). A redirect is an answer we
    count as a failure, not something to follow."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None, NOT_HTTP
    address = None
    if not settings.KAIZEN_WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        address = public_address(parts.hostname or "")
        if address is None:
            return None, PRIVATE_ADDRESS
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    receiver = None
    # `timeout` bounds each socket operation; the watchdog bounds the whole exchange, so a
    # receiver that trickles its answer a byte at a time cannot hold the worker past its lease.
    expired = threading.Event()

    def cut_off():
        expired.set()
        raw = getattr(receiver, "raw_sock", None)
        if raw is not None:
            with contextlib.suppress(OSError):  # the plain socket's shutdown, also under TLS
                socket.socket.shutdown(raw, socket.SHUT_RDWR)

    watchdog = threading.Timer(timeout, cut_off)
    watchdog.daemon = True
    try:
        receiver = connection_class(
            parts.hostname, port=parts.port, timeout=timeout, address=address
        )
        watchdog.start()
        receiver.request("POST", path, body=body, headers=headers)
        answer = receiver.getresponse()
        answer.read(MAX_ANSWER_BYTES)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        # The watchdog, or a socket operation's own timeout when it runs out first.
        if expired.is_set() or isinstance(exc, TimeoutError):
            return None, f"TimeoutError: no complete answer within {timeout:g} s"
        return None, f"{type(exc).__name__}: {exc}"[:500]
    finally:
        watchdog.cancel()
        if receiver is not None:
            receiver.close()
    if expired.is_set():
        return None, f"TimeoutError: no complete answer within {timeout:g} s"
    return answer.status, "" if 200 <= answer.status < 300 else f"HTTP {answer.status}"


def claim_due(policy: RetryPolicy, limit: int) -> list[WebhookDelivery]:
    """Take up to `limit` due deliveries for this worker by moving them past a lease."""
    now = timezone.now()
    lease_until = now + timedelta(seconds=policy.lease_seconds)
    with transaction.atomic():
        due = WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        ).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        claimed = [delivery for delivery in due[:limit] if _move_lease(delivery, lease_until)]
    return claimed


def _move_lease(delivery: WebhookDelivery, until) -> bool:
    """Compare-and-set `next_attempt_at` from the value this worker read to `until`; False when
    another worker moved it first (its claim, or its lease after this one ran out)."""
    won = WebhookDelivery.objects.filter(
        pk=delivery.pk,
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at=delivery.next_attempt_at,
    ).update(next_attempt_at=until)
    if won:
        delivery.next_attempt_at = until
    return bool(won)


SUPERSEDED = "superseded"


def renew_lease(delivery: WebhookDelivery, policy: RetryPolicy) -> bool:
    """Extend this worker's lease on a delivery it claimed, just before sending it; False when
    the lease ran out meanwhile (the rest of a batch took longer) and another worker took the
    row: that worker sends it, this one must not."""
    return _move_lease(delivery, timezone.now() + timedelta(seconds=policy.lease_seconds))


def deliver(delivery: WebhookDelivery, policy: RetryPolicy) -> str:
    """Send one claimed delivery and record the outcome; return the new status, or SUPERSEDED
    when another worker holds the delivery now (nothing sent, nothing recorded)."""
    if not renew_lease(delivery, policy):
        return SUPERSEDED
    endpoint = delivery.endpoint
    attempt = delivery.attempts + 1
    if not endpoint.is_active:
        status_code, error = None, "endpoint is disabled"
    else:
        body = delivery_body(delivery)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            DELIVERY_HEADER: str(delivery.pk),
            EVENT_HEADER: str(delivery.payload.get("type", "consent.changed")),
            ATTEMPT_HEADER: str(attempt),
            SIGNATURE_HEADER: signature_header(endpoint.secret, int(time.time()), body),
        }
        status_code, error = post(endpoint.url, body, headers, policy.timeout_seconds)
    now = timezone.now()
    changes = {"attempts": attempt, "last_status_code": status_code}
    if status_code is not None and 200 <= status_code < 300:
        changes.update(status=WebhookDelivery.Status.DELIVERED, delivered_at=now, last_error="")
    elif attempt >= policy.max_attempts or not endpoint.is_active:
        changes.update(status=WebhookDelivery.Status.FAILED, last_error=error[:500])
        logger.warning(
            "webhook delivery %s failed for good after %s attempts: %s", delivery.pk, attempt, error
        )
    else:
        delay = timedelta(seconds=backoff_delay(attempt, policy))
        changes.update(next_attempt_at=now + delay, last_error=error[:500])
    # Recorded only under this worker's lease: a worker that lost it leaves the row alone.
    recorded = WebhookDelivery.objects.filter(
        pk=delivery.pk, next_attempt_at=delivery.next_attempt_at
    ).update(**changes)
    if not recorded:
        return SUPERSEDED
    return changes.get("status", WebhookDelivery.Status.PENDING)


@dataclass
class DeliveryStats:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    by_status: dict = field(default_factory=dict)

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed

    def count(self, status: str) -> None:
        if status == SUPERSEDED:
            return
        if status == WebhookDelivery.Status.DELIVERED:
            self.delivered += 1
        elif status == WebhookDelivery.Status.FAILED:
            self.failed += 1
        else:
            self.retrying += 1


def deliver_due(
    policy: RetryPolicy | None = None, *, batch_size: int = 20, should_stop=lambda: False
) -> DeliveryStats:
    """Deliver everything due now (including retries that fall due meanwhile)."""
    policy = policy or RetryPolicy.from_settings()
    stats = DeliveryStats()
    while not should_stop():
        claimed = claim_due(policy, batch_size)
        if not claimed:
            break
        for delivery in (
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in claimed])
            .select_related("endpoint")
            .order_by("next_attempt_at", "id")
        ):
            stats.count(deliver(delivery, policy))
    return stats
