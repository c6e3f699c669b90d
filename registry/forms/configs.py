"""A config's change form: its own fields, and the layer-type rows whose formset validates the whole document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.formsets import TOTAL_FORM_COUNT
from django.forms.models import BaseInlineFormSet, construct_instance
from django.utils.functional import cached_property

from registry import selectors
from registry.core import Code, Validation, catalogue, validate_config
from registry.core.catalogue import LayerClass
from registry.core.counts import BIGINT_MAX
from registry.core.keys import AUTHORED_VALUE_KEYS
from registry.core.validation import MAX_LAYER_TYPES
from registry.forms.issues import attach_issues
from registry.forms.specs import (
    SPEC_PREFIX,
    CatalogueSpec,
    JsonIntegerField,
    catalogue_specs,
    class_choices,
    integer_formfield,
    spec_form_field,
)
from registry.forms.widgets import WidgetRenderer
from registry.models import LAYER_FIELD_OF_KEY, ConfigRevision, LayerType, ModelConfig

# The name the change page's Plan button posts the change form under when it has unsaved edits: the form's
# values are planned (ModelConfigAdmin.render_change_form) and nothing is saved.
PLAN_UNSAVED = "_plan"

# Where ModelConfigForm leaves itself on its instance: the inline formset validates the whole
# document in its clean(), and the admin hands it only the parent's instance, not the parent form.
PARENT_FORM_ATTR = "_registry_parent_form"


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

    hidden_size = JsonIntegerField(min_value=1, max_value=BIGINT_MAX, help_text="Model (residual stream) width.")
    num_layers = JsonIntegerField(min_value=1, max_value=BIGINT_MAX, help_text="Number of decoder layers.")
    vocab_size = JsonIntegerField(min_value=1, max_value=BIGINT_MAX, help_text="Tokens in the vocabulary.")
    max_position_embeddings = JsonIntegerField(
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
        formfield_callback = integer_formfield  # integers typed as JSON writes them, as the fields above

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

    def is_valid(self) -> bool:
        # A plan of unsaved values is never a save: the admin re-renders the bound forms (edits kept).
        return super().is_valid() and PLAN_UNSAVED not in self.data

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
        formfield_callback = integer_formfield
        # Widths in the inline's stylesheet: a style="" attribute is refused by the Content-Security-Policy.
        widgets = {"position": forms.NumberInput(attrs={"min": 0})}

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
        self.fields["count"] = JsonIntegerField(
            min_value=1, max_value=BIGINT_MAX, help_text="How many layers of this type the model has."
        )
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

    def posted_count(self) -> int | None:
        """The number of rows the POST says it holds (its TOTAL_FORMS), None when unbound or unreadable."""
        if not self.is_bound or not self.management_form.is_valid():
            return None
        return self.management_form.cleaned_data[TOTAL_FORM_COUNT]

    def too_many(self) -> bool:
        count = self.posted_count()
        return count is not None and count > MAX_LAYER_TYPES

    def total_form_count(self) -> int:
        # Django builds min(TOTAL_FORMS, max_num + 1000) forms before it refuses the excess (seconds of work
        # for a forged 100000): more rows than a document may hold are refused before any row is built.
        return 0 if self.too_many() else super().total_form_count()

    def full_clean(self) -> None:
        if not self.too_many():
            super().full_clean()
            return
        self._errors: list[Any] = []  # BaseFormSet's, unannotated in the stubs
        message = (
            f"layer_types: expected at most {MAX_LAYER_TYPES} layer types (one per layer of the deepest "
            f"models), got {self.posted_count()} rows; nothing was read"
        )
        self._non_form_errors = self.error_class([ValidationError(message, code=Code.TOO_MANY)], error_class="nonform")

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
