"""``python -m pipeline report --output DIR``: one self-contained HTML page about what is in DIR.

``DIR/report.html`` holds a story timeline (articles per story per day, inline SVG), the
stories table, per-source quality (extraction success, missing dates, rejects by reason), the
rejects by reason and the last runs' records. No scripts, fonts or style sheets are loaded
from anywhere: the page opens offline and can be mailed. Figures are computed with pyarrow from
the committed Parquet files (only the columns needed; article text is never read) and the run
records in ``DIR/_runs/``; all paths go through Beam's FileSystems.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.summary import SUMMARY_SUFFIX
from schemas import ARTICLES, REJECTS, STORIES, TableSpec
from schemas.tables import HIVE_NULL_PARTITION
from transforms.output.files import read_json, write_bytes_atomically
from transforms.output.tables import RUNS_DIR, committed_files

REPORT_FILE = "report.html"
UNDATED = "undated"
LOCAL_FILES = "local files"
TIMELINE_STORIES = 15
RECENT_RUNS = 10
MAX_TIMELINE_DAYS = 90
ARTICLE_COLUMNS = ["article_id", "source", "source_uri", "duplicate_of", "story_id", "story_label"]
STORY_COLUMNS = [
    "story_id",
    "story_label",
    "label_source",
    "first_published",
    "last_published",
    "article_count",
    "top_terms",
]
REJECT_COLUMNS = ["source_uri", "stage", "reason"]


@dataclass
class SourceQuality:
    """Quality figures of one origin: a feed or site host, or the local seed files."""

    origin: str
    names: Counter = field(default_factory=Counter)
    articles: int = 0
    duplicates: int = 0
    undated: int = 0
    rejects: Counter = field(default_factory=Counter)

    @property
    def extraction_success(self) -> float:
        """Share of the origin's items that became articles (articles ÷ (articles + rejects))."""
        total = self.articles + sum(self.rejects.values())
        return self.articles / total if total else 0.0

    @property
    def missing_date_rate(self) -> float:
        return self.undated / self.articles if self.articles else 0.0


@dataclass
class ReportData:
    output: str
    articles: int
    duplicates: int
    undated: int
    per_story_day: dict[str, Counter]  # story_id → {day or UNDATED: articles}
    story_labels: dict[str, str]
    stories: list[dict]
    sources: list[SourceQuality]
    rejects_by_reason: list[tuple[str, str, int]]  # (stage, reason, count)
    runs: list[dict]


def source_host(source_uri: str) -> str:
    """The host of a feed or page URI; every local file counts as one origin."""
    parts = urlsplit(source_uri)
    return parts.hostname if parts.scheme in ("http", "https") and parts.hostname else LOCAL_FILES


def read_table(output: str, spec: TableSpec, columns: list[str]) -> pa.Table | None:
    """The given columns of a table's committed files (plus the partition column as a string), or None."""
    parts = []
    for path in committed_files(output, spec):
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            table = pq.read_table(handle, columns=columns)
        if spec.partition is not None:
            value = path.rsplit("/", 2)[1].split("=", 1)[1]
            table = table.append_column(
                spec.partition.name,
                pa.array([None if value == HIVE_NULL_PARTITION else value] * table.num_rows, pa.string()),
            )
        parts.append(table)
    return pa.concat_tables(parts) if parts else None


def read_runs(output: str, limit: int = RECENT_RUNS) -> list[dict]:
    """The latest run records, newest first, each with its run summary under ``summary`` when there is one."""
    paths = {m.path for m in FileSystems.match([FileSystems.join(output, RUNS_DIR, "*.json")])[0].metadata_list}
    records = sorted((p for p in paths if not p.endswith(SUMMARY_SUFFIX)), reverse=True)[:limit]
    runs = []
    for path in records:
        run = read_json(path)
        summary_path = path[: -len(".json")] + SUMMARY_SUFFIX
        run["summary"] = read_json(summary_path) if summary_path in paths else {}
        runs.append(run)
    return runs


