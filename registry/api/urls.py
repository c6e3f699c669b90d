"""API routes at the site root; each path answers with and without a trailing slash, never redirecting."""

from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.views import APIView

from registry.api import compare, devices, history, recommend, views
from registry.api.lean import lean_detail
from registry.core.validation import MODEL_ID_CHARS

app_name = "api"

MODEL_ID = rf"(?P<model_id>[{MODEL_ID_CHARS}]+)"
REVISION = r"(?P<revision>[0-9]+)"


def _both(
    pattern: str, view: type[APIView], name: str, *, slash: bool, wrap: Callable[[Any], Any] = lambda v: v
) -> list[URLPattern]:
    """The canonical route (in the schema) and its twin with or without the slash (left out of it)."""
    canonical, twin = (f"^{pattern}/$", f"^{pattern}$") if slash else (f"^{pattern}$", f"^{pattern}/$")
    return [re_path(canonical, wrap(view.as_view()), name=name), re_path(twin, wrap(view.as_view(schema=None)))]


urlpatterns = [
    *_both("models", views.ConfigListView, "model-list", slash=True),
    # Before the detail route: "validate" would otherwise be taken for a model_id (the validator
    # refuses it as one: core.validation.RESERVED_MODEL_IDS, kept in step by a test).
    *_both("models/validate", views.ConfigValidateView, "model-validate", slash=False),
    *_both("models/import-hf", views.ImportHFView, "model-import-hf", slash=False),
    *_both(f"models/{MODEL_ID}/parameters", views.ConfigParametersView, "model-parameters", slash=False),
    *_both(f"models/{MODEL_ID}/plan", views.ConfigPlanView, "model-plan", slash=False),
    *_both(f"models/{MODEL_ID}/recommend", recommend.ConfigRecommendView, "model-recommend", slash=False),
    *_both(f"models/{MODEL_ID}/history", history.HistoryListView, "model-history", slash=False),
    *_both(rf"models/{MODEL_ID}/history/{REVISION}", history.RevisionDetailView, "model-revision", slash=False),
    *_both(rf"models/{MODEL_ID}/history/{REVISION}/restore", history.RevisionRestoreView, "model-restore", slash=False),
    *_both(
        rf"models/{MODEL_ID}/diff/(?P<other_model_id>[{MODEL_ID_CHARS}]+)",
        history.ConfigDiffView,
        "model-diff",
        slash=False,
    ),
    *_both("plans", views.PlanListView, "plan-list", slash=True),
    *_both("recommendations", recommend.RecommendationListView, "recommendation-list", slash=True),
    *_both("compare", compare.CompareView, "compare", slash=True),
    *_both(f"models/{MODEL_ID}", views.ConfigDetailView, "model-detail", slash=False, wrap=lean_detail),
    *_both("devices", devices.DeviceListView, "device-list", slash=True),
    *_both(r"devices/(?P<name>[A-Za-z0-9._-]+)", devices.DeviceDetailView, "device-detail", slash=False),
    *_both("layer-classes", views.LayerClassListView, "layer-class-list", slash=True),
    *_both(r"layer-classes/(?P<name>[A-Za-z0-9_.-]+)", views.LayerClassDetailView, "layer-class-detail", slash=False),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("schema", SpectacularAPIView.as_view()),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("docs", SpectacularSwaggerView.as_view(url_name="api:schema")),
]
