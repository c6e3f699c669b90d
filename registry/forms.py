"""Admin forms: typed spec fields generated from the catalogue, and the core's issues shown at their fields."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet, construct_instance
from django.forms.renderers import BaseRenderer, get_default_renderer
from django.forms.utils import ErrorList
from django.template import Template
from django.utils.functional import cached_property
from django.utils.html import conditional_escape

from registry import selectors
from registry.core import Code, Issue, Validation, catalogue, plan_parameters, validate_config
from registry.core.catalogue import PARAMETER_COUNT, LayerClass, Spec, SpecKind
from registry.core.counts import BIGINT_MAX
from registry.core.diff import compare
from registry.core.hf import HUB_ID_RE
from registry.core.keys import AUTHORED_VALUE_KEYS
from registry.core.plan_parameters import Deployment, parse_deployment
from registry.core.validation import MAX_ID_LENGTH
from registry.models import LAYER_FIELD_OF_KEY, ConfigRevision, LayerType, ModelConfig

SPEC_PREFIX = "spec_"
# Where ModelConfigForm leaves itself on its instance: the inline formset validates the whole
# document in its clean(), and the admin hands it only the parent's instance, not the parent form.
PARENT_FORM_ATTR = "_registry_parent_form"
_LAYER_LOC = re.compile(r"^layer_types\[(\d+)\](?:\.([A-Za-z_]+))?(?:\.([A-Za-z_]+))?$")


@dataclass(frozen=True)
class CatalogueSpec:
    """A spec name as the admin offers it: the classes that take it and those that require it."""

    spec: Spec
    classes: tuple[str, ...]
    required_in: tuple[str, ...]

    @property
    def field_name(self) -> str:
        return SPEC_PREFIX + self.spec.name


def catalogue_specs() -> list[CatalogueSpec]:
    """Every spec any class may hold (parameter_count excluded: it is derived), in first-seen order."""
    seen: dict[str, tuple[Spec, list[str], list[str]]] = {}
    for layer_class in catalogue.classes():
        for name, spec in layer_class.allowed.items():
            if name == PARAMETER_COUNT.name:
                continue
            entry = seen.setdefault(name, (spec, [], []))
            entry[1].append(layer_class.name)
            if name in layer_class.required_names:
                entry[2].append(layer_class.name)
    return [CatalogueSpec(spec, tuple(classes), tuple(required)) for spec, classes, required in seen.values()]


class OptionalBooleanSelect(forms.NullBooleanSelect):
    """yes / no / blank, the blank option naming the default an absent key means."""

    def __init__(self, default: bool, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", f"— (default: {_yes_no(default)})"), ("true", "yes"), ("false", "no")]


def _yes_no(value: Any) -> str:
    return "yes" if value else "no"


def _help(spec: Spec) -> str:
    if spec.default is None:
        return spec.description
    default = _yes_no(spec.default) if spec.kind is SpecKind.BOOL else spec.default
    return f"{spec.description} Default when left blank: {default}."


def spec_form_field(entry: CatalogueSpec) -> forms.Field:
    """The typed form field of a spec, from its kind alone.

    A blank optional field leaves the key absent (its default applies), so saving an untouched
    form never adds a key to the document. A boolean every class having it requires stays a checkbox.
    """
    spec = entry.spec
    if spec.kind is SpecKind.BOOL:
        # A checkbox cannot leave a key absent: only for a flag every class that has it requires.
        if entry.required_in and set(entry.required_in) == set(entry.classes):
            return forms.BooleanField(label=spec.name, required=False, help_text=_help(spec))
        return forms.NullBooleanField(
            label=spec.name, required=False, help_text=_help(spec), widget=OptionalBooleanSelect(bool(spec.default))
        )
    if spec.kind is SpecKind.CHOICE:
        blank = "—" if spec.default is None else f"— (default: {spec.default})"
        return forms.TypedChoiceField(
            label=spec.name,
            required=False,
            choices=[("", blank), *((choice, choice) for choice in spec.choices)],
            empty_value=None,
            help_text=_help(spec),
        )
    return forms.IntegerField(
        label=spec.name, required=False, min_value=spec.minimum, max_value=BIGINT_MAX, help_text=_help(spec)
    )


def class_choices() -> list[tuple[str, str]]:
    return [("", "---------"), *((name, name) for name in catalogue.names())]


SELECT_OPTION_TEMPLATE = "django/forms/widgets/select_option.html"


def _value_html(value: Any) -> str:
    """``{{ value|stringformat:"s" }}`` as Django's widget templates write it (autoescaped, unless safe)."""
    return conditional_escape(str(value))