def gather(output: str) -> ReportData:
    """Every figure the page shows."""
    output = output.rstrip("/")
    articles = read_table(output, ARTICLES, ARTICLE_COLUMNS)
    stories = read_table(output, STORIES, STORY_COLUMNS)
    rejects = read_table(output, REJECTS, REJECT_COLUMNS)
    sources: dict[str, SourceQuality] = {}
    per_story_day: dict[str, Counter] = defaultdict(Counter)
    labels: dict[str, str] = {}
    totals = Counter()
    for row in articles.to_pylist() if articles is not None else []:
        quality = sources.setdefault(source_host(row["source_uri"]), SourceQuality(source_host(row["source_uri"])))
        quality.articles += 1
        if row["source"]:
            quality.names[row["source"]] += 1
        day = row["published_date"] or UNDATED
        quality.duplicates += row["duplicate_of"] is not None
        quality.undated += day == UNDATED
        totals.update(articles=1, duplicates=row["duplicate_of"] is not None, undated=day == UNDATED)
        if row["story_id"]:
            per_story_day[row["story_id"]][day] += 1
            labels[row["story_id"]] = row["story_label"] or row["story_id"]
    reasons = Counter()
    for row in rejects.to_pylist() if rejects is not None else []:
        origin = source_host(row["source_uri"])
        sources.setdefault(origin, SourceQuality(origin)).rejects[row["reason"]] += 1
        reasons[(row["stage"], row["reason"])] += 1
    story_rows = sorted(
        stories.to_pylist() if stories is not None else [], key=lambda s: (-s["article_count"], s["story_label"])
    )
    for story in story_rows:
        labels.setdefault(story["story_id"], story["story_label"])
    return ReportData(
        output=output,
        articles=totals["articles"],
        duplicates=totals["duplicates"],
        undated=totals["undated"],
        per_story_day=dict(per_story_day),
        story_labels=labels,
        stories=story_rows,
        sources=sorted(sources.values(), key=lambda s: (-s.articles, s.origin)),
        rejects_by_reason=sorted(((s, r, n) for (s, r), n in reasons.items()), key=lambda t: (-t[2], t[0], t[1])),
        runs=read_runs(output),
    )


