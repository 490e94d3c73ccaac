"""The product's URLs plus two baselines, mounted only when KAIZEN_BENCH_VIEWS=1.

Both baselines go through the same middleware and server configuration as the product, so a
ratio to them measures our code, not the stack.
"""

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


urlpatterns = [
    path("bench/bare", bare),
    path("bench/pk", primary_key),
    path("", include("consent_platform.urls")),
]
