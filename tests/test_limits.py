"""Limits and hostile input: caps on a document's size, duplicate JSON keys, control and bidi characters."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.api.serializers import CUT_MARK, SUMMARY_NOTES_LENGTH, ConfigSummarySerializer
from registry.core import Code, examples, validate_config
from registry.core.files import parse_config_bytes
from registry.core.validation import MAX_LAYER_NAME_LENGTH, MAX_LAYER_TYPES, MAX_NAME_LENGTH, MAX_NOTES_LENGTH
from registry.models import ModelConfig
from tests.conftest import error_codes, issues, small_config, store, write_config

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f"]
C0_C1 = ["\x01", "\x07", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f"]


def with_layer_types(n: int) -> dict[str, Any]:
    """The small config with exactly ``n`` layer types."""
    return examples.with_layer_types(small_config(), n)


# ---- caps ------------------------------------------------------------------------------------------------


def test_a_config_at_the_layer_type_cap_is_valid():
    """512 layer types (one per layer of the deepest models) are accepted."""
    result = validate_config(with_layer_types(MAX_LAYER_TYPES))
    assert result.ok, result.errors[:3]
    assert len(result.config.layer_types) == MAX_LAYER_TYPES


@pytest.mark.parametrize("n", [MAX_LAYER_TYPES + 1, 10_000])
def test_more_layer_types_than_the_cap_are_too_many(n):
    """Beyond the cap the list is refused as a whole, once, without checking each item."""
    result = validate_config(with_layer_types(n))
    assert issues(result) == [("layer_types", Code.TOO_MANY)]
    assert f"at most {MAX_LAYER_TYPES} layer types" in result.errors[0].msg and str(n) in result.errors[0].msg


def test_validation_notes_up_to_the_cap_are_accepted():
    """Notes of MAX_NOTES_LENGTH characters are valid."""
    assert validate_config(small_config(validation_notes="n" * MAX_NOTES_LENGTH)).ok


def test_longer_validation_notes_are_too_long():
    """Notes beyond the cap are too_long, naming the cap."""
    result = validate_config(small_config(validation_notes="n" * (MAX_NOTES_LENGTH + 1)))
    assert issues(result) == [("validation_notes", Code.TOO_LONG)]
    assert f"at most {MAX_NOTES_LENGTH} characters" in result.errors[0].msg


def test_names_have_their_max_lengths():
    """A config's name and a layer type's name are capped too."""
    document = small_config(name="n" * (MAX_NAME_LENGTH + 1))
    document["layer_types"][0]["name"] = "n" * (MAX_LAYER_NAME_LENGTH + 1)
    assert issues(validate_config(document)) == [("name", Code.TOO_LONG), ("layer_types[0].name", Code.TOO_LONG)]


# ---- control and bidi characters -------------------------------------------------------------------------


@pytest.mark.parametrize("char", [*BIDI, "\u061c", *C0_C1, "\t", "\n", "\r"])
def test_control_and_bidi_characters_in_a_name_are_refused(char):
    """A name must read as it shows: no C0/C1 control, no bidi control; the message gives the code point."""
    result = validate_config(small_config(name=f"Acme{char}Tiny"))
    assert issues(result) == [("name", Code.CONTROL_CHARACTER)]
    assert f"U+{ord(char):04X}" in result.errors[0].msg and "at character 5" in result.errors[0].msg


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\x1b", "\n"])
def test_control_and_bidi_characters_in_a_layer_name_are_refused(char):
    """Layer type names follow the same rule."""
    document = small_config()
    document["layer_types"][1]["name"] = f"feed{char}forward"
    result = validate_config(document)
    assert issues(result) == [("layer_types[1].name", Code.CONTROL_CHARACTER)]
    assert f"U+{ord(char):04X}" in result.errors[0].msg


def test_a_nul_character_keeps_its_own_code():
    """NUL, which PostgreSQL cannot store at all, stays nul_character."""
    assert issues(validate_config(small_config(name="a\x00b"))) == [("name", Code.NUL_CHARACTER)]


def test_notes_keep_tabs_and_line_breaks():
    """Notes are free text over several lines (a browser's textarea sends CRLF)."""
    notes = "Line one:\tchecked.\r\nLine two.\nLine three — naïve, 日本語."
    result = validate_config(small_config(validation_notes=notes))
    assert result.ok and result.config.validation_notes == notes


@pytest.mark.parametrize("char", ["\u202e", "\u2068", "\u200f", "\x1b", "\x0c", "\x0b", "\x85", "\x7f"])
def test_notes_refuse_other_controls_and_bidi(char):
    """Every other control or bidi character in the notes is control_character."""
    result = validate_config(small_config(validation_notes=f"ok{char}"))
    assert issues(result) == [("validation_notes", Code.CONTROL_CHARACTER)]
    assert f"U+{ord(char):04X}" in result.errors[0].msg


# ---- duplicate keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "loc", "key"),
    [
        (b'{"name": "a", "hidden_size": 1, "name": "b"}', "name", "name"),
        (
            b'{"layer_types": [{"name": "x", "specs": {"num_heads": 8, "head_dim": 1, "num_heads" : 4}}]}',
            "layer_types[0].specs.num_heads",
            "num_heads",
        ),
        (b'[{"a": 1}, {"b": 1, "b": 2}]', "$[1].b", "b"),
        (b'{"a": {"c": "x:y"}, "a": 1}', "a", "a"),  # the dropped value's colons do not hide it
        (b'{"a": "\\u003a", "a": 2}', "a", "a"),  # nor an escaped colon
        (b'{"n": 123456789012345678901234567890, "n": 1}', "n", "n"),  # the stdlib path
        (b'{"x": NaN, "y": {"x": 1, "x": 2}}', "y.x", "x"),
        (b'{"a":' * 300 + b'{"b": 1, "b": 2}' + b"}" * 300, ".".join(["a"] * 300) + ".b", "b"),  # deeper than orjson
    ],
)
def test_a_repeated_key_is_duplicate_key_with_its_path(raw, loc, key):
    """A key given twice in one object is an error at its path, not a silent last-one-wins."""
    data, issue = parse_config_bytes(raw)
    assert data is None
    assert (issue.loc, issue.code) == (loc, Code.DUPLICATE_KEY)
    assert f"{key!r} is given 2 times" in issue.msg


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "x\\":y", "b": "\\":", "c\\":": 1}',  # '":' inside strings and keys
        b'{"a:b": "c:d", "e": ":::", "f": {"g": "::"}}',
        b'{"a": "\\u003A", "b": "\\\\u003a"}',
        b'{"a" : 1 ,\n "b"\t:\n2}',
        b'{"a": {"a": {"a": 1}}, "b": [{"a": 1}, {"a": 2}]}',  # the same key in different objects
    ],
)
def test_keys_and_colons_in_strings_are_not_duplicates(raw):
    """Colons and '":' inside strings, escapes and the same key in sibling objects are not mistaken."""
    data, issue = parse_config_bytes(raw)
    assert issue is None and data == json.loads(raw)


