"""API views: thin adapters from HTTP to ``registry.services`` (writes) and the core (validation)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from registry import selectors
from registry.api import conditional, documents
from registry.api.errors import Invalid, config_not_found, query_error, query_issues
from registry.api.filters import SPEC, ConfigFilterSet
from registry.api.pagination import paginate
from registry.api.permissions import ADD, CHANGE, CanRead, ConfigPermissions, require_create_or_replace
from registry.api.renderers import CSVRenderer
from registry.api.schema import (
    FILTER_PARAMETERS,
    IF_MATCH,
    IF_NONE_MATCH,
    IF_NONE_MATCH_WRITE,
    LIST_PARAMETERS,
    MODEL_ID,
    NOT_MODIFIED,
    PLAN_PARAMETERS,
    READ_ERRORS,
    RECOMPUTE,
    VALIDATORS,
    RegistryAutoSchema,
    errors,
)
from registry.api.serializers import (
    REQUEST,
    RESPONSE,
    SUMMARY_MODEL_FIELDS,
    ConfigPageSerializer,
    ConfigSummarySerializer,
    ErrorSerializer,
    ImportHFRequestSerializer,
    LayerClassSerializer,
    ParameterBreakdownSerializer,
    PlanPageSerializer,
    PlanSerializer,
    ValidationReportSerializer,
    document_serializer,
    parameter_breakdown,
    summaries,
)
from registry.core import Code, Issue, catalogue, serving, validate_config
from registry.core.catalogue import LayerClass
from registry.core.devices import DeviceSpec
from registry.core.planning import Deployment, parse_deployment
from registry.core.validation import hf_id_issue, model_id_for
from registry.models import ModelConfig
from registry.selectors import planning_stacks, stored_version
from registry.services import (
    ConfigRejected,
    Source,
    config_delete,
    config_import_hf,
    config_patch,
    config_upsert,
    hf_document,
)

T = TypeVar("T")

Document = document_serializer(RESPONSE)
DocumentInput = document_serializer(REQUEST)
DocumentPatch = document_serializer(REQUEST)(partial=True)


class RegistryAPIView(APIView):
    """Common ground: permissions, the schema class, and a 400 for any query parameter not listed."""

    permission_classes = [ConfigPermissions]
    queryset = ModelConfig.objects.all()  # for DjangoModelPermissions: which model's permissions
    schema = RegistryAutoSchema()
    # Query parameters each method accepts; "format" (DRF's ?format=json|api) is always allowed.
    query_params: Mapping[str, tuple[str, ...]] = {}
    # Query parameters that may be given more than once (each other one twice is a 400).
    repeatable: tuple[str, ...] = ()

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            # Before authentication: a method the path does not have is a 405 whoever asks.
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)
        if method == "options":
            return  # describes the endpoint; the parameters do not matter
        allowed = {"format", *self.query_params.get("get" if method == "head" else method, ())}
        unknown = [name for name in request.query_params if name not in allowed]
        if unknown:
            hint = ", ".join(sorted(allowed - {"format"})) or "none"
            raise Invalid(
                Issue(f"query.{name}", Code.UNKNOWN_PARAMETER, f"unknown query parameter {name!r}; allowed: {hint}")
                for name in unknown
            )
        repeated = [
            (name, len(values))
            for name, values in request.query_params.lists()
            if len(values) > 1 and name not in self.repeatable
        ]
        if repeated:
            raise Invalid(
                Issue(f"query.{name}", Code.REPEATED_PARAMETER, f"expected {name!r} once, got it {n} times")
                for name, n in repeated
            )

    def perform_content_negotiation(self, request: Any, force: bool = False) -> Any:
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:  # DRF's answer to ?format= naming no renderer
            value = request.query_params.get("format")
            formats = ", ".join(r.format for r in self.get_renderers())
            raise query_error("format", Code.INVALID_CHOICE, f"expected one of {formats}, got {value!r}") from None

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        # What is not a table (an error, OPTIONS' description) is JSON even where CSV was asked for.
        renderer = getattr(request, "accepted_renderer", None)
        if isinstance(renderer, CSVRenderer) and not CSVRenderer.is_table(getattr(response, "data", None)):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    @staticmethod
    def refuse_blank(request: Any, names: Any) -> None:
        """A 400 (``blank``) naming each of ``names`` given with an empty value (``search`` may be empty)."""
        blank = [
            name for name, values in request.query_params.lists() if name in names and name != "search" and "" in values
        ]
        if blank:
            raise Invalid(Issue(f"query.{name}", Code.BLANK, "expected a value") for name in blank)

    def recompute(self, request: Any) -> bool:
        """``?recompute=true|false``, strictly."""
        return bool(self.flag(request, "recompute", default=False))

    @staticmethod
    def flag(request: Any, name: str, *, default: bool | None) -> bool | None:
        """The query parameter ``name`` as ``true`` or ``false``, strictly (anything else is a 400); ``default``
        when absent."""
        value = request.query_params.get(name)
        if value is None:
            return default
        if value not in ("true", "false"):
            raise query_error(name, Code.INVALID_CHOICE, f"expected true or false, got {value!r}")
        return value == "true"

    @staticmethod
    def filtered(request: Any, params: Any) -> QuerySet[ModelConfig]:
        """The configs the list filters in ``params`` select (django-filter); a bad value is a 400 naming it."""
        filterset = ConfigFilterSet(params, queryset=ModelConfig.objects.all(), request=request)
        if not filterset.is_valid():
            raise Invalid(
                [
                    *(
                        Issue(f"query.{name}", error["code"] or Code.INVALID_REQUEST, error["message"])
                        for name, errs in filterset.errors.get_json_data().items()
                        for error in errs
                    ),
                    *query_issues(filterset.spec_issues),
                ]
            )
        return filterset.qs

    def selected(self, request: Any, own: Iterable[str]) -> QuerySet[ModelConfig]:
        """The configs the list's filters in the query select, the endpoint's own parameters ``own`` set aside;
        with the list's rules: a blank value is a 400 there as here."""
        params = request.query_params.copy()
        for name in own:
            params.pop(name, None)
        self.refuse_blank(request, params)
        return self.filtered(request, params)

    def detail_url(self, request: Any, model_id: str) -> str:
        return request.build_absolute_uri(reverse("api:model-detail", args=[model_id]))

    def document_response(
        self, request: Any, digest: str, updated: datetime, body: bytes, status_code: int = 200
    ) -> HttpResponse:
        """A config document: the cached bytes as they are for JSON, parsed for the browsable API."""
        if request.accepted_renderer.format == "json":
            response = HttpResponse(body, content_type="application/json", status=status_code)
        else:
            response = Response(documents.parse(body), status=status_code)
        return conditional.set_validators(response, digest, updated)

    def written(self, request: Any, result: Any) -> HttpResponse:
        """The response to a successful write: the stored document, 201 with Location when created."""
        config = result.config
        body = documents.render(result.validation.config.to_document())
        documents.remember(config.digest, body)
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        response = self.document_response(request, config.digest, config.updated, body, code)
        if result.created:
            response["Location"] = self.detail_url(request, config.model_id)
        return response


