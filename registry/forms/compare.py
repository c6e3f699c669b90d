"""The history page's comparison with another stored config, and several configs side by side."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from registry import selectors
from registry.core import Code
from registry.core.diff import MAX_COMPARED, compare, compared_ids, side_by_side
from registry.core.validation import MAX_ID_LENGTH


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


class SideBySideForm(forms.Form):
    """The admin's side-by-side comparison: 2 to MAX_COMPARED stored configs (the API's /compare/)."""

    model_ids = forms.CharField(
        label="Configs",
        max_length=MAX_COMPARED * (MAX_ID_LENGTH + 1),
        widget=forms.TextInput(attrs={"placeholder": "model_id,model_id,…", "size": 96, "autocomplete": "off"}),
        help_text=f"2 to {MAX_COMPARED} model_ids, comma-separated: the columns, in this order.",
    )

    def clean_model_ids(self) -> list[str]:
        ids, issues = compared_ids(self.cleaned_data["model_ids"])
        if issues:
            raise ValidationError([ValidationError(i.msg, code=i.code) for i in issues])
        return ids

    def comparison(self) -> dict[str, Any] | None:
        """``side_by_side`` of the stored configs, or None with an error naming each model_id not stored."""
        ids = self.cleaned_data["model_ids"]
        found = selectors.documents_of(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            for i in missing:
                self.add_error("model_ids", ValidationError(f"no config with model_id {i!r}", code=Code.NOT_FOUND))
            return None
        return side_by_side([(i, found[i]) for i in ids])