_keys = st.text(alphabet='a:"\\/ \u00e9\u202e', min_size=0, max_size=3)
_scalars = st.one_of(st.integers(-5, 5), st.booleans(), st.none(), st.text(alphabet='a:"\\{}[], ', max_size=4))


def _objects(children: Any) -> Any:
    return st.lists(st.tuples(_keys, children), max_size=4).map(lambda pairs: ("object", pairs))


_trees = st.recursive(_scalars, lambda children: st.lists(children, max_size=3) | _objects(children), max_leaves=12)


def _text(tree: Any, space: str) -> tuple[str, bool]:
    """JSON text for a tree whose objects are lists of pairs (so keys may repeat), and whether one does."""
    if isinstance(tree, tuple):
        parts, repeats = [], len({k for k, _ in tree[1]}) != len(tree[1])
        for key, child in tree[1]:
            text, inner = _text(child, space)
            parts.append(f"{json.dumps(key)}{space}:{space}{text}")
            repeats |= inner
        return "{" + f",{space}".join(parts) + "}", repeats
    if isinstance(tree, list):
        texts = [_text(child, space) for child in tree]
        return "[" + ",".join(t for t, _ in texts) + "]", any(r for _, r in texts)
    return json.dumps(tree, ensure_ascii=False), False


@settings(max_examples=300, derandomize=True, deadline=None)
@given(_trees, st.sampled_from(["", " ", "\n  "]))
def test_duplicate_detection_is_exact(tree, space):
    """On any JSON text: duplicate_key exactly when some object repeats a key, else the stdlib's value."""
    text, repeats = _text(tree, space)
    data, issue = parse_config_bytes(text.encode())
    if repeats:
        assert issue is not None and issue.code == Code.DUPLICATE_KEY, text
    else:
        assert issue is None and data == json.loads(text), text


@pytest.mark.django_db
def test_loadconfigs_refuses_a_file_with_a_repeated_key(tmp_path):
    """A file with a duplicate key fails by name with duplicate_key and its path; nothing is written."""
    path = write_config(tmp_path, small_config())
    path.write_text(path.read_text().replace('"num_heads": 4,', '"num_heads": 4, "num_heads": 8,'))
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("loadconfigs", str(tmp_path), "--no-progress", stdout=StringIO(), stderr=err)
    assert "layer_types[0].specs.num_heads: expected each key once" in err.getvalue()
    assert "[duplicate_key]" in err.getvalue()
    assert not ModelConfig.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/models/", "/models/validate"])
