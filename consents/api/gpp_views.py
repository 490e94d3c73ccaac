"""Public GPP decoder: explains a GPP (or US Privacy) string field by field, no key needed."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from consent_platform.ratelimit import client_ip, hit, retry_after
from consents.gpp import GppError, decode_us_privacy, explain_gpp

MISSING_STRING = "Give the string to decode as ?string=DBABLA~..."
RATE_LIMITED = "Too many requests from this address; try again later."


class GppDecodeView(APIView):
    authentication_classes: list = []
    required_scopes = None  # public

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "string",
                OpenApiTypes.STR,
                required=True,
                description="A GPP string (DBABLA~CEAQAAAAAACA.YA) or a US Privacy string (1YNN)",
            )
        ],
        responses={200: OpenApiTypes.OBJECT},
        summary="Explain a GPP string field by field",
    )
    def get(self, request):
        if not hit("public_ip", client_ip(request)):
            response = Response({"detail": RATE_LIMITED}, status=status.HTTP_429_TOO_MANY_REQUESTS)
            response["Retry-After"] = str(retry_after("public_ip"))
            return response
        text = request.query_params.get("string", "").strip()
        if not text:
            raise serializers.ValidationError({"string": [MISSING_STRING]})
        try:
            if len(text) == 4 and text.startswith("1"):
                return Response({"string": text, "us_privacy": decode_us_privacy(text)})
            return Response(explain_gpp(text))
        except GppError as exc:
            raise serializers.ValidationError({"string": [f"Not a valid string: {exc}"]}) from None
