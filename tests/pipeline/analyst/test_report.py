"""`python -m pipeline report`: one self-contained page whose figures match the Parquet, rendered by Chromium.

The output is the seeds plus a JSON Lines copy of seed 002 from "Example Wire", published later
the same day (a text duplicate of seed 002, in its story), and an empty file (a reject). The figures in the page are parsed back
from the HTML and compared with DuckDB queries over the same files; headless Chromium renders
the page (Debian's `chromium`, installed by the set-up when running as root, else skipped).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from pipeline.analyst.report import LOCAL_FILES, UNDATED, source_host, timeline_days
from tests.conftest import run_cli, run_seeds_with_a_wire_copy

pytestmark = pytest.mark.e2e

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DATED_BUBBLE = (0x1F, 0x6F, 0xB4)  # the fill of a dated bubble in the timeline


class PageParser(HTMLParser):
    """Tables by id (rows of cell texts), SVG circles and texts, and every external reference."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.circles: list[dict] = []
        self.svg_texts: list[str] = []
        self.external: list[str] = []
        self.scripts = 0
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_svg_text = False
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href"):
            if attrs.get(key) and not attrs[key].startswith("#"):
                self.external.append(attrs[key])
        if tag == "link" or (tag == "style" and "@import" in attrs.get("content", "")):
            self.external.append(str(attrs))
        self.scripts += tag == "script"
        self._in_title = self._in_title or tag == "title"
        if tag == "table":
            self._table = attrs.get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "circle":
            self.circles.append(attrs)
        elif tag == "text" and "story-label" in attrs.get("class", ""):
            self._in_svg_text = True
            self.svg_texts.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "text":
            self._in_svg_text = False
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_svg_text and not self._in_title:
            self.svg_texts[-1] += data


def table_dicts(parser: PageParser, table_id: str) -> list[dict]:
    header, *rows = parser.tables[table_id]
    return [dict(zip(header, row)) for row in rows if len(row) == len(header)]


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    out = run_seeds_with_a_wire_copy(tmp_path_factory)
    assert run_cli("report", "--output", str(out)).stdout.strip().endswith("report.html")
    return out


@pytest.fixture(scope="module")
def page(output) -> PageParser:
    parser = PageParser()
    parser.feed((output / "report.html").read_text())
    return parser


def sql(query: str, output: Path) -> list[tuple]:
    return duckdb.sql(query.replace("OUTPUT", str(output))).fetchall()


ARTICLES_SQL = "read_parquet('OUTPUT/articles/*/*.parquet', hive_partitioning=true)"


def test_page_is_self_contained(page, output):
    html = (output / "report.html").read_text()
    assert page.external == [] and page.scripts == 0
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html
    assert "@import" not in html and "url(" not in html


def test_timeline_counts_match_articles_per_story_per_day(page, output):
    expected = {
        (story, str(day) if day else UNDATED): n
        for story, day, n in sql(f"SELECT story_id, published_date, count(*) FROM {ARTICLES_SQL} GROUP BY 1, 2", output)
    }
    shown = {(c["data-story-id"], c["data-day"]): int(c["data-count"]) for c in page.circles}
    assert shown == expected
    assert sorted((day, n) for (_, day), n in shown.items()) == [("2022-07-26", 2), (UNDATED, 4)]
    assert page.svg_texts == ["ISS withdrawal"]


def test_stories_table_matches_the_stories_parquet(page, output):
    expected = sql(
        "SELECT story_label, label_source, article_count, story_id FROM read_parquet('OUTPUT/stories/*.parquet')",
        output,
    )
    shown = [(r["story"], r["label source"], int(r["articles"]), r["story_id"]) for r in table_dicts(page, "stories")]
    assert shown == expected
    assert [(label, n) for label, _, n, _ in shown] == [("ISS withdrawal", 6)]