WRITE_ERRORS = (400, 401, 403, 406, 413, 415, 429)


CSV_COLUMNS = list(ConfigSummarySerializer.Meta.fields)  # a list item's keys, in its order


class ConfigListView(RegistryAPIView):
    """GET: the configs, paginated, filtered and ordered (or every one as CSV). POST: add one."""

    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, CSVRenderer]  # type: ignore[list-item]  # untyped setting
    query_params = {
        "get": tuple(p.name for p in LIST_PARAMETERS),
        "post": ("recompute",),
    }
    repeatable = (SPEC,)

    def get_renderers(self) -> list[Any]:
        renderers = super().get_renderers()
        if getattr(self, "request", None) is not None and self.request.method not in ("GET", "HEAD", "OPTIONS"):
            return [r for r in renderers if not isinstance(r, CSVRenderer)]  # CSV is the list's, not a write's
        return renderers

    @extend_schema(
        operation_id="models_list",
        summary="List configs",
        description="Paginated, filtered and ordered. Items are the configs' fields with their URL; "
        "with ?expand=layer_types, the full documents. An unknown parameter or value is a 400. With "
        "?format=csv (or Accept: text/csv), every config the filters select as CSV: a header row (the items' "
        "keys), then a row per config, in the same order; limit and offset apply only when given.",
        parameters=LIST_PARAMETERS,
        responses={
            (200, "application/json"): ConfigPageSerializer,
            (200, "text/csv"): OpenApiResponse(
                {"type": "string"}, description="A header row, then one row per config (RFC 4180)."
            ),
            # Errors are JSON whatever the format asked for.
            **{(code, "application/json"): response for code, response in errors(400, *READ_ERRORS).items()},
        },
    )
    def get(self, request: Any) -> Any:
        expand = request.query_params.get("expand")
        if expand not in (None, "layer_types"):
            raise query_error("expand", Code.INVALID_CHOICE, f"expected layer_types, got {expand!r}")
        self.refuse_blank(request, request.query_params)
        configs = self.filtered(request, request.query_params)
        if request.accepted_renderer.format == "csv":
            return self.csv(request, configs, expand)
        if expand is None:
            paginator, page = paginate(configs.values(*SUMMARY_MODEL_FIELDS), request, self)
            prefix = request.build_absolute_uri(reverse("api:model-list"))
            return paginator.get_paginated_response(summaries(page, prefix))
        # Rows without their timestamps: the documents do not hold them, and parsing them is most
        # of the cost of loading a page.
        paginator, config_page = paginate(configs.defer("created", "updated"), request, self)
        bodies = documents.bodies(config_page)
        if request.accepted_renderer.format != "json":
            return paginator.get_paginated_response([documents.parse(b) for b in bodies])
        # Splice the cached documents into the page as they are, without parsing them again.
        head = documents.render(
            {
                "count": paginator.count,
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
                "results": [],
            }
        )
        return HttpResponse(head[:-2] + b",".join(bodies) + b"]}", content_type="application/json")

    def csv(self, request: Any, configs: QuerySet[ModelConfig], expand: str | None) -> Response:
        """Every selected config as a CSV row (limit and offset apply only when given); the list item's values."""
        if expand is not None:
            raise query_error("expand", Code.INVALID_CHOICE, "expand=layer_types has no CSV form; leave it out")
        rows = configs.values(*SUMMARY_MODEL_FIELDS)
        if "limit" in request.query_params or "offset" in request.query_params:
            _, selected = paginate(rows, request, self)
        else:
            selected = list(rows)
        prefix = request.build_absolute_uri(reverse("api:model-list"))
        response = Response({"columns": CSV_COLUMNS, "rows": summaries(selected, prefix)})
        response["Content-Disposition"] = 'attachment; filename="models.csv"'
        return response

    @extend_schema(
        operation_id="models_create",
        summary="Add a config",
        description="The body is the document; derived values may be left out. 409 if the model_id exists.",
        parameters=[RECOMPUTE, *VALIDATORS],
        request=DocumentInput,
        responses={201: Document, **errors(*WRITE_ERRORS, 409)},
    )
    def post(self, request: Any) -> Any:
        result = config_upsert(
            data=request.data,
            recompute=self.recompute(request),
            user=request.user,
            source=Source.API,
            must_not_exist=True,
        )
        return self.written(request, result)


