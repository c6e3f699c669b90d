"""The shipped fixtures load, and derive the published totals."""

import pytest

from registry.models import ModelConfig

PUBLISHED = {
    "meta-llama_Llama-3.1-405B-Instruct": (405853388800, "405.9B"),
    "meta-llama_Llama-3.3-70B-Instruct": (70553706496, "70.6B"),
    "TinyLlama_TinyLlama-1.1B-Chat-v1.0": (1100048384, "1.1B"),
    "mistralai_Mistral-7B-v0.1": (7241732096, "7.2B"),
}


@pytest.mark.django_db
def test_fixtures_load_with_published_totals(loaded_fixtures):
    """Each fixture's stored total equals the model's published parameter count."""
    stored = {c.model_id: (c.total_params, c.total_params_formatted) for c in ModelConfig.objects.all()}
    assert stored == PUBLISHED
