"""``python -m pipeline stories --output DIR [STORY_ID | --search TEXT]``: stories, and one story's articles.

Without a story id: the stories (current label, article count, outlets, first and last
publication), most recently published first. ``--search TEXT`` keeps stories whose label or
any headline contains TEXT (case-insensitive). With a story id (or a unique prefix of one):
the story and its articles, oldest first: date, outlet, headline, URL and duplicate marks.
Read through the same DuckDB views as ``python -m pipeline query``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pipeline.analyst.query import connect, format_table
from pipeline.arguments import Command, output_missing, run_command
from pipeline.exit_codes import MISSING_OUTPUT_EXIT, UNKNOWN_STORY_EXIT
from pipeline.options import StoriesOptions

COMMAND = Command("stories", __doc__.splitlines()[0].split(": ", 1)[1], (StoriesOptions,), beam_options=False)
OUTLET = "outlet(a.source, a.url)"
"""An article's outlet (the rule of ``transforms/text/outlets.py``, a macro of the query views)."""


STORY_SQL = (
    "SELECT story_id, story_label, label_source, article_count, first_published, last_published, top_terms "
    "FROM stories WHERE story_id = ? OR starts_with(story_id, ?) ORDER BY story_id = ? DESC"
)
"""The story with this id (first), or those whose id starts with it."""
STORY_ARTICLES_SQL = f"""
    SELECT strftime(a.published_at, '%Y-%m-%d %H:%M') AS date, {OUTLET} AS outlet, a.title, a.url,
           CASE WHEN a.duplicate_of IS NULL THEN '' ELSE a.duplicate_kind || ' copy of ' || a.duplicate_of END
    FROM articles a WHERE a.story_id = ?
    ORDER BY a.published_at NULLS LAST, a.article_id
"""
"""One story's article rows, oldest first."""


def main(argv: Sequence[str]) -> int:
    return run_command(COMMAND, argv, stories_command)


def stories_command(args: argparse.Namespace, _beam: object) -> int:
    if output_missing(args.output):
        return MISSING_OUTPUT_EXIT
    con = connect(args.output)
    if args.story_id:
        return show_story(con, args.story_id)
    columns, rows = list_stories(con, args.search, args.limit)
    print(format_table(columns, rows))
    total = con.sql("SELECT count(*) FROM stories").fetchall()[0][0]
    print(f"({len(rows)} of {total} stories{f' matching {args.search!r}' if args.search else ''})")
    return 0


def list_stories(con, search: str | None = None, limit: int = 50) -> tuple[list[str], list[list[str]]]:
    """Stories with article counts, outlets and dates, most recently published first."""
    where = ""
    params: list = []
    if search:
        where = (
            "WHERE contains(lower(s.story_label), lower(?)) OR s.story_id IN "  # literal text: % and _ are no wildcards
            "(SELECT story_id FROM articles WHERE contains(lower(title), lower(?)))"
        )
        params = [search, search]
    rows = con.execute(
        f"""
        SELECT s.story_id, s.story_label, s.article_count,
               count(DISTINCT {OUTLET}) AS outlets,
               string_agg(DISTINCT {OUTLET}, ', ' ORDER BY {OUTLET}) AS outlet_names,
               strftime(s.first_published, '%Y-%m-%d') AS first, strftime(s.last_published, '%Y-%m-%d') AS last
        FROM stories s LEFT JOIN articles a USING (story_id)
        {where}
        GROUP BY s.story_id, s.story_label, s.article_count, s.first_published, s.last_published
        ORDER BY s.last_published DESC NULLS LAST, s.article_count DESC, s.story_id
        LIMIT {int(limit)}
        """,
        params,
    ).fetchall()
    columns = ["story_id", "label", "articles", "outlets", "outlet names", "first", "last"]
    return columns, [[_text(v, 60 if i in (1, 4) else 0) for i, v in enumerate(row)] for row in rows]


def show_story(con, story_id: str) -> int:
    """One story's header and articles; exit 1 when no story (or more than one) has this id or prefix."""
    found = con.execute(STORY_SQL, [story_id, story_id, story_id]).fetchall()
    if not found or (len(found) > 1 and found[0][0] != story_id):
        what = "no story" if not found else f"{len(found)} stories start with"
        print(f"error: {what} {story_id!r}; `stories --output DIR` lists them", file=sys.stderr)
        return UNKNOWN_STORY_EXIT
    sid, label, label_source, count, first, last, terms = found[0]
    print(f"story {sid}: {label} ({label_source})")
    print(f"  {count} articles, {_day(first)} to {_day(last)}; terms: {', '.join(terms or [])}")
    rows = con.execute(STORY_ARTICLES_SQL, [sid]).fetchall()
    columns = ["date", "outlet", "headline", "url", "duplicate"]
    print(format_table(columns, [[_text(v, 70 if i == 2 else 0) for i, v in enumerate(row)] for row in rows]))
    print(f"({len(rows)} article rows)")
    return 0


def _day(value) -> str:
    return value.strftime("%Y-%m-%d") if value else "?"


def _text(value, width: int = 0) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    return text[: width - 1] + "…" if width and len(text) > width else text