def test_per_source_quality_matches_the_data(page, output):
    ((articles, duplicates, undated),) = sql(
        f"SELECT count(*), count(duplicate_of), count(*) FILTER (WHERE published_date IS NULL) FROM {ARTICLES_SQL}",
        output,
    )
    ((rejects,),) = sql("SELECT count(*) FROM read_parquet('OUTPUT/rejects/*/*.parquet')", output)
    rows = {r["origin"]: r for r in table_dicts(page, "sources")}
    assert list(rows) == [LOCAL_FILES]  # seeds, the JSON Lines file and the empty file are all local
    local = rows[LOCAL_FILES]
    assert (
        (int(local["articles"]), int(local["duplicates"]), int(local["missing date"]), int(local["rejects"]))
        == (articles, duplicates, undated, rejects)
        == (6, 1, 4, 1)
    )
    assert local["missing-date rate"] == f"{100 * undated / articles:.1f}%" == "66.7%"
    assert local["extraction success"] == f"{100 * articles / (articles + rejects):.1f}%" == "85.7%"
    assert local["rejects by reason"] == "empty_file: 1"
    assert local["source names"] == "Example Wire"


def test_rejects_and_runs_match(page, output):
    expected = sql(
        "SELECT stage, reason, count(*) FROM read_parquet('OUTPUT/rejects/*/*.parquet') GROUP BY ALL", output
    )
    assert [(r["stage"], r["reason"], int(r["rejects"])) for r in table_dicts(page, "rejects")] == expected
    records = [
        json.loads(p.read_text())
        for p in sorted((output / "_runs").glob("*.json"))
        if not p.name.endswith(".summary.json")
    ]
    summaries = {
        r["run_id"]: json.loads((output / "_runs" / f"{r['run_id']}.summary.json").read_text()) for r in records
    }
    assert [
        (r["run_id"], int(r["inputs"]), int(r["articles"]), int(r["files"])) for r in table_dicts(page, "runs")
    ] == [
        (rec["run_id"], summaries[rec["run_id"]]["inputs"], rec["rows"]["articles"], len(rec["files"]))
        for rec in records
    ]


def test_origin_and_timeline_days():
    assert source_host("https://feeds.example.org/rss") == "feeds.example.org"
    assert source_host("/data/seeds/a.txt") == source_host("file.jsonl#line=3") == LOCAL_FILES
    from collections import Counter

    days = timeline_days({"s": Counter({"2024-01-30": 1, "2024-02-02": 2, UNDATED: 1})})
    assert days == ["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02", UNDATED]


def test_missing_output_is_an_error(tmp_path):
    result = run_cli("report", "--output", str(tmp_path / "nothing"), check=False)
    assert result.returncode == 2 and "does not exist" in result.stderr


# --- headless Chromium ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if not found and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "chromium"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            capture_output=True,
            timeout=900,
        )
        found = shutil.which("chromium")
    if not found:
        pytest.skip(
            "headless Chromium is missing: install Debian's package with `apt-get install -y chromium` (needs root)"
        )
    return found


def run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    profile.mkdir()
    return subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120
    )


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB(A) rows of an 8-bit, non-interlaced PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 3 if colour == 2 else 4
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, up_left = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa_, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                line[i] = (line[i] + (left if pa_ <= pb and pa_ <= pc else up if pb <= pc else up_left)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, channels, rows


def test_chromium_renders_the_timeline(chromium, output, tmp_path):
    url = (output / "report.html").as_uri()
    dom = run_chromium(chromium, tmp_path / "p1", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert '<svg id="timeline"' in dom.stdout and dom.stdout.count('<circle class="cell"') == 2
    assert ">ISS withdrawal</text>" in dom.stdout

    screenshot = tmp_path / "report.png"
    shot = run_chromium(chromium, tmp_path / "p2", f"--screenshot={screenshot}", "--window-size=1280,900", url)
    assert screenshot.exists(), shot.stderr[-2000:]
    width, channels, rows = read_png(screenshot)
    pixels = [tuple(row[i : i + 3]) for row in rows for i in range(0, width * channels, channels)]
    assert len(set(pixels)) > 50  # not a blank page
    bubble = sum(1 for p in pixels if all(abs(a - b) <= 40 for a, b in zip(p, DATED_BUBBLE)))
    assert bubble > 30, "the dated bubble of the timeline is not in the screenshot"
