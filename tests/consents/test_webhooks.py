"""Webhook delivery: signed, retried with backoff, never lost across a worker restart."""

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from consents import webhooks
from consents.models import WebhookDelivery
from consents.services import record_consent
from tests.factories import UserFactory, WebhookEndpointFactory

ROOT = Path(__file__).resolve().parents[2]


class Receiver:
    """A real HTTP receiver in a thread. It verifies every signature, and answers 500 to the
    first `failures` attempts of each delivery id, then 200 (after `delay` seconds)."""

    def __init__(self, secret: str, failures: int = 0, delay: float = 0.0):
        self.secret = secret
        self.failures = failures
        self.delay = delay
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                delivery_id = self.headers.get(webhooks.DELIVERY_HEADER)
                verified = webhooks.verify_signature(
                    receiver.secret, self.headers.get(webhooks.SIGNATURE_HEADER, ""), body
                )
                with receiver.lock:
                    seen = sum(1 for r in receiver.requests if r["id"] == delivery_id)
                    fail = seen < receiver.failures or not verified
                    receiver.requests.append(
                        {
                            "id": delivery_id,
                            "verified": verified,
                            "body": json.loads(body),
                            "status": 500 if fail else 200,
                            "attempt": self.headers.get(webhooks.ATTEMPT_HEADER),
                        }
                    )
                if not fail and receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(500 if fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def accepted_ids(self) -> set[str]:
        with self.lock:
            return {r["id"] for r in self.requests if r["status"] == 200}


def consent_change(organization, email="ada@example.com", granted=True):
    return record_consent(
        organization=organization,
        identifiers={"email": email},
        choices={"marketing_email": granted},
        source="api",
        actor="test",
    )


# Signatures and backoff.


def test_signature_covers_timestamp_and_body():
    body = b'{"a":1}'
    now = int(time.time())
    header = webhooks.signature_header("s3cret", now, body)
    assert header.startswith(f"t={now},v1=")
    assert webhooks.verify_signature("s3cret", header, body)
    assert not webhooks.verify_signature("s3cret", header, b'{"a":2}')
    assert not webhooks.verify_signature("other", header, body)
    stale = webhooks.signature_header("s3cret", now - 3600, body)
    assert not webhooks.verify_signature("s3cret", stale, body)
    assert not webhooks.verify_signature("s3cret", "garbage", body)


def test_backoff_doubles_with_jitter_up_to_a_cap():
    policy = webhooks.RetryPolicy(base_seconds=30, max_delay_seconds=3600)
    rng = random.Random(7)
    for attempts, ceiling in [(1, 30), (2, 60), (3, 120), (6, 960), (8, 3600), (20, 3600)]:
        delays = [webhooks.backoff_delay(attempts, policy, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered, not all the same


# Delivery in process.


def test_delivery_is_signed_retried_after_failures_and_then_marked_delivered(organization):
    endpoint = WebhookEndpointFactory(organization=organization)
    consent_change(organization)
    delivery = WebhookDelivery.objects.get()
    with Receiver(endpoint.secret, failures=2) as receiver:
        endpoint.url = receiver.url
        endpoint.save()
        stats = webhooks.deliver_due()
        delivery.refresh_from_db()
        assert (stats.retrying, delivery.status, delivery.attempts) == (1, "pending", 1)
        assert delivery.last_status_code == 500
        wait = delivery.next_attempt_at - timezone.now()
        assert timedelta(seconds=10) < wait <= timedelta(seconds=30)
        assert webhooks.deliver_due().attempted == 0  # not due yet

        for _ in range(2):  # let the backoff pass
            WebhookDelivery.objects.update(next_attempt_at=timezone.now())
            webhooks.deliver_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert [r["status"] for r in receiver.requests] == [500, 500, 200]
    assert all(r["verified"] for r in receiver.requests)
    assert {r["id"] for r in receiver.requests} == {str(delivery.pk)}
    assert [r["attempt"] for r in receiver.requests] == ["1", "2", "3"]
    body = receiver.requests[-1]["body"]
    assert body["type"] == "consent.changed"
    assert (body["purpose"], body["granted"], body["delivery_id"]) == (
        "marketing_email",
        True,
        delivery.pk,
    )


def test_gives_up_after_max_attempts_and_admin_replay_delivers(organization, client):
    endpoint = WebhookEndpointFactory(organization=organization)
    consent_change(organization)
    policy = webhooks.RetryPolicy(base_seconds=0, max_attempts=3)
    with Receiver(endpoint.secret, failures=3) as receiver:
        endpoint.url = receiver.url
        endpoint.save()
        webhooks.deliver_due(policy)
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts) == ("failed", 3)
        assert "HTTP 500" in delivery.last_error

        client.force_login(UserFactory(is_superuser=True))
        response = client.post(
            "/admin/consents/webhookdelivery/",
            {"action": "replay", "_selected_action": [delivery.pk]},
        )
        assert response.status_code == 302
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("pending", 0)
        webhooks.deliver_due(policy)
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert len(receiver.requests) == 4


def test_unreachable_receiver_keeps_the_delivery_pending(organization):
    WebhookEndpointFactory(organization=organization, url="http://127.0.0.1:9/hook")
    consent_change(organization)
    webhooks.deliver_due(webhooks.RetryPolicy(timeout_seconds=2))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert delivery.last_error


def test_command_once_delivers_what_is_due(organization):
    from io import StringIO

    from django.core.management import call_command

    endpoint = WebhookEndpointFactory(organization=organization)
    consent_change(organization)
    consent_change(organization, granted=False)
    with Receiver(endpoint.secret) as receiver:
        endpoint.url = receiver.url
        endpoint.save()
        out = StringIO()
        call_command("deliver_webhooks", "--once", stdout=out)
    assert "delivered 2" in out.getvalue()
    assert len(receiver.accepted_ids()) == 2
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


# Worker processes: a restart loses nothing.


def start_worker(database_url: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "1"}
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "deliver_webhooks",
            "--retry-base-seconds",
            "0.2",
            "--lease-seconds",
            "3",
            "--timeout-seconds",
            "2",
            "--idle-seconds",
            "0.2",
            "--batch-size",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_no_delivery_is_lost_when_a_worker_is_killed_and_others_take_over(organization):
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    endpoint = WebhookEndpointFactory(organization=organization)
    for i in range(40):
        consent_change(organization, email=f"p{i}@example.com")
    expected = {str(pk) for pk in WebhookDelivery.objects.values_list("pk", flat=True)}
    assert len(expected) == 40
    with Receiver(endpoint.secret, failures=1, delay=0.05) as receiver:
        WebhookEndpointFactory._meta.model.objects.filter(pk=endpoint.pk).update(url=receiver.url)
        first = start_worker(database_url)
        assert wait_for(lambda: len(receiver.accepted_ids()) >= 8, 60)
        first.send_signal(signal.SIGKILL)  # mid-run, no chance to clean up
        first.wait(10)
        assert len(receiver.accepted_ids()) < 40

        others = [start_worker(database_url), start_worker(database_url)]
        try:
            assert wait_for(lambda: receiver.accepted_ids() >= expected, 90)
            assert wait_for(
                lambda: not WebhookDelivery.objects.exclude(status="delivered").exists(), 30
            )
        finally:
            for worker in others:
                worker.send_signal(signal.SIGTERM)
            exit_codes = [worker.wait(20) for worker in others]
    assert exit_codes == [0, 0]
    assert receiver.accepted_ids() == expected
    assert all(r["verified"] for r in receiver.requests)
    duplicates = sum(
        n - 1 for n in Counter(r["id"] for r in receiver.requests if r["status"] == 200).values()
    )
    print(
        f"webhooks: 40 deliveries, {len(receiver.requests)} requests, "
        f"{duplicates} duplicate successful deliveries (deduped by {webhooks.DELIVERY_HEADER})"
    )


def test_admin_shows_a_new_endpoint_secret_once(organization, client):
    client.force_login(UserFactory(is_superuser=True))
    response = client.post(
        "/admin/consents/webhookendpoint/add/",
        {
            "organization": organization.pk,
            "url": "https://hooks.example.com/consent",
            "is_active": "on",
        },
        follow=True,
    )
    endpoint = organization.webhooks.get()
    assert endpoint.secret in response.content.decode()
    again = client.get(f"/admin/consents/webhookendpoint/{endpoint.pk}/change/")
    assert endpoint.secret not in again.content.decode()


def test_receivers_on_private_addresses_are_refused_in_production(settings):
    from consents import webhooks

    settings.KAIZEN_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    for url in (
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest",
        "http://10.0.0.5/x",
        "http://localhost/x",
        "http://[::1]/x",
    ):
        assert webhooks.post(url, b"{}", {}, timeout=1) == (None, webhooks.PRIVATE_ADDRESS)
    assert webhooks.receiver_is_public("https://93.184.216.34/hook")


def test_a_name_that_rebinds_to_a_private_address_is_never_connected_to(settings, monkeypatch):
    """DNS rebinding: the check sees a public address, a second look-up would give loopback.
    The worker connects to the address it checked."""
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from consents import webhooks

    settings.KAIZEN_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    reached = []

    class Inside(BaseHTTPRequestHandler):
        def do_POST(self):
            reached.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    inside = HTTPServer(("127.0.0.1", 0), Inside)
    threading.Thread(target=inside.serve_forever, daemon=True).start()
    real_getaddrinfo = socket.getaddrinfo
    lookups = []

    def rebinding(host, *args, **kwargs):
        if host != "rebind.example":
            return real_getaddrinfo(host, *args, **kwargs)
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) > 1 else "93.184.216.34"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = f"http://rebind.example:{inside.server_port}/internal"
    try:
        status, _error = webhooks.post(url, b"{}", {}, timeout=1)
    finally:
        inside.shutdown()
    assert reached == [] and status is None
    assert lookups == ["rebind.example"]  # resolved once, for the check


def test_only_http_receivers_are_posted_to(settings):
    from consents import webhooks

    settings.KAIZEN_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    for url in ("ftp://example.com/hook", "file:///etc/passwd", "http:///nohost"):
        assert webhooks.post(url, b"{}", {}, timeout=1) == (None, webhooks.NOT_HTTP)


def test_a_worker_whose_lease_ran_out_sends_nothing_twice(organization):
    """Worker 1 claims a batch, but its lease runs out before it gets to the rows (a slow
    batch); worker 2 claims and sends them. Worker 1 must then send none of them again, nor
    overwrite the outcome."""
    endpoint = WebhookEndpointFactory(organization=organization)
    for i in range(3):
        consent_change(organization, email=f"p{i}@example.com")
    expired_at_once = webhooks.RetryPolicy(base_seconds=0, lease_seconds=0)
    with Receiver(endpoint.secret) as receiver:
        endpoint.url = receiver.url
        endpoint.save()
        claimed = webhooks.claim_due(expired_at_once, limit=10)
        stale = list(
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in claimed]).select_related(
                "endpoint"
            )
        )
        assert webhooks.deliver_due(webhooks.RetryPolicy(base_seconds=0)).delivered == 3
        outcomes = [webhooks.deliver(delivery, expired_at_once) for delivery in stale]
    assert outcomes == [webhooks.SUPERSEDED] * 3
    assert len(receiver.requests) == 3
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("delivered", 1)}