class ConfigDetailView(RegistryAPIView):
    """One config: read, replace, change, delete."""

    query_params = {"put": ("recompute",), "patch": ("recompute",)}

    @extend_schema(
        operation_id="models_retrieve",
        summary="Get a config",
        description="The document exactly as dumpconfigs writes it (as JSON).",
        parameters=[MODEL_ID, IF_NONE_MATCH, *VALIDATORS],
        responses={200: Document, **NOT_MODIFIED, **errors(404, *READ_ERRORS)},
    )
    def get(self, request: Any, model_id: str) -> Any:
        row = stored_version(model_id)
        if row is None:
            raise config_not_found()
        pk, digest, updated = row
        unchanged = conditional.not_modified(request, digest, updated)
        if unchanged is not None:
            return unchanged
        body = documents.cached(digest)
        if body is None:
            config = selectors.config_with_layers(pk=pk)
            if config is None:
                raise config_not_found()
            digest, body = documents.render_config(config)
            updated = config.updated
        return self.document_response(request, digest, updated, body)

    @extend_schema(
        operation_id="models_update",
        summary="Replace (or create) a config",
        description="The body is the whole document. A model_id not stored yet is created (201; needs "
        "the add permission); `If-None-Match: *` allows only that. `If-Match` guards against lost updates.",
        parameters=[MODEL_ID, RECOMPUTE, IF_MATCH, IF_NONE_MATCH_WRITE, *VALIDATORS],
        request=DocumentInput,
        responses={200: Document, 201: Document, **errors(404, *WRITE_ERRORS, 409, 412)},
    )
    def put(self, request: Any, model_id: str) -> Any:
        recompute = self.recompute(request)
        current = selectors.current_digest(model_id=model_id)
        guards = require_create_or_replace(
            self, request, exists=current is not None, creating="Creating a config", replacing="Replacing a config"
        )
        refuse_if_none_match(request, current, star=False)
        # Checked by the services after the body, inside the write's transaction, as If-Match is.
        create_only = conditional.if_none_match_any(request)
        try:
            result = config_upsert(
                data=request.data,
                recompute=recompute,
                user=request.user,
                source=Source.API,
                model_id=model_id,
                if_match=conditional.if_match(request, current),
                must_exist=guards["must_exist"],
                must_not_exist=create_only or guards["must_not_exist"],
            )
        except ConfigRejected as exc:
            if create_only and any(i.code == Code.ALREADY_EXISTS for i in exc.issues):
                raise _exists() from exc
            raise
        return self.written(request, result)

    @extend_schema(
        operation_id="models_partial_update",
        summary="Change some fields of a config",
        description="The given top-level keys replace the stored ones (layer_types as a whole); the "
        "result is validated as a whole document. Derived values are recomputed unless given.",
        parameters=[MODEL_ID, RECOMPUTE, IF_MATCH, IF_NONE_MATCH_WRITE, *VALIDATORS],
        request=DocumentPatch,
        responses={200: Document, **errors(404, *WRITE_ERRORS, 412)},
    )
    def patch(self, request: Any, model_id: str) -> Any:
        recompute = self.recompute(request)
        current = selectors.current_digest(model_id=model_id)
        if current is None:
            raise config_not_found()
        refuse_if_none_match(request, current)
        # A config deleted meanwhile: ModelConfig.DoesNotExist, a 404 (registry.api.errors).
        result = config_patch(
            model_id=model_id,
            patch=request.data,
            recompute=recompute,
            user=request.user,
            source=Source.API,
            if_match=conditional.if_match(request, current),
        )
        return self.written(request, result)

    @extend_schema(
        operation_id="models_destroy",
        summary="Delete a config",
        parameters=[MODEL_ID, IF_MATCH, IF_NONE_MATCH_WRITE],
        # No body is read: never a 413 or 415. An unknown query parameter is a 400; writes are throttled (429).
        responses={204: OpenApiResponse(description="Deleted."), **errors(400, 404, 401, 403, 406, 412, 429)},
    )
    def delete(self, request: Any, model_id: str) -> Any:
        current = selectors.current_digest(model_id=model_id)
        if current is None:
            raise config_not_found()
        refuse_if_none_match(request, current)
        config_delete(
            model_id=model_id, user=request.user, source=Source.API, if_match=conditional.if_match(request, current)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def refuse_if_none_match(request: Any, current: str | None, *, star: bool = True) -> None:
    """A write whose If-None-Match names the current version, or is ``*`` while the config exists, is a 412
    (RFC 9110 §13.1.2). ``star=False`` leaves ``*`` to the write (``must_not_exist``: PUT judges the body first).
    """
    if conditional.none_match_names(request, current):
        raise _none_match_failed("If-None-Match names the config's current version")
    if star and current is not None and conditional.if_none_match_any(request):
        raise _exists()


def _exists() -> Invalid:
    return _none_match_failed("a config with this model_id already exists")


def _none_match_failed(msg: str) -> Invalid:
    return Invalid([Issue("header.If-None-Match", Code.PRECONDITION_FAILED, msg)], status_code=412)


class ConfigValidateView(RegistryAPIView):
    """Validate a document with the core, write nothing."""

    read_only_post = True
    query_params = {"post": ("recompute",)}

    @extend_schema(
        operation_id="models_validate",
        summary="Validate a document without saving it",
        description="A dry run of POST /models/: 200 when the document is valid, 400 when not, both with "
        "`valid`, every error and warning and, when valid, the derived counts and the normalized document. "
        "Nothing is written.",
        parameters=[RECOMPUTE],
        request=DocumentInput,
        responses={
            200: ValidationReportSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="The document breaks the rules listed; the body is then a whole ValidationReport "
                "(valid, errors, warnings, recomputed, counts, document). Or a query parameter is wrong.",
            ),
            **errors(*READ_ERRORS, 413, 415),
        },
    )
    def post(self, request: Any) -> Any:
        validation = validate_config(request.data, recompute=self.recompute(request))
        doc = validation.config
        return Response(
            status=status.HTTP_200_OK if validation.ok else status.HTTP_400_BAD_REQUEST,
            data={
                "valid": validation.ok,
                "errors": [i.as_dict() for i in validation.errors],
                "warnings": [i.as_dict() for i in validation.warnings],
                "recomputed": [i.as_dict() for i in validation.recomputed],
                "counts": parameter_breakdown(doc) if doc is not None else None,
                "document": doc.to_document() if doc is not None else None,
            },
        )


