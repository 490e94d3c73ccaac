"""Scope checks: each view names the scopes that allow it (any one suffices)."""

from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from consents.api.authentication import principal_for

MISSING_SCOPE = "This API key lacks the scope {scopes}."


class HasScope(BasePermission):
    def has_permission(self, request, view) -> bool:
        required = getattr(view, "required_scopes", None)
        if required is None:
            return True  # public view
        principal = principal_for(request)
        if principal is None:
            raise exceptions.NotAuthenticated()
        if not principal.scopes.intersection(required):
            raise exceptions.PermissionDenied(MISSING_SCOPE.format(scopes=" or ".join(required)))
        request.principal = principal
        return True