def timeline_days(per_story_day: dict[str, Counter]) -> list[str]:
    """Every day from the first to the last dated article (only days with articles beyond 90 days), then 'undated'."""
    dated = sorted({d for days in per_story_day.values() for d in days if d != UNDATED})
    days = dated
    if dated:
        first, last = dt.date.fromisoformat(dated[0]), dt.date.fromisoformat(dated[-1])
        if (last - first).days < MAX_TIMELINE_DAYS:
            days = [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    if any(UNDATED in days_ for days_ in per_story_day.values()):
        days = [*days, UNDATED]
    return days


def timeline_svg(data: ReportData, limit: int = TIMELINE_STORIES) -> str:
    """Articles per story per day as a bubble grid: one row per story (largest first), one column per day."""
    stories = sorted(data.per_story_day, key=lambda s: (-sum(data.per_story_day[s].values()), data.story_labels[s]))[
        :limit
    ]
    days = timeline_days(data.per_story_day)
    if not stories:
        return '<p class="empty">No articles with a story yet.</p>'
    label_width, row_height, top, bottom = 260, 34, 10, 90
    cell = max(10, min(80, 760 // max(1, len(days))))
    total_width = 90
    width, height = label_width + cell * len(days) + total_width, top + row_height * len(stories) + bottom
    peak = max(max(data.per_story_day[s].values()) for s in stories)
    parts = [
        f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Articles per story per day">'
    ]
    for i, story in enumerate(stories):
        y = top + row_height * i + row_height / 2
        label = data.story_labels[story]
        short = label if len(label) <= 36 else label[:35] + "…"
        parts.append(
            f'<rect class="band" x="0" y="{y - row_height / 2:.0f}" width="{width}" height="{row_height}" fill="{"#f4f6f8" if i % 2 else "#ffffff"}"/>'
        )
        parts.append(
            f'<text class="story-label" x="{label_width - 8}" y="{y + 4:.0f}" text-anchor="end" font-size="13" fill="#1d2733">'
            f"<title>{html.escape(label)}</title>{html.escape(short)}</text>"
        )
        total = sum(data.per_story_day[story].values())
        parts.append(
            f'<text class="story-total" data-story-id="{html.escape(story)}" x="{label_width + cell * len(days) + 10}" '
            f'y="{y + 4:.0f}" font-size="12" fill="#4a5561">{total} article{"s" if total != 1 else ""}</text>'
        )
        for j, day in enumerate(days):
            count = data.per_story_day[story].get(day, 0)
            if not count:
                continue
            x = label_width + cell * j + cell / 2
            radius = max(3.0, (min(cell, row_height) / 2 - 2) * math.sqrt(count / peak))
            colour = "#8a96a3" if day == UNDATED else "#1f6fb4"
            parts.append(
                f'<circle class="cell" data-story-id="{html.escape(story)}" data-day="{day}" data-count="{count}" '
                f'cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{colour}" fill-opacity="0.85">'
                f"<title>{html.escape(label)} · {day}: {count} article{'s' if count != 1 else ''}</title></circle>"
            )
            if cell >= 22:
                parts.append(
                    f'<text class="count" x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" font-size="11" fill="#ffffff">{count}</text>'
                )
    axis_y = top + row_height * len(stories) + 8
    step = max(1, math.ceil(len(days) / 30))
    for j, day in enumerate(days):
        if j % step and day != UNDATED:
            continue
        x = label_width + cell * j + cell / 2
        parts.append(
            f'<text class="day" x="{x:.1f}" y="{axis_y}" font-size="11" fill="#4a5561" '
            f'transform="rotate(60 {x:.1f} {axis_y})">{day}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _table(
    table_id: str, headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: set[int] = frozenset()
) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="{"num" if i in numeric else "txt"}">{html.escape("" if v is None else str(v))}</td>'
            for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    if not rows:
        body.append(f'<tr><td colspan="{len(headers)}" class="empty">none</td></tr>')
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") if value else ""


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:24px;color:#1d2733;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px} p.meta{color:#5b6672;margin:0 0 16px}
table{border-collapse:collapse;font-size:13px} th,td{padding:4px 10px;border-bottom:1px solid #e3e7eb;text-align:left}
th{background:#eef2f5} td.num{text-align:right;font-variant-numeric:tabular-nums} td.empty{color:#8a96a3}
.kpis{display:flex;gap:16px;flex-wrap:wrap} .kpi{border:1px solid #e3e7eb;border-radius:6px;padding:8px 14px}
.kpi b{display:block;font-size:20px} svg{max-width:100%;height:auto;border:1px solid #e3e7eb}
"""


def render(data: ReportData, generated_at: dt.datetime | None = None) -> str:
    """The whole page as a string."""
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    kpis = [
        ("articles", data.articles),
        ("duplicates", data.duplicates),
        ("undated", data.undated),
        ("stories", len(data.stories)),
        ("rejects", sum(n for _, _, n in data.rejects_by_reason)),
        ("runs shown", len(data.runs)),
    ]
    kpi_html = "".join(
        f'<div class="kpi" id="kpi-{name.replace(" ", "-")}"><b>{value}</b>{name}</div>' for name, value in kpis
    )
    stories = _table(
        "stories",
        ["story", "label source", "articles", "first published", "last published", "top terms", "story_id"],
        [
            (
                s["story_label"],
                s["label_source"],
                s["article_count"],
                _when(s["first_published"]),
                _when(s["last_published"]),
                ", ".join(s["top_terms"][:6]),
                s["story_id"],
            )
            for s in data.stories
        ],
        numeric={2},
    )
    sources = _table(
        "sources",
        [
            "origin",
            "source names",
            "articles",
            "duplicates",
            "missing date",
            "missing-date rate",
            "rejects",
            "extraction success",
            "rejects by reason",
        ],
        [
            (
                q.origin,
                ", ".join(n for n, _ in q.names.most_common(3)),
                q.articles,
                q.duplicates,
                q.undated,
                _percent(q.missing_date_rate),
                sum(q.rejects.values()),
                _percent(q.extraction_success),
                ", ".join(f"{r}: {n}" for r, n in sorted(q.rejects.items())),
            )
            for q in data.sources
        ],
        numeric={2, 3, 4, 5, 6, 7},
    )
    rejects = _table("rejects", ["stage", "reason", "rejects"], data.rejects_by_reason, numeric={2})
    runs = _table(
        "runs",
        ["run_id", "started at", "inputs", "articles", "already ingested", "stories", "rejects", "files"],
        [
            (
                r["run_id"],
                r.get("started_at", ""),
                r["summary"].get("inputs", ""),
                r.get("rows", {}).get("articles", 0),
                r["summary"].get("already_ingested", ""),
                r.get("rows", {}).get("stories", 0),
                r.get("rows", {}).get("rejects", 0),
                len(r.get("files", [])),
            )
            for r in data.runs
        ],
        numeric={2, 3, 4, 5, 6, 7},
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>newsbeam report: {html.escape(data.output)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body>
<h1>newsbeam report</h1>
<p class="meta">Output <code>{html.escape(data.output)}</code> · generated {generated_at:%Y-%m-%d %H:%M} UTC</p>
<div class="kpis">{kpi_html}</div>
<h2>Story timeline: articles per story per day</h2>
<p class="meta">The {TIMELINE_STORIES} largest stories; bubble area ∝ articles that day (duplicates included); grey: no known date.</p>
{timeline_svg(data)}
<h2>Stories</h2>
<p class="meta">Articles over all runs, from the stories table.</p>
{stories}
<h2>Per-source quality</h2>
<p class="meta">Origin: the feed's or page's host; all local seed files count as one. Extraction success = articles ÷ (articles + rejects).</p>
{sources}
<h2>Rejects by reason</h2>
{rejects}
<h2>Last runs</h2>
<p class="meta">From <code>_runs/*.json</code> and the run summaries beside them, newest first: inputs, and rows committed per table.</p>
{runs}
</body></html>
"""


def write_report(output: str) -> str:
    """Writes OUTPUT/report.html (temporary name, then rename); returns its path."""
    path = FileSystems.join(output.rstrip("/"), REPORT_FILE)
    write_bytes_atomically(path, render(gather(output)).encode("utf-8"))
    return path


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline report", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        default="out/",
        help="the pipeline's output folder (local, gs://, s3://); Beam's file system options (--s3_*, GCP) may follow",
    )
    args, filesystem_options = parser.parse_known_args(argv)
    FileSystems.set_options(PipelineOptions(filesystem_options))  # e.g. --s3_endpoint_url, --s3_region_name
    if not FileSystems.exists(args.output.rstrip("/")):
        print(f"error: {args.output} does not exist", file=sys.stderr)
        return 2
    print(write_report(args.output))
    return 0