class ImportHFView(RegistryAPIView):
    """Convert a Hugging Face config.json into a config and write it (or, with ?dry_run=true, only show it)."""

    query_params = {"post": ("dry_run", "replace")}
    creates_or_replaces = True  # ConfigPermissions: add or change lets it in; post() asks for the one it needs

    @extend_schema(
        operation_id="models_import_hf",
        summary="Import a Hugging Face config.json",
        description="Converts the config.json of a supported model_type (absent keys take the transformers "
        "configuration class's defaults; the model's dimensions must be given) and writes the result: 201 when "
        "created, 200 when it matched a stored config, and with ?replace=true 200 when it replaced one (409 "
        "without: a curated config is not overwritten by accident). With ?dry_run=true: 200 with the document "
        "it would write, nothing written. Errors name the config.json key (config.num_attention_heads) or the "
        "document's place. A caller without the add permission only replaces: 404 when the config is gone by the "
        "write.",
        parameters=[
            OpenApiParameter("dry_run", str, enum=["true", "false"], description="true: write nothing."),
            OpenApiParameter(
                "replace", str, enum=["true", "false"], description="true: replace a different stored config."
            ),
            *VALIDATORS,
        ],
        request=ImportHFRequestSerializer,
        responses={201: Document, 200: Document, **errors(404, *WRITE_ERRORS, 409)},
    )
    def post(self, request: Any) -> Any:
        dry_run, replace = (self.flag(request, name, default=False) for name in ("dry_run", "replace"))
        data = request.data
        if not isinstance(data, dict):
            raise Invalid([Issue("$", Code.NOT_AN_OBJECT, "expected an object with hf_model_id and config")])
        problems = [
            Issue(key, Code.REQUIRED, f"{key!r} is required") for key in ("hf_model_id", "config") if key not in data
        ]
        problems += [
            Issue(key, Code.UNKNOWN_KEY, f"unknown key {key!r}; allowed keys: hf_model_id, config")
            for key in data
            if key not in ("hf_model_id", "config")
        ]
        if problems:
            raise Invalid(problems)
        if dry_run:
            doc = hf_document(hf_model_id=data["hf_model_id"], config=data["config"])
            return Response(doc.to_document())
        # Without the change permission replace stays false, which the import checks under its locks: a different
        # config another write creates meanwhile is not replaced (409, as for PUT), an identical one is unchanged.
        if replace and not request.user.has_perm(CHANGE):
            raise exceptions.PermissionDenied("?replace=true needs the change permission.")
        hf_id = data["hf_model_id"]
        may_add = request.user.has_perm(ADD)
        if not may_add and not (
            hf_id_issue("hf_model_id", hf_id) is None
            and selectors.current_digest(model_id=model_id_for(hf_id)) is not None
        ):
            raise exceptions.PermissionDenied("Importing a new config needs the add permission.")
        result = config_import_hf(
            hf_model_id=data["hf_model_id"],
            config=data["config"],
            replace=bool(replace),
            # The config seen above may be deleted before the write: then it is not created (404, as for PUT).
            must_exist=not may_add,
            user=request.user,
            source=Source.IMPORTHF,
        )
        return self.written(request, result)


