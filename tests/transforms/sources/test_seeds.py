"""Tests for transforms.sources.seeds: input expansion, each seed format, every reject reason, the PTransform."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import os
import random
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas import Reject
from transforms.run.context import RunContext
from transforms.sources.seeds import (
    InputNotFound,
    ReadSeedFiles,
    SourceDocument,
    decode_text,
    expand_inputs,
    file_mtime,
    read_at_most,
    read_seed_file,
    record_to_document,
    seed_format,
)

RUN = RunContext.start(dt.datetime(2024, 3, 5, 12, 0, tzinfo=dt.UTC))
BODY = "The council approved the new budget on Monday after a long debate.\n"


def write(directory: Path, name: str, data: bytes | str) -> str:
    """Create ``directory/name`` (and parents) with ``data``; return its path as a string."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return str(path)


def jsonl(*records: object) -> bytes:
    """JSON Lines bytes; a str item is written verbatim as a raw line."""
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records).encode("utf-8")


def read(path: str, run: RunContext = RUN) -> list[SourceDocument | Reject]:
    return list(read_seed_file(path, run))


def only(items: list) -> SourceDocument | Reject:
    assert len(items) == 1, items
    return items[0]


def reasons(items: list) -> list[tuple[str, str]]:
    """(source_uri, reason) of the rejects among ``items``."""
    return [(item.source_uri, item.reason) for item in items if isinstance(item, Reject)]


