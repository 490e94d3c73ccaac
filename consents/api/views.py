"""Server-side consent API: record, state, check before send, ledger listing."""

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from consent_platform.ratelimit import client_ip
from consents import activity, exports, gpp, selectors, services
from consents.api import serializers as io
from consents.api.authentication import key_principal
from consents.identifiers import IDENTIFIER_KINDS
from consents.models import ConsentEvent
from consents.proof import proof_of_consent
from consents.records import EVENT_VALUE_FIELDS, record_from_values

IDENTIFIER_PARAMETERS = [
    OpenApiParameter(kind, OpenApiTypes.STR, required=False, description=f"Subject's {kind}")
    for kind in IDENTIFIER_KINDS
]
ONE_IDENTIFIER = "Give exactly one of email, user_id, visitor_id or phone."
EVENT_PAGE_MAX = 1000


def decision_json(decision: selectors.PurposeDecision) -> dict:
    return io.PurposeDecisionOutput(decision).data


def events_json(events) -> list[dict]:
    ids = [e.pk for e in events]
    rows = ConsentEvent.objects.filter(pk__in=ids).order_by("id").values(*EVENT_VALUE_FIELDS)
    return [record_from_values(row) for row in rows]


def identifier_from_query(params) -> tuple[str, str]:
    given = [(kind, params[kind]) for kind in IDENTIFIER_KINDS if params.get(kind)]
    if len(given) != 1:
        raise serializers.ValidationError({"identifier": [ONE_IDENTIFIER]})
    return given[0]


def subject_from_query(organization, params):
    """(identifier kind, subject or None) for the one identifier given in the query string."""
    kind, value = identifier_from_query(params)
    try:
        return kind, selectors.subject_by_identifier(organization, kind, value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError({kind: exc.messages}) from None


def suppressions_from_query(organization, params) -> frozenset[str]:
    """The suppressed purpose keys of the identifier `subject_from_query` has validated."""
    kind, value = identifier_from_query(params)
    return selectors.suppressed_purpose_keys(organization, kind, value)


class ConsentRecordView(APIView):
    required_scopes = ("consents:write",)

    @extend_schema(
        request=io.ConsentInput,
        responses={201: io.ConsentOutput, 200: io.ConsentOutput},
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER)],
        summary="Record a subject's choices",
    )
    def post(self, request):
        payload = io.ConsentInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        principal = request.principal
        idempotency_key = request.headers.get("Idempotency-Key", "")[:120]
        result = services.record_consent(
            organization=principal.organization,
            identifiers=data["subject"],
            choices=data["choices"],
            source=data["source"],
            actor=principal.actor,
            notice_version=data.get("notice_version") or None,
            jurisdiction=data.get("jurisdiction", ""),
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
            occurred_at=data.get("occurred_at"),
            idempotency_key=idempotency_key,
        )
        state = selectors.consent_state_for_subject(
            principal.organization,
            result.subject,
            data.get("jurisdiction", ""),
            # As GET /consents/state answers: an erasure's suppressions win over the state.
            suppressed=selectors.identifiers_suppressed_purpose_keys(
                principal.organization, data["subject"]
            ),
        )
        body = {
            "subject": str(result.subject.uid),
            "replayed": result.replayed,
            "events": events_json(result.events),
            "state": [decision_json(d) for d in state],
        }
        return Response(
            body, status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED
        )


class ConsentStateView(APIView):
    required_scopes = ("consents:read", "consents:check")

    @extend_schema(
        parameters=[
            *IDENTIFIER_PARAMETERS,
            OpenApiParameter("jurisdiction", OpenApiTypes.STR, description="e.g. DE, US-CA"),
            OpenApiParameter(
                "site", OpenApiTypes.STR, description="Site key whose MSPA settings shape `gpp`"
            ),
        ],
        responses=io.StateOutput,
        summary="A subject's current decision for every purpose",
    )
    def get(self, request):
        organization = request.principal.organization
        kind, subject = subject_from_query(organization, request.query_params)
        jurisdiction = io.jurisdiction_param(request.query_params)
        decisions = selectors.consent_state_for_subject(
            organization,
            subject,
            jurisdiction,
            suppressed=suppressions_from_query(organization, request.query_params),
        )
        site = None
        if request.query_params.get("site"):
            site = organization.sites.filter(key=request.query_params["site"]).first()
            if site is None:
                raise serializers.ValidationError({"site": ["No such site in this organization."]})
        signals = gpp.signals_for_decisions(
            organization=organization, decisions=decisions, jurisdiction=jurisdiction, site=site
        )
        return Response(
            {
                "subject": str(subject.uid) if subject else None,
                "jurisdiction": jurisdiction or organization.default_jurisdiction,
                "purposes": [decision_json(d) for d in decisions],
                "gpp": signals["gpp"],
                "us_privacy": signals["us_privacy"],
            }
        )