def _attrs_html(attrs: dict[str, Any]) -> str:
    """django/forms/widgets/attrs.html."""
    return "".join(
        f" {conditional_escape(name)}" if value is True else f' {conditional_escape(name)}="{_value_html(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input_html(widget: dict[str, Any]) -> str:
    """django/forms/widgets/input.html (text, number, hidden and checkbox include it)."""
    value = "" if widget["value"] is None else f' value="{_value_html(widget["value"])}"'
    return (
        f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
        f"{value}{_attrs_html(widget['attrs'])}>"
    )


def _select_html(widget: dict[str, Any]) -> str | None:
    """django/forms/widgets/select.html with its select_option.html; None for another option template."""
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs_html(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        for option in options:
            if option["template_name"] != SELECT_OPTION_TEMPLATE:
                return None
            parts.append(
                f'\n  <option value="{_value_html(option["value"])}"{_attrs_html(option["attrs"])}>'
                f"{conditional_escape(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


_WIDGET_HTML: dict[str, Callable[[dict[str, Any]], str | None]] = {
    **{f"django/forms/widgets/{kind}.html": _input_html for kind in ("text", "number", "hidden", "checkbox")},
    "django/forms/widgets/select.html": _select_html,
}


class WidgetRenderer(BaseRenderer):
    """The project's form renderer, with plain inputs, selects and empty error lists written in Python.

    The HTML is that of Django's templates (tests/test_admin.py compares them); the template engine took
    seconds over the 7,000 widgets of a config at the cap of 512 layer types.
    """

    def get_template(self, template_name: str) -> Template:
        return get_default_renderer().get_template(template_name)

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        write = _WIDGET_HTML.get(template_name)
        html = write(context["widget"]) if write is not None else None
        if html is None and template_name == ErrorList.template_name_ul and not context["errors"]:
            html = ""  # what ul.html writes for no errors; every field of every row asks
        if html is None:
            html = super().render(template_name, context, request)
        return html


def stale_message(model_id: str, *, shown_again: bool = False, outcome: str = "your changes were not saved") -> str:
    """Why a write over a newer version was refused: who changed (or deleted) the config, and when.

    ``shown_again``: the admin has already reopened the page on the current version. ``outcome``: what
    was not done.
    """
    latest = selectors.latest_revision(model_id)
    by, what = "", "changed"
    if latest is not None:
        who = latest.user.get_username() if latest.user else latest.source
        by = f" (by {who}, {latest.created:%Y-%m-%d %H:%M:%S %Z})"
        if latest.action == ConfigRevision.Action.DELETED:
            what = "deleted"
    text = f"This config was {what}{by} after you opened this page, so {outcome}."
    if what == "deleted":
        return text
    if shown_again:
        return f"{text} This page now shows the current version: make your change there."
    return f"{text} Open it again to see the current version, then make your change there."


def _construct_instance_only(form: forms.BaseModelForm[Any]) -> None:
    """A model form's _post_clean without the model's validation: the form's values set on its instance."""
    try:
        form.instance = construct_instance(form, form.instance, form._meta.fields, form._meta.exclude)
    except ValidationError as exc:
        # What Django's own _post_clean does with these errors; _update_errors is private, not in the stubs.
        form._update_errors(exc)  # type: ignore[attr-defined]


class ModelConfigForm(forms.ModelForm):
    """A config's own fields; the whole document is validated by the layer-type formset's clean()."""

    hidden_size = forms.IntegerField(min_value=1, max_value=BIGINT_MAX, help_text="Model (residual stream) width.")
    num_layers = forms.IntegerField(min_value=1, max_value=BIGINT_MAX, help_text="Number of decoder layers.")
    vocab_size = forms.IntegerField(min_value=1, max_value=BIGINT_MAX, help_text="Tokens in the vocabulary.")
    max_position_embeddings = forms.IntegerField(
        label="Context length",
        required=False,
        min_value=1,
        max_value=BIGINT_MAX,
        help_text="Tokens of context the model was built for (max_position_embeddings); optional.",
    )
    # The digest of the version the page was opened on: a save over a newer one is refused.
    base_digest = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = ModelConfig
        fields = AUTHORED_VALUE_KEYS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        setattr(self.instance, PARENT_FORM_ATTR, self)
        if self.instance.pk:
            self.fields["base_digest"].initial = self.instance.digest

    def clean(self) -> dict[str, Any]:
        super().clean()  # Django's returns self.cleaned_data; the stubs allow None (an override may return nothing)
        cleaned = self.cleaned_data
        base = cleaned.get("base_digest")
        # A plain read, for an early message: the save passes base_digest to config_upsert as
        # if_match, which checks it again under the row lock (ModelConfigAdmin.save_related).
        if self.instance.pk and base:
            current = selectors.current_digest(pk=self.instance.pk)
            if current is not None and current != base:
                raise ValidationError(stale_message(self.instance.model_id), code=Code.STALE)
        return cleaned

    def _unique(self, field: str) -> Any:
        value = self.cleaned_data[field]
        if ModelConfig.objects.filter(**{field: value}).exclude(pk=self.instance.pk).exists():
            raise ValidationError(f"a config with {field} {value!r} already exists", code=Code.ALREADY_EXISTS)
        return value

    def clean_model_id(self) -> Any:
        return self._unique("model_id")

    def clean_hf_model_id(self) -> Any:
        return self._unique("hf_model_id")

    def _post_clean(self) -> None:
        # Model.full_clean() would re-run the CHECK constraints, repeating the core's messages as
        # anonymous non-field errors; the core judges values (formset clean), uniqueness is above.
        _construct_instance_only(self)


class LayerTypeForm(forms.ModelForm):
    """One layer type: its class from the catalogue, and a typed field per spec of that class.

    Only the chosen class's fields are enabled and read; the inline's script brings in another class's
    fields from the page's templates when the class changes (see spec_widgets).
    """

    default_renderer = WidgetRenderer

    class Meta:
        model = LayerType
        fields = ("position", "name", "class_name", "count")
        widgets = {"position": forms.NumberInput(attrs={"min": 0, "style": "width: 4em"})}

    def __init__(
        self,
        *args: Any,
        spec_entries: Sequence[CatalogueSpec] | None = None,
        class_options: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        """``spec_entries`` and ``class_options``: the catalogue's, given once for a whole formset."""
        super().__init__(*args, **kwargs)
        self.fields["class_name"] = forms.ChoiceField(
            label="Class",
            choices=class_choices() if class_options is None else class_options,
            help_text="A class of the layer-class catalogue.",
        )
        self.fields["position"].required = False
        self.fields["position"].help_text = "Order in layer_types; rows are sorted by it on save."
        self.fields["count"] = forms.IntegerField(
            min_value=1, max_value=BIGINT_MAX, help_text="How many layers of this type the model has."
        )
        self.fields["count"].widget.attrs["style"] = "width: 7em"
        chosen = self.chosen_class()
        every = catalogue_specs() if spec_entries is None else spec_entries
        # The fields of the classes the row is about; a row without a class has them all (the page's
        # spec templates are the blank row's). Every spec in every row was 18,000 fields at the cap.
        classes = {c.name for c in (chosen, self.stored_class()) if c is not None}
        self.spec_entries = [e for e in every if classes.intersection(e.classes)] if classes else list(every)
        for entry in self.spec_entries:
            field = spec_form_field(entry)
            field.disabled = chosen is None or entry.spec.name not in chosen.allowed
            self.fields[entry.field_name] = field
            if self.instance.pk and entry.spec.name in (self.instance.specs or {}):
                self.initial[entry.field_name] = self.instance.specs[entry.spec.name]

    def has_changed(self) -> bool:
        # The page's script numbers a new row after the last position, which differs from the
        # server's initial value when rows were removed or renumbered: a row changed only there
        # is still the untouched blank row and is ignored, as Django ignores unchanged extra rows.
        if self.instance.pk is None and set(self.changed_data) <= {"position"}:
            return False
        return super().has_changed()

    def chosen_class(self) -> LayerClass | None:
        """The class the form is about: the posted one when bound, else the stored one."""
        if self.is_bound:
            return catalogue.get(self.data.get(self.add_prefix("class_name")) or "")
        return catalogue.get(self.initial.get("class_name") or self.instance.class_name or "")

    def stored_class(self) -> LayerClass | None:
        return catalogue.get(self.instance.class_name or "") if self.instance.pk else None

    def specs(self) -> dict[str, Any]:
        """The chosen class's specs from the cleaned fields; empty and invalid ones left out."""
        chosen = self.chosen_class()
        if chosen is None:
            return {}
        values = {}
        for name in chosen.allowed:
            value = self.cleaned_data.get(SPEC_PREFIX + name)
            if value is not None:
                values[name] = value
        return values

    def spec_widgets(self) -> list[dict[str, Any]]:
        """What the inline template needs to render and toggle the row's spec fields.

        Those of the chosen class, and of the stored class when another was posted (switching back shows its
        values); the others come from the page's one copy of each (LayerTypeFormSet.spec_templates).
        """
        chosen = self.chosen_class()
        if chosen is None and self.stored_class() is None:
            return []
        return [self.spec_widget(entry, chosen) for entry in self.spec_entries]

    def spec_widget(self, entry: CatalogueSpec, chosen: LayerClass | None) -> dict[str, Any]:
        return {
            "field": self[entry.field_name],
            "spec": entry.spec.name,
            "classes": " ".join(entry.classes),
            "required_in": " ".join(entry.required_in),
            "shown": chosen is not None and chosen.name in entry.classes,
            "required": chosen is not None and chosen.name in entry.required_in,
        }

    def _post_clean(self) -> None:
        # As for ModelConfigForm: the core judges values and names, so no CHECK or unique checks here.
        _construct_instance_only(self)


class LayerTypeFormSet(BaseInlineFormSet):
    """The layer types of a config; clean() validates the whole document with the core.

    After a successful clean, ``document`` is what the admin writes and ``validation`` the core's verdict.
    """

    document: dict[str, Any] | None = None
    validation: Validation | None = None

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs = super().get_form_kwargs(index)
        kwargs.update(self._catalogue)
        # A blank row is numbered after the stored ones, so leaving its position alone keeps the screen order.
        if index is not None and index >= self.initial_form_count():
            kwargs["initial"] = {"position": index}
        return kwargs

    def validate_unique(self) -> None:
        """Duplicate names are the core's rule (duplicate_name), reported at the row's name field."""

    @cached_property
    def _catalogue(self) -> dict[str, Any]:
        return {"spec_entries": catalogue_specs(), "class_options": class_choices()}

    def spec_templates(self) -> list[dict[str, Any]]:
        """Each spec field once, in a blank row's names: the inline's script copies one into a row whose
        newly chosen class takes it."""
        form = self.empty_form
        return [form.spec_widget(entry, None) for entry in form.spec_entries]

    def rows(self) -> list[LayerTypeForm]:
        """The forms that make up layer_types, in the order of their position fields (then as shown)."""
        live = []
        for index, form in enumerate(self.forms):
            # _should_delete_form (the row's DELETE box) is BaseFormSet's, private and not in the stubs.
            if self.can_delete and self._should_delete_form(form):  # type: ignore[attr-defined]
                continue
            if index >= self.initial_form_count() and not form.has_changed():
                continue
            live.append((index, form))

        def key(item: tuple[int, LayerTypeForm]) -> tuple[float, int]:
            position = item[1].cleaned_data.get("position")
            return (float("inf") if position is None else position, item[0])

        return [form for _, form in sorted(live, key=key)]

    def build_document(self, parent: forms.ModelForm | None, rows: list[LayerTypeForm]) -> dict[str, Any]:
        """The config document the forms describe; values that failed their field's own check are left out."""
        document: dict[str, Any] = {}
        for key in AUTHORED_VALUE_KEYS:
            if parent is not None and key in parent.fields:
                # None only comes from an optional field left blank: the key is then absent.
                if parent.cleaned_data.get(key) is not None:
                    document[key] = parent.cleaned_data[key]
            else:
                document[key] = getattr(self.instance, key)
        layer_types = []
        for form in rows:
            item: dict[str, Any] = {}
            for key, field in LAYER_FIELD_OF_KEY.items():
                if form.cleaned_data.get(field) not in (None, ""):
                    item[key] = form.cleaned_data[field]
            item["specs"] = form.specs()
            layer_types.append(item)
        document["layer_types"] = layer_types
        return document

    def clean(self) -> None:
        super().clean()
        parent = getattr(self.instance, PARENT_FORM_ATTR, None)
        if parent is not None and not hasattr(parent, "cleaned_data"):
            parent = None
        rows = self.rows()
        document = self.build_document(parent, rows)
        validation = validate_config(document)
        self.document, self.validation = document, validation
        leftover, at_parent = attach_issues(validation.errors, parent, rows)
        messages = [ValidationError(f"{i.loc}: {i.msg}", code=i.code) for i in leftover]
        if at_parent and not messages:
            messages.append(
                ValidationError("The config has errors: see the fields marked above.", code=Code.CONFIG_INVALID)
            )
        if messages:
            self.document = None
            raise ValidationError(messages)


def _add_issue(form: forms.BaseForm, field: str | None, issue: Issue) -> None:
    """Put ``issue`` at ``field``, or among the form's non-field errors when it has no such field."""
    if field is not None and field not in form.fields:
        field = None
    if field is not None and form.has_error(field):
        return  # the field's own check has said why; the core saw the value as missing
    message = issue.msg if field is not None else f"{issue.loc}: {issue.msg}"
    form.add_error(field, ValidationError(message, code=issue.code))


def _row_field(part: str | None, spec: str | None) -> str | None:
    """The inline form field for ``layer_types[i].<part>[.<spec>]``; None for the row as a whole."""
    if part == "specs":
        return SPEC_PREFIX + spec if spec else None
    return LAYER_FIELD_OF_KEY.get(part or "")


def attach_issues(
    issues: list[Issue], parent: forms.BaseForm | None, rows: list[LayerTypeForm]
) -> tuple[list[Issue], bool]:
    """Show each issue at the form field its loc names.

    Returns the issues no form can show, and whether any went to the parent form.
    """
    leftover: list[Issue] = []
    at_parent = False
    for issue in issues:
        match = _LAYER_LOC.match(issue.loc)
        if match:
            index, part, spec = int(match.group(1)), match.group(2), match.group(3)
            if index >= len(rows):
                leftover.append(issue)
                continue
            _add_issue(rows[index], _row_field(part, spec), issue)
        elif issue.loc.startswith("layer_types") or issue.loc.startswith("total_params") or parent is None:
            # The derived total comes from the layer types: its issues (overflow) are shown with them.
            leftover.append(issue)
        else:
            top = issue.loc.split(".", 1)[0].split("[", 1)[0]
            _add_issue(parent, top if top in AUTHORED_VALUE_KEYS else None, issue)
            at_parent = True
    return leftover, at_parent


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several uploaded files at once (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".json,application/json"}))
        # An empty file is reported per file by the import, as loadconfigs does.
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class ImportForm(forms.Form):
    """Upload config files; they are validated and written as loadconfigs does: all of them, or none."""

    # The field named "files" (the page's input name) is not the form's files: the form's metaclass moves declared
    # fields into base_fields, so self.files stays the uploads. The stubs see a clash with BaseForm.files.
    files = MultipleFileField(  # type: ignore[assignment]
        label="JSON files", help_text="One or several <model_id>.json files."
    )
    recompute = forms.BooleanField(
        required=False, help_text="Replace stale derived values (parameter_count, totals) instead of failing."
    )
    dry_run = forms.BooleanField(required=False, label="Dry run", help_text="Report without writing.")


class ImportHFForm(forms.Form):
    """A Hugging Face config.json, uploaded or pasted, and the Hub repo it belongs to."""

    hf_model_id = forms.CharField(
        label="Hugging Face model id",
        max_length=MAX_ID_LENGTH,
        help_text="The Hub repo the config.json comes from, ORG/NAME (e.g. mistralai/Mixtral-8x7B-v0.1).",
    )
    config_file = forms.FileField(
        label="config.json file",
        required=False,
        allow_empty_file=True,  # an empty file is reported by the import, as a pasted blank text is
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )
    config_text = forms.CharField(
        label="or its text",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "spellcheck": "false"}),
        help_text="Paste the config.json here instead of uploading it.",
    )
    replace = forms.BooleanField(
        required=False,
        label="Replace a stored config",
        help_text="Without it, a stored config the import would change is left alone (and the import fails).",
    )
    dry_run = forms.BooleanField(required=False, label="Dry run", help_text="Report without writing.")

    def clean_hf_model_id(self) -> str:
        value = self.cleaned_data["hf_model_id"].strip()
        if not HUB_ID_RE.fullmatch(value):
            raise ValidationError(f"expected a Hub id ORG/NAME, got {value!r}", code=Code.INVALID_HF_ID)
        return value

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns cleaned_data, as above
        cleaned = self.cleaned_data
        has_file = cleaned.get("config_file") is not None
        has_text = bool((cleaned.get("config_text") or "").strip())
        if has_file == has_text:
            raise ValidationError(
                "Give the config.json either as a file or as pasted text (one of them).", code=Code.ONE_SOURCE
            )
        return cleaned

    def source(self) -> tuple[str, bytes]:
        """The input's name in the report, and its bytes."""
        upload = self.cleaned_data.get("config_file")
        if upload is not None:
            return PurePath(upload.name).name, upload.read()
        return "pasted config.json", self.cleaned_data["config_text"].encode("utf-8")


