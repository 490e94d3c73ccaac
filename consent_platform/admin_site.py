"""The admin site: Django's, with failed sign-ins limited per address like failed API keys."""

from django.contrib import admin
from django.http import HttpResponse

from consent_platform.ratelimit import client_ip, hit, over_limit, retry_after

TOO_MANY_SIGN_INS = "Too many failed sign-in attempts from your network; wait and try again."


class KaizenAdminSite(admin.AdminSite):
    def login(self, request, extra_context=None):
        attempt = request.method == "POST"
        ip = client_ip(request)
        if attempt and over_limit("auth_failure_ip", ip):
            # Refused before the password is checked: guessing gets no answer at all.
            response = HttpResponse(TOO_MANY_SIGN_INS, status=429, content_type="text/plain")
            response["Retry-After"] = str(retry_after("auth_failure_ip"))
            return response
        response = super().login(request, extra_context)
        if attempt and response.status_code == 200:  # the form again: the sign-in failed
            hit("auth_failure_ip", ip)
        return response
