"""URL routes: the admin at /admin/, the API at the site root."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("registry.api.urls")),
]

# JSON error pages for the API (the admin keeps Django's HTML ones).
handler400 = "registry.api.errors.bad_request"
handler403 = "registry.api.errors.permission_denied"
handler404 = "registry.api.errors.not_found"
handler500 = "registry.api.errors.server_error"