class CompareForm(forms.Form):
    """The history page's comparison: another stored config, by model_id (the API's /models/{id}/diff/{other})."""

    compare = forms.CharField(
        label="Compare with",
        max_length=MAX_ID_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": "model_id", "size": 48, "autocomplete": "off"}),
        help_text="Another config's model_id: its values, layer types and parameters against this one's.",
    )

    def __init__(self, *args: Any, current: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current = current

    def clean_compare(self) -> str:
        value = self.cleaned_data["compare"].strip()
        if value == self.current:
            raise ValidationError("expected another config's model_id than this one's", code=Code.SAME_CONFIG)
        return value

    def comparison(self, document: dict[str, Any]) -> dict[str, Any] | None:
        """``compare(document, other)`` from the core, or None with an error at the field when there is no other."""
        other_id = self.cleaned_data["compare"]
        found = selectors.documents_of([other_id])
        if other_id not in found:
            self.add_error("compare", ValidationError(f"no config with model_id {other_id!r}", code=Code.NOT_FOUND))
            return None
        return {"b": other_id, **compare(document, found[other_id])}


def _parameter_field(name: str, attrs: dict[str, Any], **kwargs: Any) -> forms.Field:
    """A plan form's field for a deployment parameter of the core's table: its choices, or its bounds as the
    number input's min and max (text all the same: ``parse_deployment`` reads it and says what is wrong)."""
    parameter = plan_parameters.BY_NAME[name]
    if parameter.choices:
        choices = [(choice, choice) for choice in parameter.choices]
        return forms.ChoiceField(choices=choices, widget=forms.Select(attrs=attrs), **kwargs)
    low, high = parameter.bounds
    widget = forms.NumberInput(attrs={**attrs, "min": low, "max": high, "step": 1})
    return forms.CharField(widget=widget, **kwargs)


class PlanForm(forms.Form):
    """The change page's memory chart: a device, a tensor-parallel degree, a weight dtype and a batch.

    The core's ``parse_deployment`` reads the values (its messages appear at the fields); the device
    goes to it as ``device_memory``, which takes a device's name. tp, dtype and batch are the core's
    deployment parameters (``registry.core.plan_parameters.TABLE``): their choices, bounds and defaults.
    """

    PREFIX = "plan"
    PARAMETERS = ("tp", "dtype", "batch")
    DEFAULTS = {"device": "H100-80GB"} | {name: str(plan_parameters.BY_NAME[name].default) for name in PARAMETERS}
    FIELD_OF_PARAMETER = {"device_memory": "device"} | {name: name for name in PARAMETERS}
    # The GET form is an empty <form id="plan-form"> after the change form: HTML forms do not nest.
    _OUTSIDE = {"form": f"{PREFIX}-form"}

    device = forms.ChoiceField(
        choices=[(name, f"{name} ({size / 1e9:.1f} GB)") for name, size in plan_parameters.DEVICES.items()],
        widget=forms.Select(attrs=_OUTSIDE),
    )
    tp = _parameter_field("tp", _OUTSIDE, label="tp")
    dtype = _parameter_field("dtype", _OUTSIDE, label="Weight dtype")
    batch = _parameter_field("batch", _OUTSIDE)

    def __init__(self, query: Any) -> None:
        """Bound to the query string's ``plan-*`` values, a default standing in for each one missing."""
        names = {name: f"{self.PREFIX}-{name}" for name in self.DEFAULTS}
        data = {key: query.get(key, self.DEFAULTS[name]) for name, key in names.items()}
        super().__init__(data, prefix=self.PREFIX)

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns cleaned_data, as above
        cleaned = self.cleaned_data
        if self.errors:
            return cleaned
        deployment, issues = parse_deployment(
            {"device_memory": cleaned["device"], **{name: cleaned[name] for name in self.PARAMETERS}}
        )
        for issue in issues:
            _add_issue(self, self.FIELD_OF_PARAMETER.get(issue.loc), issue)
        cleaned["deployment"] = deployment
        return cleaned

    @property
    def deployment(self) -> Deployment | None:
        """The deployment the values describe; None while any of them is wrong."""
        return self.cleaned_data.get("deployment") if self.is_valid() else None
