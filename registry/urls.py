"""URL routes: the admin at /admin/, the API at the site root."""

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
