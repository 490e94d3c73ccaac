"""`POST /api/v1/unsubscribe-links`: one-click unsubscribe URLs and mail header values."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from consents import unsubscribe
from consents.identifiers import normalize_identifier

ONE_FORM = 'Give either "email" (with "purpose") or "recipients", not both.'
TOO_MANY = "At most {max} recipients per request."
NOT_A_RECIPIENT = 'Each recipient is an object with "email" and "purpose".'
UNKNOWN_PURPOSE = "Unknown purpose {key!r}."
REQUIRED = "This field is required."
MAX_ITEM_ERRORS = 50


class UnsubscribeLinkOutput(serializers.Serializer):
    email = serializers.CharField()
    purpose = serializers.CharField()
    url = serializers.URLField()
    list_unsubscribe = serializers.CharField(help_text="Value of the List-Unsubscribe header.")
    list_unsubscribe_post = serializers.CharField(
        help_text="Value of the List-Unsubscribe-Post header: List-Unsubscribe=One-Click."
    )
    preferences_url = serializers.URLField()


class UnsubscribeLinksView(APIView):
    required_scopes = ("consents:write",)

    class Input(serializers.Serializer):
        email = serializers.CharField(required=False)
        purpose = serializers.CharField(required=False, max_length=64)
        recipients = serializers.ListField(
            child=serializers.JSONField(), required=False, allow_empty=False
        )

    @extend_schema(
        request=Input,
        responses={
            200: PolymorphicProxySerializer(
                component_name="UnsubscribeLinksAnswer",
                serializers=[
                    UnsubscribeLinkOutput,
                    inline_serializer(
                        "UnsubscribeLinkList", {"results": UnsubscribeLinkOutput(many=True)}
                    ),
                ],
                resource_type_field_name=None,
            )
        },
        summary="One-click unsubscribe links for marketing mail (RFC 8058)",
        description=(
            'Send {"email", "purpose"} for one link (answered as one object) or '
            '{"recipients": [{"email", "purpose"}, ...]} for up to 10,000 (answered as '
            '{"results": [...]}, in input order). "purpose" at the top level is the default '
            "for recipients that leave it out."
        ),
    )
    def post(self, request):
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        organization = request.principal.organization
        if ("email" in data) == ("recipients" in data):
            raise serializers.ValidationError({"non_field_errors": [ONE_FORM]})
        items = [data] if "email" in data else data["recipients"]
        if len(items) > unsubscribe.MAX_RECIPIENTS:
            raise serializers.ValidationError(
                {"recipients": [TOO_MANY.format(max=unsubscribe.MAX_RECIPIENTS)]}
            )
        pairs = self._validated_pairs(organization, items, data.get("purpose"), "email" in data)
        links = [link.as_json() for link in unsubscribe.unsubscribe_links(organization, pairs)]
        if "email" in data:
            return Response(links[0])
        return Response({"results": links})

    @staticmethod
    def _validated_pairs(
        organization, items, default_purpose, single: bool
    ) -> list[tuple[str, str]]:
        purposes = unsubscribe.unsubscribable_purposes(organization)
        known = set(organization.purposes.values_list("key", flat=True))
        pairs, errors = [], {}
        for index, item in enumerate(items):
            problems = {}
            if not isinstance(item, dict):
                errors[str(index)] = [NOT_A_RECIPIENT]
                continue
            email, purpose_key = item.get("email"), item.get("purpose", default_purpose)
            # Absent is not malformed: say which field is missing, as DRF does for the rest.
            if email is None:
                problems["email"] = [REQUIRED]
            else:
                try:
                    normalize_identifier("email", email)
                except DjangoValidationError as exc:
                    problems["email"] = exc.messages
            if purpose_key is None:
                problems["purpose"] = [REQUIRED]
            elif not isinstance(purpose_key, str) or purpose_key not in known:
                problems["purpose"] = [UNKNOWN_PURPOSE.format(key=purpose_key)]
            elif purpose_key not in purposes:
                problems["purpose"] = [unsubscribe.NOT_UNSUBSCRIBABLE.format(key=purpose_key)]
            if problems:
                errors[str(index)] = problems
                if len(errors) >= MAX_ITEM_ERRORS:
                    break
            else:
                pairs.append((email, purpose_key))
        if errors:
            if single:
                raise serializers.ValidationError(next(iter(errors.values())))
            raise serializers.ValidationError({"recipients": errors})
        return pairs
