"""Request and response shapes of the server-side consent API."""

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from consents.identifiers import IDENTIFIER_KINDS, normalize_identifier
from consents.jurisdiction import INVALID_JURISDICTION, normalize_jurisdiction
from consents.models import Source

MAX_CHECK_IDENTIFIERS = 10_000
MAX_CHOICES = 100
API_SOURCES = [s for s in Source.values if s not in ("banner", "gpc", "unsubscribe", "retention")]


class StrictBooleanField(serializers.BooleanField):
    """Only JSON true/false: "yes", 1 or "true" are type errors, not consent."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class JurisdictionField(serializers.CharField):
    """An ISO 3166 code (DE, US-CA), upper-cased; blank means the organization's default.
    Anything else is an error: falling back silently would answer for the wrong law."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_blank=True, max_length=8, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value == "":
            return value
        code = normalize_jurisdiction(value)
        if not code:
            raise serializers.ValidationError(INVALID_JURISDICTION)
        return code


def jurisdiction_param(query_params) -> str:
    """`?jurisdiction=` validated as JurisdictionField does ("" when absent or blank)."""
    field = JurisdictionField()
    try:
        return field.run_validation(query_params.get("jurisdiction", ""))
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"jurisdiction": exc.detail}) from None


class SubjectInput(serializers.Serializer):
    email = serializers.CharField(required=False, max_length=320)
    user_id = serializers.CharField(required=False, max_length=200)
    visitor_id = serializers.CharField(required=False, max_length=64)
    phone = serializers.CharField(required=False, max_length=32)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                "Give at least one identifier: email, user_id, visitor_id or phone."
            )
        errors = {}
        for kind, value in attrs.items():
            try:
                attrs[kind] = normalize_identifier(kind, value)
            except DjangoValidationError as exc:
                errors[kind] = exc.messages
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ConsentInput(serializers.Serializer):
    subject = SubjectInput()
    choices = serializers.DictField(child=StrictBooleanField(), allow_empty=False)
    source = serializers.ChoiceField(choices=API_SOURCES, default="api")
    notice_version = serializers.CharField(required=False, allow_blank=True, max_length=64)
    jurisdiction = JurisdictionField()
    occurred_at = serializers.DateTimeField(required=False)

    def validate_choices(self, value):
        if len(value) > MAX_CHOICES:
            raise serializers.ValidationError(f"At most {MAX_CHOICES} choices per request.")
        return value


class PurposeDecisionOutput(serializers.Serializer):
    purpose = serializers.CharField(source="purpose.key")
    allowed = serializers.BooleanField()
    decision = serializers.CharField(allow_null=True)
    basis = serializers.CharField(help_text="explicit, default, expired or suppressed")
    decided_at = serializers.DateTimeField(allow_null=True)
    source = serializers.CharField(allow_null=True)
    notice_version = serializers.CharField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)


class EventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    v = serializers.IntegerField(help_text="Chain format version")
    organization = serializers.CharField(help_text="Organization slug")
    subject = serializers.CharField()
    seq = serializers.IntegerField()
    purpose = serializers.CharField()
    granted = serializers.BooleanField()
    source = serializers.CharField()
    notice_version = serializers.CharField()
    jurisdiction = serializers.CharField()
    site = serializers.CharField()
    occurred_at = serializers.CharField()
    recorded_at = serializers.CharField()
    actor = serializers.CharField()
    ip_truncated = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField(allow_null=True)
    pii_salt = serializers.CharField(allow_null=True)
    pii_digest = serializers.CharField()
    client_event_id = serializers.CharField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()


class StateOutput(serializers.Serializer):
    subject = serializers.CharField(allow_null=True)
    jurisdiction = serializers.CharField()
    purposes = PurposeDecisionOutput(many=True)
    gpp = serializers.CharField(allow_null=True, help_text="IAB GPP string (usnat); US only")
    us_privacy = serializers.CharField(allow_null=True, help_text="Legacy US Privacy string")


class ConsentOutput(serializers.Serializer):
    subject = serializers.CharField()
    replayed = serializers.BooleanField()
    events = EventOutput(many=True)
    state = PurposeDecisionOutput(many=True)


