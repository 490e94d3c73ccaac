from django.urls import path

# schema registers the OpenAPI description of API-key authentication; imported with the API's
# URLs rather than at start-up, so management commands do not load drf-spectacular.
from consents.api import gpp_views, schema, views  # noqa: F401
from consents.api.unsubscribe import UnsubscribeLinksView

urlpatterns = [
    path("consents", views.ConsentRecordView.as_view(), name="api-consents"),
    path("consents/state", views.ConsentStateView.as_view(), name="api-consent-state"),
    path("checks", views.CheckView.as_view(), name="api-checks"),
    path("activity", views.ActivityView.as_view(), name="api-activity"),
    path("events", views.EventListView.as_view(), name="api-events"),
    path("events/export", views.EventExportView.as_view(), name="api-events-export"),
    path("subjects/proof", views.ProofOfConsentView.as_view(), name="api-proof-of-consent"),
    path("gpp/decode", gpp_views.GppDecodeView.as_view(), name="api-gpp-decode"),
    path("unsubscribe-links", UnsubscribeLinksView.as_view(), name="api-unsubscribe-links"),
]