class ConfigParametersView(RegistryAPIView):
    """Where a config's parameters are, layer type by layer type."""

    @extend_schema(
        operation_id="models_parameters",
        summary="Where a config's parameters are",
        description="For each layer type: count, parameter_count, subtotal and share of total_params.",
        parameters=[MODEL_ID, IF_NONE_MATCH, *VALIDATORS],
        responses={200: ParameterBreakdownSerializer, **NOT_MODIFIED, **errors(404, *READ_ERRORS)},
    )
    def get(self, request: Any, model_id: str) -> Any:
        config = selectors.config_with_layers(model_id=model_id)
        if config is None:
            raise config_not_found()
        return conditional.respond(
            request, config.digest, config.updated, lambda: Response(parameter_breakdown(config.to_doc()))
        )


PLAN_QUERY = tuple(p.name for p in PLAN_PARAMETERS)


def parse_query(
    request: Any,
    parse: Callable[[dict[str, str | None], dict[str, DeviceSpec]], tuple[T | None, list[Issue]]],
    names: Iterable[str],
) -> tuple[T, dict[str, DeviceSpec]]:
    """``parse`` (``parse_deployment``, ``parse_search``) of the query parameters ``names`` against the device
    catalogue, and the catalogue; or a 400 naming every bad parameter."""
    devices = selectors.device_catalogue()
    parsed, issues = parse({name: request.query_params.get(name) for name in names}, devices)
    if issues:
        raise Invalid(query_issues(issues))
    assert parsed is not None
    return parsed, devices


