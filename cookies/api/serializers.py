"""Input of the visitor API: what a banner may send."""

from rest_framework import serializers

EVENT_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
MAX_CHOICES = 64


class BannerConsentInput(serializers.Serializer):
    visitor_id = serializers.CharField(max_length=64)
    choices = serializers.DictField(child=serializers.JSONField(), allow_empty=False)
    notice_version = serializers.CharField(
        max_length=64, required=False, allow_null=True, allow_blank=True
    )
    gpc = serializers.BooleanField(required=False, default=False)
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
