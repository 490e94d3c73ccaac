from django.urls import path

from cookies.api import views

urlpatterns = [
    path("sites/<str:site_key>/config", views.SiteConfigView.as_view(), name="api-site-config"),
    path(
        "sites/<str:site_key>/consents", views.SiteConsentView.as_view(), name="api-site-consents"
    ),
]
