"""Server-rendered preference pages. They work without JavaScript; every form is CSRF-protected
except the one-click unsubscribe endpoint, which RFC 8058 requires to take a bare POST."""

from consents.preferences.views.person import confirm_email, person_preferences
from consents.preferences.views.privacy import gpc_json, privacy_choices
from consents.preferences.views.unsubscribe import one_click_unsubscribe
from consents.preferences.views.visitor import visitor_preferences

__all__ = [
    "confirm_email",
    "gpc_json",
    "one_click_unsubscribe",
    "person_preferences",
    "privacy_choices",
    "visitor_preferences",
]
