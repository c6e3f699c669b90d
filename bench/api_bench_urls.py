"""The project's URLs plus GET /bare/, a constant JsonResponse: the floor the API is measured against."""

from django.http import JsonResponse
from django.urls import path

from registry.urls import handler404, handler500  # noqa: F401
from registry.urls import urlpatterns as project_urlpatterns

CONSTANT = {"model_id": "bare", "status": "ok"}


def bare(request):
    return JsonResponse(CONSTANT)


urlpatterns = [path("bare/", bare), *project_urlpatterns]
