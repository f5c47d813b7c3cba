"""The page itself: headline figures, charts, tables and sections as one self-contained HTML string."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from pipeline.analyst.report.charts import TIMELINE_STORIES, dated_span, story_chart, timeline_html
from pipeline.analyst.report.data import FeedHealth, ReportData, StoryView, article_outlet
from pipeline.analyst.report.formatting import esc, link, percent, plural, readable_day, readable_time
from pipeline.run_record import FORGET, RUN

STORY_SECTIONS = 100
"""Stories given a section of their own (the stories table lists them all)."""
ARTICLES_PER_STORY = 50
"""Articles listed in a story's section (its count says how many there are)."""
REJECTS_LISTED = 200
"""Newest rejects listed one by one (the rejects-by-reason table counts them all)."""
DETAIL_CHARS = 240


def story_section(story: StoryView) -> str:
    """A story's own section: figures, a small timeline on the story's own span, its articles."""
    outlets = story.outlets
    span = dated_span([story])
    dates = (
        (f"{readable_day(span[0])} – {readable_day(span[1])}" if span and span[0] != span[1] else readable_day(span[0]))
        if span
        else "no known dates"
    )
    mini = story_chart(story)
    rows = []
    for article in story.articles[:ARTICLES_PER_STORY]:
        mark = (
            f"copy of {article['duplicate_of'][:8]}… ({article['duplicate_kind']})" if article["duplicate_of"] else ""
        )
        rows.append(
            f'<tr data-article-id="{esc(article["article_id"])}"><td class="txt when">{esc(published(article))}</td>'
            f'<td class="txt">{esc(article_outlet(article))}</td>'
            f'<td class="txt">{article_cell(article)}</td>'
            f'<td class="txt dup">{esc(mark)}</td></tr>'
        )
    more = len(story.articles) - ARTICLES_PER_STORY
    more_note = f'<p class="meta">… and {plural(more, "more article")}.</p>' if more > 0 else ""
    terms = ", ".join(story.top_terms[:6])
    return (
        f'<section class="story" id="story-{esc(story.story_id)}" data-story-id="{esc(story.story_id)}" '
        f'data-count="{len(story.articles)}"><h3>{esc(story.label)}</h3>'
        f'<p class="meta">{plural(story.article_count, "article")} · {plural(len(outlets), "outlet")} · '
        f"{esc(dates)}{' · label from ' + esc(story.label_source) if story.label_source else ''}"
        f"{' · ' + esc(terms) if terms else ''}</p>{mini}"
        f'<table class="story-articles"><thead><tr><th>published</th><th>outlet</th><th>headline</th>'
        f"<th>duplicate</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{more_note}</section>"
    )


def published(article: dict) -> str:
    """When it was published, as precisely as its source said: a date for a day-only date, else date and time."""
    if not article["published_at"]:
        return "undated"
    if article.get("published_precision") == "day":
        return readable_day(article["published_at"].astimezone(dt.UTC).date())
    return readable_time(article["published_at"])


def item_name(article: dict) -> str:
    """Where the article is: its URL, else its file's name (with the record's line in a JSON Lines file)."""
    if article["url"]:
        return article["url"]
    return article["source_uri"].rstrip("/").rsplit("/", 1)[-1]


def article_cell(article: dict) -> str:
    """The headline (for a headline-less text its lead sentence, marked so), linked; under it the URL or file name."""
    if article["title"]:
        shown = link(article["url"], article["title"])
    else:
        lead = article.get("lead") or "(no headline, no text)"
        shown = f'<span class="lead" title="no headline: its first sentence">{link(article["url"], lead)}</span>'
    where = item_name(article)
    return f'{shown}<br><span class="where" title="{esc(article["source_uri"])}">{esc(where)}</span>'


