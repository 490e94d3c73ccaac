"""The product's URLs plus three baselines, mounted only when KAIZEN_BENCH_VIEWS=1.

Both baselines go through the same middleware and server configuration as the product, so a
ratio to them measures our code, not the stack.
"""

from django.db import connection
from django.http import JsonResponse
from django.urls import include, path

from consents.models import Organization


def bare(request):
    """The ceiling: a Django view that returns a small JSON object."""
    return JsonResponse({"ok": True})


def primary_key(request):
    """One primary-key SELECT through the ORM, then the same small JSON object."""
    slug = Organization.objects.filter(pk=1).values_list("slug", flat=True).first()
    return JsonResponse({"ok": True, "slug": slug})


def insert(request):
    """One single-row INSERT and its COMMIT (autocommit), then the same small JSON object: the
    write ceiling of this server configuration (the table is made by bench.harness)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_raw_insert (visitor, purpose, granted) VALUES (%s, %s, %s)",
            ["http", "analytics", True],
        )
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/bare", bare),
    path("bench/pk", primary_key),
    path("bench/insert", insert),
    path("", include("consent_platform.urls")),
]
