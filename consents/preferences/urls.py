from django.urls import path

from consents.preferences import views

app_name = "preferences"

urlpatterns = [
    path("preferences/p/<str:token>/", views.person_preferences, name="person"),
    path("preferences/confirm/<str:token>/", views.confirm_email, name="confirm-email"),
    path("preferences/<str:site_key>/", views.visitor_preferences, name="visitor"),
    path("privacy-choices/<slug:org_slug>/", views.privacy_choices, name="privacy-choices"),
    path("u/<str:token>", views.one_click_unsubscribe, name="unsubscribe"),
    path(".well-known/gpc.json", views.gpc_json, name="gpc-json"),
]