def _table(
    table_id: str, headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: Collection[int] = ()
) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(f'<td class="{"num" if i in numeric else "txt"}">{esc(v)}</td>' for i, v in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    if not rows:
        body.append(f'<tr><td colspan="{len(headers)}" class="empty">none</td></tr>')
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def feeds_table(feeds: Sequence[FeedHealth]) -> str:
    headers = [
        "feed",
        "last poll",
        "last status",
        "failing since",
        "failures in a row",
        "next attempt",
        "polls",
        "new entries",
        "new entries per day",
        "articles",
        "rejects",
        "mean latency (s)",
    ]
    rows = []
    for f in feeds:
        moved = (
            f'<br><span class="meta">now {link(f.current_url, f.current_url)}</span>'
            if f.current_url != f.feed_url
            else ""
        )
        status_class = "bad" if f.failing_since or f.gone else "ok"
        cells = [
            f'<td class="txt">{link(f.feed_url, f.feed_url)}{moved}</td>',
            f'<td class="txt">{esc(readable_time(f.last_polled))}</td>',
            f'<td class="txt {status_class}" title="{esc(f.last_error or "")}">'
            f"{esc(f.last_status)}{' (gone)' if f.gone else ''}</td>",
            f'<td class="txt">{esc(readable_time(f.failing_since))}</td>',
            f'<td class="num">{f.consecutive_failures}</td>',
            f'<td class="txt">{esc(readable_time(f.next_attempt) or ("never (gone)" if f.gone else "next run"))}</td>',
            f'<td class="num">{f.polls}</td>',
            f'<td class="num">{f.new_entries}</td>',
            f'<td class="num">{f.items_per_day:.1f}</td>',
            f'<td class="num">{f.articles}</td>',
            f'<td class="num">{f.rejects}</td>',
            f'<td class="num">{"" if f.mean_latency is None else f"{f.mean_latency:.2f}"}</td>',
        ]
        rows.append(f'<tr data-feed="{esc(f.feed_url)}">{"".join(cells)}</tr>')
    if not rows:
        rows.append(f'<tr><td colspan="{len(headers)}" class="empty">no feeds polled</td></tr>')
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return f'<table id="feeds"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def rejects_list(rejects: Sequence[dict], limit: int = REJECTS_LISTED) -> str:
    rows = []
    for r in rejects[:limit]:
        item = r["entry_title"] or r["source_uri"]
        href = r["entry_link"] or r["page_url"] or r["source_uri"]
        detail = r["detail"] if len(r["detail"]) <= DETAIL_CHARS else r["detail"][: DETAIL_CHARS - 1] + "…"
        attempt = "" if r["attempt"] is None else f"{r['attempt']}{' (gave up)' if r['gave_up'] else ''}"
        rows.append(
            f'<tr><td class="txt">{esc(readable_time(r["ingested_at"]))}</td><td class="txt">{esc(r["stage"])}</td>'
            f'<td class="txt reason">{esc(r["reason"])}</td><td class="txt">{link(href, item)}</td>'
            f'<td class="num">{esc(attempt)}</td>'
            f'<td class="txt detail" title="{esc(r["detail"])}">{esc(detail)}</td></tr>'
        )
    if not rows:
        rows.append('<tr><td colspan="6" class="empty">none</td></tr>')
    more = len(rejects) - limit
    note = f'<p class="meta">… and {plural(more, "older reject")} (see the rejects table).</p>' if more > 0 else ""
    return (
        '<table id="reject-list"><thead><tr><th>when</th><th>stage</th><th>reason</th><th>item</th><th>try</th>'
        f"<th>detail</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{note}"
    )


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;margin:24px;color:#1d2733;
  background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px} h3{font-size:15px;margin:0 0 4px}
