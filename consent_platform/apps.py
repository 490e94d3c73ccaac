from django.contrib.admin.apps import AdminConfig


class KaizenAdminConfig(AdminConfig):
    default_site = "consent_platform.admin_site.KaizenAdminSite"
