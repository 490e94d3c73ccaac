"""Project-wide middleware: request ids, 503 on database outage, Content-Security-Policy."""

import logging
import re
import secrets
import uuid

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from consent_platform.logging import current_request_id

logger = logging.getLogger("kaizen.request")

_REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
DATABASE_UNAVAILABLE_MESSAGE = (
    "The consent database is unavailable. Nothing was recorded; retry later."
)


class RequestIdMiddleware:
    """Tag each request with an id (taken from X-Request-ID when well formed) for the logs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class DatabaseUnavailableMiddleware:
    """Answer 503 with a clear message, never a 500 with a trace, when the database is down."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, OperationalError | InterfaceError) or (
            isinstance(exception, DatabaseError) and "connection" in str(exception).lower()
        ):
            logger.error("database unavailable: %s", type(exception).__name__)
            response = JsonResponse(
                {"detail": DATABASE_UNAVAILABLE_MESSAGE, "code": "database_unavailable"},
                status=503,
            )
            response["Retry-After"] = "5"
            return response
        return None


class ContentSecurityPolicyMiddleware:
    """Send a strict CSP on our own pages; scripts and styles need the per-request nonce."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        if "Content-Security-Policy" not in response and response.get(
            "Content-Type", ""
        ).startswith("text/html"):
            nonce = request.csp_nonce
            response["Content-Security-Policy"] = (
                "default-src 'self'; "
                f"script-src 'self' 'nonce-{nonce}'; "
                f"style-src 'self' 'nonce-{nonce}'; "
                "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
            )
        return response


def csp_nonce(request: HttpRequest) -> dict[str, str]:
    """Template context processor exposing the CSP nonce as `csp_nonce`."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
