from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from consent_platform import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("consents.api.urls")),
    path("api/v1/", include("cookies.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("consents.preferences.urls")),
    path("", include("cookies.urls")),
]
