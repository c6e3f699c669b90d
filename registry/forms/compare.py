"""The history page's comparison with another stored config."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from registry import selectors
from registry.core import Code
from registry.core.diff import compare
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
