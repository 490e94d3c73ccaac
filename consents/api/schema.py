"""OpenAPI additions: the API-key security scheme and the error answers of every operation."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "consents.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer kzc_...` (create with manage.py create_api_key)",
        }


ERROR_RESPONSES = {
    "400": "Bad input: field errors keyed by field name (nothing was written).",
    "401": "Missing or invalid API key.",
    "403": "The key lacks the scope this operation needs.",
    "404": "Not found (or not in this organization).",
    "409": "Idempotency key reused for a different request.",
    "413": "Request body too large.",
    "429": "Rate limited; retry after the Retry-After header's seconds.",
    "503": "The database is unavailable; nothing was recorded.",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: add the shared error responses to every operation."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = {
        "type": "object",
        "description": "`detail` for general errors; otherwise field name → messages.",
        "additionalProperties": True,
    }
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_RESPONSES.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                )
    return result