def check_answer(purpose, results) -> dict:
    return {
        "purpose": purpose.key,
        "results": [
            {"identifier": r.identifier, "allowed": r.allowed, "reason": r.reason} for r in results
        ],
    }


def run_check(organization, data: dict):
    """(purpose, results) of a validated check input; unknown purpose is a field error."""
    purpose = selectors.purpose_by_key(organization, data["purpose"])
    if purpose is None:
        raise serializers.ValidationError({"purpose": [f"Unknown purpose {data['purpose']!r}."]})
    results = selectors.check_identifiers(
        organization,
        purpose,
        data["identifier_type"],
        data["identifiers"],
        data.get("jurisdiction", ""),
        normalized=data["normalized"],
    )
    return purpose, results


class CheckView(APIView):
    required_scopes = ("consents:check",)

    @extend_schema(request=io.CheckInput, responses=io.CheckOutput, summary="Check before send")
    def post(self, request):
        payload = io.CheckInput(data=request.data)
        payload.is_valid(raise_exception=True)
        purpose, results = run_check(request.principal.organization, payload.validated_data)
        return Response(check_answer(purpose, results))

    @classmethod
    def as_view(cls, **initkwargs):
        """The view, with the plain check in front of it (see `plain_check`)."""
        full_view = super().as_view(**initkwargs)

        def view(request, *args, **kwargs):
            return plain_check(request) or full_view(request, *args, **kwargs)

        for name in ("cls", "initkwargs", "view_class", "view_initkwargs", "csrf_exempt"):
            setattr(view, name, getattr(full_view, name))
        return view


PLAIN_CHECK_MAX_BYTES = 16_384
JSON_ACCEPTED = frozenset({"", "*/*", "application/*", "application/json"})


def _reject_constant(name):
    raise ValueError(name)


def plain_check(request) -> HttpResponse | None:
    """The answer to a well-formed check by an API key that may check, or None.

    The check sits in front of every marketing send. Its common request is answered here, by
    the same key look-up, validation and query as CheckView, without DRF's per-request
    machinery (request wrapping, negotiation, serializer fields: 40% of the check's CPU).
    Anything else (another method or content type, a large body, no key or a key that fails,
    missing scope, invalid or unusual input, an unknown purpose) returns None and CheckView
    answers it, errors included. tests/consents/test_check_fast_path.py compares the two."""
    meta = request.META
    if request.method != "POST" or not meta.get("HTTP_AUTHORIZATION", "").startswith("Bearer "):
        return None
    media_type, _, charset = meta.get("CONTENT_TYPE", "").partition(";")
    if media_type.strip() != "application/json" or charset.strip().lower() not in (
        "",
        "charset=utf-8",
    ):
        return None
    accept = meta.get("HTTP_ACCEPT", "")
    if ";" in accept or not {part.strip() for part in accept.split(",")} <= JSON_ACCEPTED:
        return None  # parameters (indent=4, q=) and other types: DRF's negotiation decides
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= PLAIN_CHECK_MAX_BYTES:
        return None
    principal, _ = key_principal(meta["HTTP_AUTHORIZATION"][7:].strip())
    if principal is None or not principal.scopes.intersection(CheckView.required_scopes):
        return None
    try:  # strictly UTF-8, as DRF's parser reads it (json.loads would guess UTF-16 too)
        body = json.loads(request.body.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    data = io.plain_check_input(body)
    if data is None:
        return None
    try:
        purpose, results = run_check(principal.organization, data)
    except serializers.ValidationError:
        return None  # unknown purpose: CheckView gives the field error
    content = json.dumps(check_answer(purpose, results), ensure_ascii=False, separators=(",", ":"))
    # As DRF's JSONRenderer: U+2028 and U+2029 escaped, for JavaScript consumers.
    content = content.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    response = HttpResponse(content.encode(), content_type="application/json")
    response["Allow"] = "POST, OPTIONS"
    if len(api_settings.DEFAULT_RENDERER_CLASSES) > 1:  # the browsable API with DEBUG on
        response["Vary"] = "Accept"
    return response


# Query parameters read before the filters: a signed-in member's organization (principal_for).
NON_FILTER_PARAMETERS = frozenset({"org"})


class LedgerFilters(serializers.Serializer):
    """The filters the events list and the export share. A parameter given twice or one that
    is no filter (`sinse`, `subject`) is an error: ignoring it would answer for more events
    than were asked for."""

    since = serializers.DateTimeField(
        required=False, help_text="Recorded at or after (ISO 8601; no offset means UTC)"
    )
    until = serializers.DateTimeField(
        required=False, help_text="Recorded before (ISO 8601; no offset means UTC)"
    )
    purpose = serializers.CharField(required=False, max_length=64)
    site = serializers.CharField(required=False, max_length=64)
    email = serializers.CharField(required=False)
    user_id = serializers.CharField(required=False)
    visitor_id = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)

    def validate(self, attrs):
        errors = {}
        for name, values in self.initial_data.lists():
            if name not in self.fields and name not in NON_FILTER_PARAMETERS:
                errors[name] = ["Unknown parameter."]
            elif len(values) > 1:
                errors[name] = ["Give this parameter once."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


EVENT_PAGE_LOCK_TIMEOUT = "200ms"
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's lock_not_available
LEDGER_BUSY = "The ledger is busy with writes in progress; retry in a second."


class ActivityView(APIView):
    """Signs of interest (an email opened, a click, an account used), for retention: a
    person's marketing grants lapse only after `marketing_retention_days` without one."""

    required_scopes = ("consents:write",)

    @extend_schema(
        request=io.ActivityInput, responses=io.ActivityOutput, summary="Record signs of interest"
    )
    def post(self, request):
        payload = io.ActivityInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        result = activity.record_activity(
            organization=request.principal.organization,
            identifier_type=data["identifier_type"],
            normalized=data["normalized"],
            occurred_at=data.get("occurred_at"),
        )
        return Response(
            {
                "received": len(data["normalized"]),
                "known": result.known,
                "subjects_updated": result.subjects_updated,
            }
        )


class EventFilters(LedgerFilters):
    after = serializers.IntegerField(required=False, min_value=0)
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=EVENT_PAGE_MAX, default=100
    )


