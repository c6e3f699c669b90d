"""The import pages' forms: config files, or a Hugging Face config.json uploaded or pasted."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from registry.core import Code
from registry.core.hf import HUB_ID_RE
from registry.core.validation import MAX_ID_LENGTH


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