p.meta,span.meta{color:#5b6672;margin:0 0 10px}
table{border-collapse:collapse;font-size:13px}
th,td{padding:4px 10px;border-bottom:1px solid #e3e7eb;text-align:left;vertical-align:top}
th{background:#eef2f5} td.num{text-align:right;font-variant-numeric:tabular-nums} td.empty{color:#8a96a3}
td.bad{color:#b3261e;font-weight:600;white-space:nowrap} td.ok{color:#1b6e3a;white-space:nowrap}
td.detail{max-width:420px;color:#4a5561}
td.txt{overflow-wrap:anywhere} a{color:#1f5f99}
.kpis{display:flex;gap:16px;flex-wrap:wrap} .kpi{border:1px solid #e3e7eb;border-radius:6px;padding:8px 14px}
.kpi b{display:block;font-size:20px}
.timeline{display:grid;column-gap:12px;align-items:center;
  border:1px solid #e3e7eb;padding:8px;max-width:1200px}
.tl-label{font-size:13px;overflow-wrap:anywhere;padding:3px 0}
.tl-total{font-size:12px;color:#4a5561;white-space:nowrap}
.tl-track svg,.tl-undated svg{display:block}
.tl-undated{border-left:1px dashed #b9c2cb;align-self:stretch;display:flex;align-items:center}
.tl-head{font-size:11px;color:#5b6672;justify-content:center}
section.story{border-top:1px solid #e3e7eb;padding:12px 0}
svg.mini{display:block;margin:4px 0 8px;border:1px solid #eef2f5}
td.when{white-space:nowrap} span.lead{font-style:italic} span.where{color:#5b6672;font-size:12px}
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
        ("feeds", len(data.feeds)),
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
                s.label,
                s.label_source,
                s.article_count,
                readable_day(s.first_published.astimezone(dt.UTC).date()) if s.first_published else "",
                readable_day(s.last_published.astimezone(dt.UTC).date()) if s.last_published else "",
                ", ".join(s.top_terms[:6]),
                s.story_id,
            )
            for s in data.stories
        ],
        numeric={2},
    )
    sections = "".join(story_section(s) for s in data.stories[:STORY_SECTIONS])
    more_stories = len(data.stories) - STORY_SECTIONS
    if more_stories > 0:
        sections += (
            f'<p class="meta">{plural(more_stories, "smaller story")} not shown here; see the stories table.</p>'
        )
    sources = _table(
        "sources",
        [
            "origin",
            "outlets",
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
                ", ".join(n for n, _ in q.outlets.most_common(3)) + (" …" if len(q.outlets) > 3 else ""),
                q.articles,
                q.duplicates,
                q.undated,
                percent(q.missing_date_rate),
                sum(q.rejects.values()),
                percent(q.extraction_success),
                ", ".join(f"{r}: {n}" for r, n in sorted(q.rejects.items())),
            )
            for q in data.sources
        ],
        numeric={2, 3, 4, 5, 6, 7},
    )
    rejects = _table("rejects", ["stage", "reason", "rejects"], data.rejects_by_reason, numeric={2})
    runs = _table(
        "runs",
        ["run_id", "kind", "started at", "inputs", "articles", "already ingested", "stories", "rejects", "files"],
        [
            (
                r.record.run_id,
                r.record.kind if r.record.kind == RUN else f"{r.record.kind} {r.record.target}",
                readable_time(r.record.started_at),
                r.summary.inputs if r.summary else "",
                -r.record.removed.get("articles", 0) if r.record.kind == FORGET else r.record.rows.get("articles", 0),
                r.summary.already_ingested if r.summary else "",
                r.record.rows.get("stories", 0),
                r.record.rows.get("rejects", 0),
                len(r.record.files),
            )
            for r in data.runs
        ],
        numeric={3, 4, 5, 6, 7, 8},
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>newsbeam report: {esc(data.output)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body>
<h1>newsbeam report</h1>
<p class="meta">Output <code>{esc(data.output)}</code> · generated {readable_time(generated_at)}</p>
<div class="kpis">{kpi_html}</div>
<h2>Story timeline: articles per story per day</h2>
<p class="meta">The {TIMELINE_STORIES} largest stories (ties: the most recent first), on a true time scale;
bubble area ∝ articles that day (duplicates included); articles with no known date are counted apart, in the
grey "undated" column beside the time axis. A label leads to the story's section.</p>
{timeline_html(data.stories)}
<h2>Feed health</h2>
<p class="meta">From <code>feed_polls/</code>, one row per poll. Failing since: the first of the failed polls in a
row up to the last one. New entries per day: entries no earlier run had, over the days between the first and the
last poll (at least one).</p>
{feeds_table(data.feeds)}
<h2>Rejects</h2>
<p class="meta">The newest {REJECTS_LISTED} items that did not become articles: what the item was (linked), the
reason, and which try (feed entries are tried again by later runs, then given up).</p>
{rejects_list(data.rejects)}
<h2>Stories</h2>
<p class="meta">Current labels and article counts over all runs, from the stories table.</p>
{stories}
<h2>Story by story</h2>
{sections or '<p class="empty">No stories yet.</p>'}
<h2>Per-source quality</h2>
<p class="meta">Origin: the host of the feed, sitemap or page the items came from; all local seed files count as
one. Outlets: the site name an article's page or record declares, else its URL's host (as in every command).
Extraction success = articles ÷ (articles + rejects).</p>
{sources}
<h2>Rejects by reason</h2>
{rejects}
<h2>Last runs</h2>
<p class="meta">From <code>_runs/*.json</code> and the run summaries beside them, newest first: inputs, and rows
committed per table.</p>
{runs}
</body></html>
"""