def fn_api_pipeline() -> BeamTestPipeline:
    return BeamTestPipeline(options=PipelineOptions(["--runner=FnApiRunner"]))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A directory with seeds at two levels plus files expand_inputs must skip."""
    root = tmp_path / "corpus"
    for name in ("a.txt", "b.html", "c.htm", "d.jsonl", "e.txt.gz", "sub/f.jsonl.gz", "sub/deeper/g.TXT"):
        write(root, name, BODY)
    for name in ("notes.csv", "README", ".hidden.txt", "_partial.txt", "sub/.cache.html", "sub/_tmp.jsonl"):
        write(root, name, BODY)
    return root


# --- seed_format ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.txt", "text"),
        ("a.TXT", "text"),
        ("a.txt.gz", "text"),
        ("a.html", "html"),
        ("a.htm.gz", "html"),
        ("a.jsonl", "jsonl"),
        ("a.JSONL.GZ", "jsonl"),
        ("a.csv", None),
        ("a.gz", None),
        ("README", None),
        ("dir.txt/README", None),
    ],
)
def test_seed_format_from_suffix(name, expected):
    assert seed_format(f"/data/{name}") == expected


# --- expand_inputs ----------------------------------------------------------------


def test_expand_directory_is_recursive_and_skips_unknown_hidden_and_underscore_files(corpus):
    expected = sorted(
        str(corpus / name)
        for name in ("a.txt", "b.html", "c.htm", "d.jsonl", "e.txt.gz", "sub/f.jsonl.gz", "sub/deeper/g.TXT")
    )
    assert expand_inputs([str(corpus)]) == expected


def test_expand_directory_with_trailing_slash_gives_same_files(corpus):
    assert expand_inputs([str(corpus) + "/"]) == expand_inputs([str(corpus)])


def test_expand_relative_directory_returns_absolute_paths(corpus, monkeypatch):
    monkeypatch.chdir(corpus.parent)
    paths = expand_inputs(["corpus"])
    assert paths[0] == str(corpus / "a.txt")
    assert all(Path(p).is_absolute() for p in paths)


def test_expand_glob_keeps_only_matching_seed_files(corpus):
    assert expand_inputs([str(corpus / "*.txt")]) == [str(corpus / "a.txt")]


def test_expand_glob_skips_unknown_suffixes(corpus):
    assert expand_inputs([str(corpus / "[an]*")]) == [str(corpus / "a.txt")]  # notes.csv matched, then dropped


def test_expand_overlapping_patterns_are_deduplicated_and_sorted(corpus):
    paths = expand_inputs([str(corpus / "sub"), str(corpus / "*.txt"), str(corpus / "a.txt")])
    assert paths == [str(corpus / "a.txt"), str(corpus / "sub/deeper/g.TXT"), str(corpus / "sub/f.jsonl.gz")]


def test_expand_explicit_file_with_unknown_suffix_is_kept(corpus):
    assert expand_inputs([str(corpus / "notes.csv")]) == [str(corpus / "notes.csv")]


def test_explicit_unknown_suffix_is_rejected_when_read(corpus):
    reject = only(read(str(corpus / "notes.csv")))
    assert (reject.reason, reject.stage, reject.source_uri) == ("unsupported_format", "read", str(corpus / "notes.csv"))


def test_expand_missing_path_raises_input_not_found(tmp_path):
    with pytest.raises(InputNotFound, match="nope"):
        expand_inputs([str(tmp_path / "nope")])


def test_expand_glob_without_match_raises_input_not_found(corpus):
    with pytest.raises(InputNotFound, match=r"\*\.xml"):
        expand_inputs([str(corpus / "*.xml")])


def test_expand_directory_skips_hidden_and_underscore_directories(tmp_path):
    write(tmp_path, "a.txt", BODY)
    write(tmp_path, ".git/description.txt", BODY)
    write(tmp_path, "_temporary/0/part.jsonl", jsonl({"text": BODY}))
    assert expand_inputs([str(tmp_path)]) == [str(tmp_path / "a.txt")]


def test_expand_empty_directory_raises_input_not_found(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputNotFound):
        expand_inputs([str(tmp_path / "empty")])


# --- whole-file formats ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "kind", "body"),
    [
        ("a.txt", BODY.encode(), "text", BODY),
        ("a.txt.gz", gzip.compress(BODY.encode()), "text", BODY),
        ("a.html", b"<html><body><p>Hi</p></body></html>", "html", b"<html><body><p>Hi</p></body></html>"),
        ("a.htm", b"<p>Hi</p>", "html", b"<p>Hi</p>"),
        ("a.html.gz", gzip.compress(b"<p>Hi</p>"), "html", b"<p>Hi</p>"),
    ],
)
def test_whole_file_becomes_one_document(tmp_path, name, data, kind, body):
    path = write(tmp_path, name, data)
    assert read(path) == [SourceDocument(path, kind, body, fetched_at=file_mtime(path))]


def test_a_whole_file_is_fetched_at_its_modification_time(tmp_path):
    path = write(tmp_path, "old.txt", BODY)
    os.utime(path, (1_700_000_000, 1_700_000_000))
    assert only(read(path)).fetched_at == "2023-11-14T22:13:20+00:00"


def test_utf8_bom_is_removed(tmp_path):
    path = write(tmp_path, "bom.txt", b"\xef\xbb\xbf" + BODY.encode())
    assert only(read(path)).body == BODY


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "Der Bürgermeister äußerte sich über die Straße. "
            "Die Grüße waren höflich, aber die Lösung bleibt schwierig.\n",
            id="german",
        ),
        pytest.param(
            "Le café était fermé à côté de l'école. Les élèves déçus sont rentrés chez eux après la rentrée.\n",
            id="french",
        ),
    ],
)
def test_latin1_text_is_decoded(tmp_path, text):
    path = write(tmp_path, "latin1.txt", text.encode("latin-1"))
    assert only(read(path)).body == text


def test_decode_text_of_binary_garbage_is_none():
    assert decode_text(random.Random(0).randbytes(4096)) is None


def test_binary_garbage_is_rejected_undecodable(tmp_path):
    path = write(tmp_path, "garbage.txt", random.Random(0).randbytes(4096))
    assert reasons(read(path)) == [(path, "undecodable")]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("zero.txt", b""),
        ("blank.txt", b" \n\t\n"),
        ("zero.html", b""),
        ("zero.txt.gz", gzip.compress(b"")),
        ("blank.html.gz", gzip.compress(b"\n\n")),
        ("zero.jsonl", b""),
        ("zero.jsonl.gz", gzip.compress(b"")),
        pytest.param(
            "blank.jsonl",
            b"\n  \n",
            id="blank.jsonl",
        ),
    ],
)
def test_empty_file_is_rejected(tmp_path, name, data):
    path = write(tmp_path, name, data)
    assert reasons(read(path)) == [(path, "empty_file")]


@pytest.mark.parametrize("name", ["bad.txt.gz", "bad.html.gz", "bad.jsonl.gz"])
def test_invalid_gzip_is_rejected(tmp_path, name):
    path = write(tmp_path, name, b"this is not gzip data")
    assert reasons(read(path)) == [(path, "invalid_compression")]


def test_truncated_gzip_is_rejected(tmp_path):
    path = write(tmp_path, "cut.txt.gz", gzip.compress(BODY.encode() * 50)[:40])
    reject = only(read(path))
    assert (reject.reason, "EOFError" in reject.detail) == ("invalid_compression", True)


def test_missing_file_is_rejected_unreadable(tmp_path):
    path = str(tmp_path / "gone.txt")
    assert reasons(read(path)) == [(path, "unreadable")]


# --- JSON Lines ----------------------------------------------------------------


def test_jsonl_record_fields_are_carried_and_extra_keys_ignored(tmp_path):
    record = {
        "url": "https://example.com/a",
        "title": "  Budget passes ",
        "text": BODY,
        "published": "2024-03-05T10:00:00+02:00",
        "source": "Example News",
        "lang": "en",
        "tags": ["x", 1],
    }
    path = write(tmp_path, "r.jsonl", jsonl(record))
    assert read(path) == [
        SourceDocument(
            f"{path}#line=1",
            "text",
            BODY,
            url="https://example.com/a",
            title="Budget passes",
            published="2024-03-05T10:00:00+02:00",
            source="Example News",
        )
    ]


def test_jsonl_html_record_becomes_html_document(tmp_path):
    path = write(tmp_path, "r.jsonl", jsonl({"html": "<p>Hi</p>", "title": ""}))
    assert read(path) == [SourceDocument(f"{path}#line=1", "html", "<p>Hi</p>")]


def test_jsonl_text_wins_over_html(tmp_path):
    path = write(tmp_path, "r.jsonl", jsonl({"html": "<p>Hi</p>", "text": BODY}))
    assert only(read(path)).kind == "text"


def test_jsonl_gz_records_are_read(tmp_path):
    path = write(tmp_path, "r.jsonl.gz", gzip.compress(jsonl({"text": "one"}, {"text": "two"})))
    assert [(d.source_uri, d.body) for d in read(path)] == [(f"{path}#line=1", "one"), (f"{path}#line=2", "two")]


def test_jsonl_blank_line_is_skipped_but_counted_in_line_numbers(tmp_path):
    path = write(tmp_path, "r.jsonl", jsonl({"text": "one"}, "", "   ", {"text": "four"}))
    assert [d.source_uri for d in read(path)] == [f"{path}#line=1", f"{path}#line=4"]


def test_jsonl_invalid_json_is_rejected_with_line_number(tmp_path):
    path = write(tmp_path, "r.jsonl", jsonl({"text": "one"}, "{not json", {"text": "three"}))
    items = read(path)
    assert reasons(items) == [(f"{path}#line=2", "invalid_json")]
    assert [d.body for d in items if isinstance(d, SourceDocument)] == ["one", "three"]


def test_jsonl_non_utf8_line_is_invalid_json(tmp_path):
    path = write(tmp_path, "r.jsonl", '{"text": "café"}\n'.encode("latin-1"))
    assert reasons(read(path)) == [(f"{path}#line=1", "invalid_json")]


@pytest.mark.parametrize(("line", "detail"), [("[1, 2]", "got list"), ('"text"', "got str"), ("null", "got NoneType")])
def test_jsonl_non_object_is_invalid_record(tmp_path, line, detail):
    path = write(tmp_path, "r.jsonl", jsonl(line))
    reject = only(read(path))
    assert (reject.reason, detail in reject.detail) == ("invalid_record", True)


@pytest.mark.parametrize("field", ["url", "title", "text", "html", "published", "source"])
def test_jsonl_non_string_field_is_invalid_record(tmp_path, field):
    path = write(tmp_path, "r.jsonl", jsonl({"text": BODY, field: 20240305}))
    reject = only(read(path))
    assert (reject.reason, reject.detail) == ("invalid_record", f"not a string: {field}")


@pytest.mark.parametrize("record", [{"title": "No body"}, {"text": "", "html": "  "}, {"text": None}])
def test_jsonl_without_text_or_html_is_missing_text(tmp_path, record):
    path = write(tmp_path, "r.jsonl", jsonl(record))
    assert reasons(read(path)) == [(f"{path}#line=1", "missing_text")]


def test_record_to_document_directly():
    document = record_to_document("mem#line=7", b'{"text": " body ", "url": "  "}', RUN)
    assert document == SourceDocument("mem#line=7", "text", " body ", url=None)


# --- reject ids -----------------------------------------------------------------


def test_reject_id_is_stable_across_runs(tmp_path):
    path = write(tmp_path, "r.jsonl", jsonl("{broken"))
    other_run = RunContext.start(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    first, second = only(read(path)), only(read(path, other_run))
    assert first.run_id != second.run_id
    assert first.reject_id == second.reject_id
    assert len(first.reject_id) == 32


def test_reject_id_changes_with_the_bytes(tmp_path):
    zero = only(read(write(tmp_path, "empty.txt", b"")))
    blank = only(read(write(tmp_path, "empty.txt", b"   \n")))
    assert (zero.reason, blank.reason) == ("empty_file", "empty_file")
    assert zero.reject_id != blank.reject_id


def test_reject_id_changes_with_the_record(tmp_path):
    first = only(read(write(tmp_path, "r.jsonl", jsonl("{broken"))))
    second = only(read(write(tmp_path, "r.jsonl", jsonl("{broken!"))))
    assert first.source_uri == second.source_uri
    assert first.reject_id != second.reject_id


def test_invalid_compression_reject_id_changes_with_the_bytes(tmp_path):
    first = only(read(write(tmp_path, "bad.txt.gz", b"not gzip, version one")))
    second = only(read(write(tmp_path, "bad.txt.gz", b"not gzip, version two")))
    assert first.reject_id != second.reject_id


# --- ReadSeedFiles ----------------------------------------------------------------


def test_read_seed_files_routes_documents_and_rejects(tmp_path):
    text = write(tmp_path, "a.txt", BODY)
    records = write(tmp_path, "b.jsonl", jsonl({"text": "one", "url": "https://example.com/1"}, "{oops"))
    empty = write(tmp_path, "c.html", b"")
    with fn_api_pipeline() as pipeline:
        outputs = pipeline | ReadSeedFiles([text, records, empty], RUN)
        assert_that(
            outputs.documents,
            equal_to(
                [
                    SourceDocument(text, "text", BODY, fetched_at=file_mtime(text)),
                    SourceDocument(f"{records}#line=1", "text", "one", url="https://example.com/1"),
                ]
            ),
            label="documents",
        )
        assert_that(
            outputs.rejects | beam.Map(lambda r: (r.source_uri, r.stage, r.reason, r.run_id)),
            equal_to(
                [
                    (f"{records}#line=2", "read", "invalid_json", RUN.run_id),
                    (empty, "read", "empty_file", RUN.run_id),
                ]
            ),
            label="rejects",
        )


@pytest.mark.parametrize(
    ("authors", "expected"),
    [
        ("Jane Doe", ("Jane Doe",)),
        ("Jane Doe; John  Roe", ("Jane Doe", "John Roe")),
        (["李明", "Jane Doe", "Jane Doe", " "], ("李明", "Jane Doe")),
        ([], ()),
        (None, ()),
    ],
)
def test_jsonl_authors_as_a_string_or_a_list_are_read(tmp_path, authors, expected):
    path = write(tmp_path, "r.jsonl", jsonl({"text": BODY, "authors": authors}))
    assert only(read(path)).authors == expected


@pytest.mark.parametrize("authors", [7, ["Jane Doe", 3], {"name": "Jane Doe"}])
def test_jsonl_authors_of_another_type_are_an_invalid_record(tmp_path, authors):
    path = write(tmp_path, "r.jsonl", jsonl({"text": BODY, "authors": authors}))
    reject = only(read(path))
    assert (reject.reason, reject.detail) == ("invalid_record", "not a string or a list of strings: authors")


def test_read_at_most_stops_at_the_limit_and_at_the_end():
    assert read_at_most(io.BytesIO(b"x" * 10), 4, chunk=3) == b"xxxx"
    assert read_at_most(io.BytesIO(b"x" * 10), 40, chunk=3) == b"x" * 10
    assert read_at_most(io.BytesIO(b""), 40) == b""


# --- JSON Lines written by other tools: news-please, Fundus, a plain 'date' ------------------


@pytest.mark.parametrize("key", ["date_publish", "publishing_date", "date"])
def test_jsonl_date_keys_of_other_tools_are_read(tmp_path, key):
    path = write(tmp_path, "r.jsonl", jsonl({"text": BODY, key: "2024-03-05 09:30:00"}))
    assert only(read(path)).published == "2024-03-05 09:30:00"


def test_jsonl_published_wins_over_the_other_date_keys(tmp_path):
    record = {"text": BODY, "date": "2020-01-01", "date_publish": "2021-01-01", "published": "2024-03-05"}
    path = write(tmp_path, "r.jsonl", jsonl(record))
    assert only(read(path)).published == "2024-03-05"


@pytest.mark.parametrize("code", ["zh", "ar", "hi", "ru", "th"])
def test_a_news_please_record_becomes_a_dated_document_with_its_lead_and_image(tmp_path, code, caplog):
    from tests.world_pages import WORLD, news_please_record

    record = news_please_record(code)
    path = write(tmp_path, "np.jsonl", jsonl(record))
    with caplog.at_level("WARNING", logger="transforms.sources.seeds"):
        document = only(read(path))
    assert (document.kind, document.body) == ("text", "\n\n".join(WORLD[code][1]))
    assert document.published == "2024-03-05 09:30:00"
    assert (document.description, document.image_url) == (record["description"], record["image_url"])
    assert document.authors == ("Ana Example",)
    assert not caplog.records  # date_download and date_modify are known not to be the publication time


def test_a_fundus_record_gives_its_topics_as_keywords(tmp_path):
    from tests.world_pages import fundus_record

    path = write(tmp_path, "fundus.jsonl", jsonl(fundus_record("hi")))
    document = only(read(path))
    assert document.published == "2024-03-05T11:15:00+01:00"
    assert document.keywords == ("hi topic", "World")
    assert document.authors == ("Bo Example", "Cy Example")


def test_jsonl_section_and_keywords_are_read(tmp_path):
    path = write(tmp_path, "r.jsonl", jsonl({"text": BODY, "section": " Politik ", "keywords": "Wahl; Berlin"}))
    document = only(read(path))
    assert (document.section, document.keywords) == ("Politik", ("Wahl", "Berlin"))


@pytest.mark.parametrize("field", ["keywords", "topics"])
def test_jsonl_keywords_that_are_not_strings_are_an_invalid_record(tmp_path, field):
    path = write(tmp_path, "r.jsonl", jsonl({"text": BODY, field: ["ok", 3]}))
    reject = only(read(path))
    assert (reject.reason, reject.detail) == ("invalid_record", f"not a string or a list of strings: {field}")


@pytest.mark.parametrize("field", ["date_publish", "publishing_date", "date", "description", "image_url", "section"])
def test_jsonl_new_string_fields_that_are_not_strings_are_an_invalid_record(tmp_path, field):
    path = write(tmp_path, "r.jsonl", jsonl({"text": BODY, field: 20240305}))
    reject = only(read(path))
    assert (reject.reason, reject.detail) == ("invalid_record", f"not a string: {field}")


def test_an_unknown_date_key_is_warned_about_once_per_file(tmp_path, caplog):
    records = [{"text": BODY, "pubDate": "Tue, 05 Mar 2024 10:00:00 GMT"} for _ in range(3)]
    records.append({"text": BODY, "datePublished": "2024-03-05"})
    records.append({"text": BODY, "created_at": None})  # an empty value says nothing
    first = write(tmp_path, "a.jsonl", jsonl(*records))
    second = write(tmp_path, "b.jsonl", jsonl({"text": BODY, "pubDate": "2024-03-05"}))
    with caplog.at_level("WARNING", logger="transforms.sources.seeds"):
        documents = read(first) + read(second)
    assert [d.published for d in documents] == [None] * 6  # undated, and said so
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith(f"{first}: date-like key not read as the publication time: ")
    assert "'datePublished' (1 record), 'pubDate' (3 records)" in messages[0]
    assert f"first in {first}#line=1" in messages[0]
    assert "published, date_publish, publishing_date, date" in messages[0]
    assert messages[1].startswith(f"{second}: ")


def test_a_file_whose_date_keys_are_read_gives_no_warning(tmp_path, caplog):
    path = write(tmp_path, "r.jsonl", jsonl({"text": BODY, "date": "2024-03-05", "date_download": "2024-03-06"}))
    with caplog.at_level("WARNING", logger="transforms.sources.seeds"):
        read(path)
    assert not caplog.records


def test_the_unknown_date_key_warning_comes_even_when_the_file_breaks_off(tmp_path, caplog):
    data = gzip.compress(jsonl({"text": BODY, "pubDate": "2024-03-05"}, {"text": BODY}))
    path = write(tmp_path, "r.jsonl.gz", data[: len(data) - 12])  # the gzip trailer cut off
    with caplog.at_level("WARNING", logger="transforms.sources.seeds"):
        items = read(path)
    assert any(isinstance(item, Reject) and item.reason == "invalid_compression" for item in items)
    assert any("'pubDate'" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("key", ["maintext", "plaintext"])
def test_jsonl_text_keys_of_other_tools_are_read(tmp_path, key):
    path = write(tmp_path, "r.jsonl", jsonl({key: BODY}))
    assert only(read(path)).body == BODY
