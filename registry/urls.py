"""URL routes: the landing page at /, the probes, the admin at /admin/, the API at the site root."""

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import TemplateView

from registry import health

urlpatterns = [
    # The admin's "View site" link (admin.site.site_url, "/") lands here.
    path("", TemplateView.as_view(template_name="registry/index.html"), name="home"),
    re_path(r"^healthz/?$", health.healthz, name="healthz"),
    re_path(r"^readyz/?$", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("", include("registry.api.urls")),
]

# JSON error pages for the API (the admin keeps Django's HTML ones).
handler400 = "registry.api.errors.bad_request"
handler403 = "registry.api.errors.permission_denied"
handler404 = "registry.api.errors.not_found"
handler500 = "registry.api.errors.server_error"
