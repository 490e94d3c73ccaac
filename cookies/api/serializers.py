"""Input of the visitor API: what a banner may send."""

import re

from rest_framework import serializers

from consents.api.serializers import StrictBooleanField
from consents.identifiers import VISITOR_ID_PATTERN

EVENT_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
MAX_CHOICES = 64


class BannerConsentInput(serializers.Serializer):
    visitor_id = serializers.CharField(max_length=64)
    choices = serializers.DictField(child=serializers.JSONField(), allow_empty=False)
    notice_version = serializers.CharField(
        max_length=64, required=False, allow_null=True, allow_blank=True
    )
    gpc = StrictBooleanField(required=False, default=False)
    event_id = serializers.RegexField(
        EVENT_ID_PATTERN,
        error_messages={
            "invalid": "An event id is 8 to 64 letters, digits, dashes or underscores."
        },
    )
    occurred_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_choices(self, value: dict) -> dict:
        if len(value) > MAX_CHOICES:
            raise serializers.ValidationError(f"At most {MAX_CHOICES} choices.")
        wrong = {k: ["Must be true or false."] for k, v in value.items() if not isinstance(v, bool)}
        if wrong:
            raise serializers.ValidationError(wrong)
        return value


PLAIN_EVENT_ID = re.compile(EVENT_ID_PATTERN)
PLAIN_NOTICE_VERSION = re.compile(r"[A-Za-z0-9._:-]{0,64}")
_occurred_at_field = serializers.DateTimeField(allow_null=True)


def plain_banner_input(body: dict) -> dict | None:
    """BannerConsentInput's validated data for the body a banner sends, or None.

    The serializer's per-request field machinery cost a fifth of a banner write's CPU. This
    accepts only bodies whose every value the serializer would take unchanged (ids of the
    shapes the visitor API requires, booleans, a plain notice version, an ISO timestamp read
    by the serializer's own field); anything else returns None and goes through
    BannerConsentInput, which gives every error. tests/cookies/test_banner_input.py holds
    the two to the same result."""
    visitor_id = body.get("visitor_id")
    event_id = body.get("event_id")
    choices = body.get("choices")
    notice_version = body.get("notice_version")
    gpc = body.get("gpc", False)
    if not (
        isinstance(visitor_id, str)
        and VISITOR_ID_PATTERN.fullmatch(visitor_id)
        and isinstance(event_id, str)
        and PLAIN_EVENT_ID.fullmatch(event_id)
        and isinstance(choices, dict)
        and 0 < len(choices) <= MAX_CHOICES
        and all(isinstance(value, bool) for value in choices.values())
        and (
            notice_version is None
            or (isinstance(notice_version, str) and PLAIN_NOTICE_VERSION.fullmatch(notice_version))
        )
        and isinstance(gpc, bool)
    ):
        return None
    data = {"visitor_id": visitor_id, "choices": choices, "gpc": gpc, "event_id": event_id}
    if "notice_version" in body:
        data["notice_version"] = notice_version
    if "occurred_at" in body:
        occurred_at = body["occurred_at"]
        if occurred_at is not None:
            if not isinstance(occurred_at, str):
                return None
            try:
                occurred_at = _occurred_at_field.to_internal_value(occurred_at)
            except serializers.ValidationError:
                return None
        data["occurred_at"] = occurred_at
    return data