def deployment_from(request: Any) -> tuple[Deployment, DeviceSpec | None]:
    """The query's deployment and its device of the catalogue (None without one), or a 400 naming every bad
    parameter."""
    deployment, devices = parse_query(request, parse_deployment, PLAN_QUERY)
    return deployment, devices.get(deployment.device) if deployment.device else None


class ConfigPlanView(RegistryAPIView):
    """What it takes to run one config."""

    query_params = {"get": PLAN_QUERY}

    @extend_schema(
        operation_id="models_plan",
        summary="Plan a deployment of a config",
        description="Memory per device (weights split by each layer class's parallelism, KV cache), FLOPs per "
        "token, training states (mode=training) and the fit on a device, for the heaviest device. A degree "
        "that does not split a layer type is a 400 naming the degree and the spec. With isl, osl and a device "
        "of the catalogue: performance, the estimated TTFT, TPOT, throughput and cost.",
        parameters=[MODEL_ID, *PLAN_PARAMETERS],
        responses={200: PlanSerializer, **errors(400, 404, *READ_ERRORS)},
    )
    def get(self, request: Any, model_id: str) -> Any:
        deployment, device = deployment_from(request)
        config = selectors.config_with_layers(model_id=model_id)
        if config is None:
            raise config_not_found()
        plan = serving.plan_config(config.to_document(), deployment, device)
        if not plan.ok:
            raise Invalid(query_issues(plan.errors))
        return Response(plan.as_dict())