class Trickler:
    """A receiver that reads the request, then sends `answer` one byte every `pause` seconds."""

    def __init__(self, answer: bytes, pause: float = 0.2):
        import socket

        self.answer, self.pause = answer, pause
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self):
        connection, _ = self.server.accept()
        with connection:
            connection.settimeout(0.5)
            with contextlib.suppress(OSError):
                connection.recv(65536)
            for byte in self.answer:
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return  # the worker hung up
                time.sleep(self.pause)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.close()
        self.thread.join(timeout=30)


@pytest.mark.parametrize(
    ("scheme", "answer"),
    [
        # About 8 s to send a whole, successful answer.
        ("http", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Slow: trickle\r\n\r\n"),
        # A TLS record header announcing a long handshake message, then its bytes.
        ("https", b"\x16\x03\x03\x00\x40" + b"\x02" * 40),
    ],
)
def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_timeout(settings, scheme, answer):
    """The timeout bounds the whole exchange, not each read: otherwise a receiver answering a
    byte at a time holds a worker past its lease, another worker takes the row over, and with
    no outcome ever recorded the delivery is retried without end."""
    settings.KAIZEN_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    with Trickler(answer) as trickler:
        started = time.monotonic()
        status, error = webhooks.post(
            f"{scheme}://127.0.0.1:{trickler.port}/hook", b"{}", {}, timeout=1
        )
        elapsed = time.monotonic() - started
    assert status is None
    assert error == "TimeoutError: no complete answer within 1 s"
    assert elapsed < 3