MAX_IDENTIFIER_LENGTH = 320


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": MAX_IDENTIFIER_LENGTH},
        "minItems": 1,
        "maxItems": MAX_CHECK_IDENTIFIERS,
    }
)
class IdentifierListField(serializers.Field):
    """Up to 10,000 identifier strings, checked in one pass.

    Same answers as ListField(child=CharField(...)), whose per-item field machinery cost more
    than the whole database look-up of a 10,000-address check."""

    default_error_messages = {
        "not_a_list": 'Expected a list of items but got type "{input_type}".',
        "empty": "This list may not be empty.",
        "max_length": f"Ensure this field has no more than {MAX_CHECK_IDENTIFIERS} elements.",
        "item_invalid": "Not a valid string.",
        "item_blank": "This field may not be blank.",
        "item_long": f"Ensure this field has no more than {MAX_IDENTIFIER_LENGTH} characters.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if not data:
            self.fail("empty")
        if len(data) > MAX_CHECK_IDENTIFIERS:
            self.fail("max_length")
        values, errors = [], {}
        for index, value in enumerate(data):
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                errors[str(index)] = [self.error_messages["item_invalid"]]
                continue
            value = value if isinstance(value, str) else str(value)
            if not value:
                errors[str(index)] = [self.error_messages["item_blank"]]
            elif len(value) > MAX_IDENTIFIER_LENGTH:
                errors[str(index)] = [self.error_messages["item_long"]]
            values.append(value)
        if errors:
            raise serializers.ValidationError(dict(list(errors.items())[:50]))
        return values

    def to_representation(self, value):
        return value


class IdentifierListInput(serializers.Serializer):
    """A list of identifiers of one type, each normalized once (`normalized` in the result)."""

    identifier_type = serializers.ChoiceField(choices=IDENTIFIER_KINDS)
    identifiers = IdentifierListField()

    def validate(self, attrs):
        kind = attrs["identifier_type"]
        errors, normalized = {}, []
        for index, value in enumerate(attrs["identifiers"]):
            try:
                normalized.append(normalize_identifier(kind, value))
            except DjangoValidationError as exc:
                errors[str(index)] = exc.messages
                if len(errors) >= 50:
                    break
        if errors:
            raise serializers.ValidationError({"identifiers": errors})
        attrs["normalized"] = normalized
        return attrs


class CheckInput(IdentifierListInput):
    purpose = serializers.CharField(max_length=64)
    # Declared again to keep the fields (and the schema, and error bodies) in this order.
    identifier_type = serializers.ChoiceField(choices=IDENTIFIER_KINDS)
    identifiers = IdentifierListField()
    jurisdiction = JurisdictionField()


class ActivityInput(IdentifierListInput):
    occurred_at = serializers.DateTimeField(
        required=False, help_text="When they showed interest (default: now; never later)."
    )


class ActivityOutput(serializers.Serializer):
    received = serializers.IntegerField(help_text="Identifiers in the request.")
    known = serializers.IntegerField(help_text="Distinct identifiers we hold a subject for.")
    subjects_updated = serializers.IntegerField(
        help_text="Subjects whose last sign of interest moved forward."
    )


class CheckResultOutput(serializers.Serializer):
    identifier = serializers.CharField()
    allowed = serializers.BooleanField()
    reason = serializers.ChoiceField(
        choices=[
            "granted",
            "denied",
            "expired",
            "no_record",
            "default_opt_out",
            "always_on",
            "suppressed",
        ]
    )


class CheckOutput(serializers.Serializer):
    purpose = serializers.CharField()
    results = CheckResultOutput(many=True)


class EventPageOutput(serializers.Serializer):
    results = EventOutput(many=True)
    next = serializers.CharField(allow_null=True)


PLAIN_PURPOSE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
PLAIN_JURISDICTION = re.compile(r"[A-Za-z0-9-]{0,8}")


def plain_check_input(body) -> dict | None:
    """CheckInput's validated data for the common, well-formed body, or None.

    The single check is the API's hottest request and DRF's field machinery was a fifth of
    its cost. This accepts only bodies that CheckInput would accept with the same result
    (plain strings of the shapes the serializer leaves unchanged); anything else returns None
    and goes through CheckInput, which gives every error answer.
    tests/consents/test_check_fast_path.py holds the two to the same output."""
    if not isinstance(body, dict):
        return None
    purpose = body.get("purpose")
    kind = body.get("identifier_type")
    identifiers = body.get("identifiers")
    jurisdiction = body.get("jurisdiction", "")
    if not (
        isinstance(purpose, str)
        and PLAIN_PURPOSE.fullmatch(purpose)
        and isinstance(kind, str)
        and kind in IDENTIFIER_KINDS
        and isinstance(identifiers, list)
        and 0 < len(identifiers) <= MAX_CHECK_IDENTIFIERS
        and isinstance(jurisdiction, str)
        and PLAIN_JURISDICTION.fullmatch(jurisdiction)
        and (jurisdiction == "" or normalize_jurisdiction(jurisdiction))
    ):
        return None
    normalized = []
    for value in identifiers:
        if not (isinstance(value, str) and 0 < len(value) <= MAX_IDENTIFIER_LENGTH):
            return None
        try:
            normalized.append(normalize_identifier(kind, value))
        except DjangoValidationError:
            return None
    data = {"purpose": purpose, "identifier_type": kind, "identifiers": identifiers}
    if "jurisdiction" in body:
        data["jurisdiction"] = normalize_jurisdiction(jurisdiction)
    data["normalized"] = normalized
    return data