class PlanListView(RegistryAPIView):
    """The same plan for every config (the list's filters and ordering apply)."""

    query_params = {"get": (*PLAN_QUERY, *(p.name for p in FILTER_PARAMETERS), "fits")}
    repeatable = (SPEC,)

    @extend_schema(
        operation_id="plans_list",
        summary="Plan a deployment of every config",
        description="One vectorized pass over every config the filters select (the performance estimate too, "
        "with isl, osl and a device); items are plans without layer_types. fits=true keeps the configs that "
        "fit device_memory (needed with it); a config the degrees cannot split is an item with errors (and "
        "never fits).",
        parameters=[
            *PLAN_PARAMETERS,
            *FILTER_PARAMETERS,
            OpenApiParameter("fits", str, enum=["true", "false"], description="Only plans that fit (or not)."),
        ],
        responses={200: PlanPageSerializer, **errors(400, *READ_ERRORS)},
    )
    def get(self, request: Any) -> Any:
        deployment, device = deployment_from(request)
        fits = self.flag(request, "fits", default=None)
        if fits is not None and deployment.device_memory is None:
            raise query_error("fits", Code.REQUIRES_DEVICE_MEMORY, "fits needs device_memory to compare against")
        configs, rows = planning_stacks(self.selected(request, (*PLAN_QUERY, "fits")))
        plans = serving.plan_stacks(configs, rows, deployment, device)
        if fits is not None:
            # A plan with errors never fits: fits=false lists it with those that do not fit.
            plans = [p for p in plans if (p.fits is True) == fits]
        paginator, page = paginate(plans, request, self)
        for plan in page:  # only the page's plans are written
            plan.errors = query_issues(plan.errors)
        return paginator.get_paginated_response([plan.as_dict() for plan in page])


class LayerClassListView(RegistryAPIView):
    """The layer-class catalogue (registry.core.catalogue)."""

    permission_classes = [CanRead]

    @extend_schema(
        operation_id="layer_classes_list",
        summary="The layer-class catalogue",
        responses={200: LayerClassSerializer(many=True), **errors(*READ_ERRORS)},
    )
    def get(self, request: Any) -> Any:
        prefix = request.build_absolute_uri(reverse("api:layer-class-list"))
        return Response(LayerClassSerializer(catalogue.classes(), many=True, context={"detail_prefix": prefix}).data)


class LayerClassDetailView(RegistryAPIView):
    """One class of the catalogue."""

    permission_classes = [CanRead]

    @extend_schema(
        operation_id="layer_classes_retrieve",
        summary="One layer class",
        responses={200: LayerClassSerializer, **errors(404, *READ_ERRORS)},
    )
    def get(self, request: Any, name: str) -> Any:
        layer_class: LayerClass | None = catalogue.get(name)
        if layer_class is None:
            raise exceptions.NotFound(f"No layer class {name!r}; classes: {', '.join(catalogue.names())}.")
        prefix = request.build_absolute_uri(reverse("api:layer-class-list"))
        return Response(LayerClassSerializer(layer_class, context={"detail_prefix": prefix}).data)