def test_api_refuses_a_body_with_a_repeated_key(writer, url):
    """The API reads bodies with the same parser: 400, duplicate_key at its path."""
    body = json.dumps(small_config())
    raw = body.replace('"name": "Acme Tiny 1"', '"name": "Acme Tiny 1", "name": "Other"')
    assert raw != body
    response = writer.post(url, data=raw.encode(), content_type="application/json")
    assert response.status_code == 400, response.content
    assert error_codes(response) == [("name", "duplicate_key")]
    assert not ModelConfig.objects.exists()


@pytest.mark.django_db
def test_api_refuses_a_bidi_override_in_a_name(writer):
    """POST with U+202E in the name: 400 control_character, nothing stored."""
    response = writer.post("/models/", small_config(name="Acme \u202etxt.exe"), format="json")
    assert response.status_code == 400, response.content
    assert error_codes(response) == [("name", "control_character")]
    assert "U+202E" in response.json()["errors"][0]["msg"]


# ---- lists cut long notes --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_items_cut_long_notes_and_the_document_keeps_them(api):
    """GET /models/ gives at most SUMMARY_NOTES_LENGTH characters of notes, ending in the mark; the
    document has them whole; short notes are whole in both."""
    long_notes = "word " * (MAX_NOTES_LENGTH // 5)
    store(small_config(validation_notes=long_notes))
    store(small_config(model_id="acme_tiny-2", hf_model_id="acme/tiny-2", validation_notes="short"))
    items = {item["model_id"]: item for item in api.get("/models/").json()["results"]}
    cut = items["acme_tiny-1"]["validation_notes"]
    assert len(cut) == SUMMARY_NOTES_LENGTH and cut.endswith(CUT_MARK)
    assert long_notes.startswith(cut[: -len(CUT_MARK)])
    assert items["acme_tiny-2"]["validation_notes"] == "short"
    assert api.get("/models/acme_tiny-1").json()["validation_notes"] == long_notes
    expected = ConfigSummarySerializer(
        ModelConfig.objects.order_by("model_id"), many=True, context={"detail_prefix": "http://testserver/models/"}
    ).data
    assert list(items.values()) == json.loads(json.dumps(expected))


@pytest.mark.django_db
def test_a_page_of_configs_with_notes_at_the_cap_stays_small(api):
    """Fifty configs with notes at the cap list in well under 100 kB (uncut, they would be 500 kB)."""
    for i in range(50):
        store(small_config(model_id=f"acme_n-{i}", hf_model_id=f"acme/n-{i}", validation_notes="x" * MAX_NOTES_LENGTH))
    response = api.get("/models/?limit=50")
    assert len(response.json()["results"]) == 50
    assert len(response.content) < 100_000


# ---- schema ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_schema_states_the_caps(api):
    """maxItems on layer_types, maxLength on notes (and the list's cut notes) in the OpenAPI schema."""
    components = api.get("/schema/?format=json").json()["components"]["schemas"]
    for name in ("ConfigDocument", "ConfigDocumentRequest", "PatchedConfigDocumentRequest"):
        properties = components[name]["properties"]
        assert properties["layer_types"]["maxItems"] == MAX_LAYER_TYPES
        assert properties["validation_notes"]["maxLength"] == MAX_NOTES_LENGTH
    summary_notes = components["ConfigSummary"]["properties"]["validation_notes"]
    assert summary_notes["maxLength"] == SUMMARY_NOTES_LENGTH
    assert str(SUMMARY_NOTES_LENGTH) in summary_notes["description"]


# The change form's queries (session, user, config, layer types, revisions, ...), whatever the row count.
QUERIES_AT_THE_CAP = 7


# ---- the admin at the cap --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_change_form_of_a_config_at_the_cap_renders_every_row_in_a_few_queries(
    admin_client, django_assert_max_num_queries
):
    """A config with 512 layer types opens in the admin with all its rows, in a number of queries that does
    not grow with them (its time: bench/admin_bench.py)."""
    config = store(with_layer_types(MAX_LAYER_TYPES))
    url = reverse("admin:registry_modelconfig_change", args=[config.pk])
    # The content type is read once per process and cached: count the same queries run alone or in the suite.
    ContentType.objects.get_for_model(ModelConfig)
    with django_assert_max_num_queries(QUERIES_AT_THE_CAP):
        response = admin_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'name="layer_types-TOTAL_FORMS" value="{MAX_LAYER_TYPES}"' in html
    assert f'name="layer_types-{MAX_LAYER_TYPES - 1}-name"' in html
