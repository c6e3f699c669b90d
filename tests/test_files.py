"""Reading config files: every way a file cannot be read becomes an issue, never an exception."""

from __future__ import annotations

import json

import pytest

from registry.core.files import Code, config_paths, parse_config_bytes, read_config_file


def test_parses_a_json_object():
    """A well-formed file gives its value and no issue."""
    assert parse_config_bytes(b'{"a": [1, 2]}') == ({"a": [1, 2]}, None)


def test_accepts_a_utf8_byte_order_mark():
    """Editors that write a BOM do not break a file."""
    assert parse_config_bytes('\ufeff{"name": "é"}'.encode()) == ({"name": "é"}, None)


@pytest.mark.parametrize(
    "text",
    [
        '{"n": 123456789012345678901234567890}',  # beyond 64 bits: must stay an exact int
        '{"n": 18446744073709551616, "m": -9223372036854775809}',
        '{"n": 9223372036854775807, "x": 1e400, "y": NaN}',  # non-standard values the stdlib takes
        '{"s": "\\ud83d\\ude00", "t": "\\u00e9", "a": 1, "b:": "\\u003a"}',  # escapes, a surrogate pair, colons
        '{"f": 1.0, "z": -0, "e": 2.5e-3, "deep": [[[[[[1]]]]]]}',
    ],
)
def test_values_are_exactly_what_the_stdlib_parser_reads(text):
    """The fast parser never changes a value: big integers stay ints, so validation can call them too large."""
    data, issue = parse_config_bytes(text.encode())
    expected = json.loads(text)
    assert issue is None
    assert json.dumps(data, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert {k: type(v) for k, v in data.items()} == {k: type(v) for k, v in expected.items()}


@pytest.mark.parametrize(
    ("raw", "line", "column"),
    [
        (b'{\n  "a": 1,\n  "b": 2,\n}', 4, 1),
        (b'{"a": 1 "b": 2}', 1, 9),
        (b'{\n  "a": tru\n}', 2, 8),
        (b'{\n  "a": 1\n', 3, 1),
    ],
)
def test_invalid_json_reports_line_and_column(raw, line, column):
    """A syntax error is invalid_json with the line and column where it is."""
    data, issue = parse_config_bytes(raw)
    assert data is None
    assert (issue.loc, issue.code) == ("$", Code.INVALID_JSON)
    assert f"line {line}, column {column}" in issue.msg


@pytest.mark.parametrize("raw", [b"", b"   \n\t\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_empty_file(raw):
    """A file with nothing (or only whitespace) in it is empty_file, not a JSON error."""
    data, issue = parse_config_bytes(raw)
    assert data is None
    assert (issue.loc, issue.code) == ("$", Code.EMPTY_FILE)


@pytest.mark.parametrize(("raw", "position"), [(b'{"name": "caf\xe9"}', 13), (b"\xff\xfe{}", 0)])
def test_a_file_that_is_not_utf8_is_not_utf8(raw, position):
    """Latin-1 or UTF-16 bytes are not_utf8, naming the first bad byte."""
    data, issue = parse_config_bytes(raw)
    assert data is None
    assert (issue.loc, issue.code) == ("$", Code.NOT_UTF8)
    assert f"byte {position}" in issue.msg


def test_a_top_level_list_parses_for_validation_to_reject():
    """Reading does not judge the shape: a list is read, and validation reports not_an_object."""
    assert parse_config_bytes(b"[1, 2]") == ([1, 2], None)


def test_deeply_nested_json_is_an_issue():
    """Nesting too deep for the parser is invalid_json, not a crash."""
    data, issue = parse_config_bytes(b"[" * 100_000 + b"]" * 100_000)
    assert data is None
    assert issue.code == Code.INVALID_JSON


@pytest.mark.parametrize("tail", [b"1", b"NaN"], ids=["orjson", "stdlib"])
def test_nesting_deeper_than_the_parsers_take_is_an_issue(tail):
    """Either parser's recursion limit is invalid_json, never a crash (NaN sends it to the stdlib)."""
    data, issue = parse_config_bytes(b'{"a":' * 5000 + tail + b"}" * 5000)
    assert data is None
    assert (issue.code, issue.msg) == (Code.INVALID_JSON, "invalid JSON: nested too deeply")
    assert parse_config_bytes(b'{"a":' * 900 + tail + b"}" * 900)[1] is None


def test_a_lone_surrogate_escape_is_invalid_json():
    """ "\\ud800" decodes to no character: it could not be stored or sent as UTF-8, so it is refused here."""
    data, issue = parse_config_bytes(b'{"name": "a\\ud800b"}')
    assert data is None and issue.code == Code.INVALID_JSON
    assert "surrogate" in issue.msg
    # A whole pair is a character like any other.
    assert parse_config_bytes(b'{"name": "\\ud83d\\ude00"}') == ({"name": "\U0001f600"}, None)


def test_a_number_too_long_for_python_is_invalid_json():
    """Python reads integers of at most 4300 digits; a longer one is invalid_json with the limit named."""
    data, issue = parse_config_bytes(b'{"hidden_size": ' + b"9" * 5000 + b"}")
    assert data is None
    assert (issue.code, issue.msg) == (Code.INVALID_JSON, "invalid JSON: a number of more than 4300 digits")


def test_read_config_file_reads_a_file(tmp_path):
    """A file on disk reads like its bytes."""
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"x": 1}))
    assert read_config_file(path) == ({"x": 1}, None)


def test_read_config_file_reports_a_missing_file(tmp_path):
    """A missing file is not_found with its path."""
    data, issue = read_config_file(tmp_path / "gone.json")
    assert data is None
    assert issue.code == Code.NOT_FOUND
    assert "gone.json" in issue.msg


def test_read_config_file_reports_an_unreadable_path(tmp_path):
    """A path that cannot be read (here a folder) is unreadable."""
    folder = tmp_path / "folder.json"
    folder.mkdir()
    data, issue = read_config_file(folder)
    assert data is None
    assert issue.code == Code.UNREADABLE


def test_config_paths_finds_json_files_recursively_and_sorted(tmp_path):
    """Folders give their *.json files, recursively and sorted; other files are skipped; files are kept."""
    (tmp_path / "b.json").write_text("{}")
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.json").write_text("{}")
    (tmp_path / "dir.json").mkdir()
    extra = tmp_path / "elsewhere.txt"
    extra.write_text("{}")
    found = config_paths([tmp_path, extra])
    assert found == [tmp_path / "a.json", tmp_path / "b.json", tmp_path / "sub" / "c.json", extra]