class EventListView(APIView):
    required_scopes = ("events:read", "events:export")

    @extend_schema(
        parameters=[EventFilters], responses=io.EventPageOutput, summary="The ledger, paginated"
    )
    def get(self, request):
        filters = EventFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        events = exports.filtered_events(request.principal.organization, data)
        if "after" in data:
            events = events.filter(id__gt=data["after"])
        # Only events no lower id can still join: a client that polls with `after` would
        # otherwise step past an event whose transaction commits after a later one's. The
        # lock that settles the bound holds new writes back while it waits, so a page waits
        # briefly and a busy ledger answers 503 (retry) rather than stall the banner's writes.
        try:
            settled = exports.settled_max_id(events, lock_timeout=EVENT_PAGE_LOCK_TIMEOUT)
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            return Response(
                {"detail": LEDGER_BUSY, "code": "ledger_busy"},
                status=503,
                headers={"Retry-After": "1"},
            )
        events = events.filter(id__lte=settled)
        limit = data["limit"]
        rows = [record_from_values(r) for r in events.values(*EVENT_VALUE_FIELDS)[: limit + 1]]
        next_url = None
        if len(rows) > limit:
            rows = rows[:limit]
            query = request.query_params.copy()
            query["after"] = str(rows[-1]["id"])
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"results": rows, "next": next_url})


class ExportFilters(LedgerFilters):
    format = serializers.ChoiceField(choices=exports.FORMATS, default="ndjson")

    def validate(self, attrs):
        for name in ("after", "limit"):
            if name in self.initial_data:
                raise serializers.ValidationError({name: ["Exports are not paginated."]})
        return super().validate(attrs)


class EventExportView(APIView):
    """Stream the ledger in ledger order; the manifest is the last line."""

    required_scopes = ("events:export",)

    @extend_schema(
        parameters=[ExportFilters],
        responses={
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            (200, "text/csv"): OpenApiTypes.STR,
        },
        summary="Export the ledger (NDJSON or CSV) with a signed manifest",
    )
    def get(self, request):
        filters = ExportFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        organization = request.principal.organization
        export = exports.LedgerExport(
            organization=organization,
            events=exports.filtered_events(organization, data),
            filters=exports.export_filter_summary(data),
            format=data["format"],
        )
        content_type = (
            "text/csv; charset=utf-8" if data["format"] == "csv" else "application/x-ndjson"
        )
        response = StreamingHttpResponse(export.chunks_with_trailer(), content_type=content_type)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = (
            f'attachment; filename="{organization.slug}-ledger-{stamp}.{data["format"]}"'
        )
        response["Cache-Control"] = "no-store"
        return response


class ProofOfConsentView(APIView):
    """A subject's full history, each decision with the exact notice text it was made under."""

    required_scopes = ("consents:read", "events:read")

    @extend_schema(
        parameters=[
            *IDENTIFIER_PARAMETERS,
            OpenApiParameter("jurisdiction", OpenApiTypes.STR, description="e.g. DE, US-CA"),
        ],
        responses=OpenApiTypes.OBJECT,
        summary="Proof of consent for one subject",
    )
    def get(self, request):
        organization = request.principal.organization
        kind, subject = subject_from_query(organization, request.query_params)
        if subject is None:
            raise NotFound(f"No subject with that {kind} in this organization.")
        jurisdiction = io.jurisdiction_param(request.query_params)
        return Response(proof_of_consent(organization, subject, jurisdiction))
