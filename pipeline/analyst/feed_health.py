"""``python -m pipeline feeds --output DIR [--state DIR] [--reset URL]``: how each feed is doing; reset one.

One line per feed the state store remembers (``STATE/feeds.json``): the configured URL, the
current URL when a permanent redirect moved it, the last HTTP status (or error), the last
poll, since when it has been failing, and when it will next be polled (``gone`` for a 410).
When the output has a ``feed_polls`` table, "failing since" is the first failed poll after the
last good one; otherwise the number of consecutive failures is shown.

``--reset URL`` forgets the feed's gone mark and backoff (validators are kept), so the next
run polls it; the URL may be the configured or the current one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import os
import sys
from collections.abc import Sequence

from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.arguments import STATE_ERRORS, Command, exit_code_of, output_missing, run_command
from pipeline.exit_codes import MISSING_OUTPUT_EXIT, UNKNOWN_FEED_EXIT
from pipeline.options import FeedsOptions, state_dir_of
from transforms.output.lease import hold_leases
from transforms.sources.feeds.state import FeedState, FeedStateStore, reset

COMMAND = Command("feeds", __doc__.splitlines()[0].split(": ", 1)[1], (FeedsOptions,))


def main(argv: Sequence[str]) -> int:
    return run_command(COMMAND, argv, feeds_command)


def feeds_command(args: argparse.Namespace, filesystem_options: PipelineOptions) -> int:
    if output_missing(args.output, filesystem_options):
        return MISSING_OUTPUT_EXIT
    return exit_code_of(lambda: _feeds(args, filesystem_options), STATE_ERRORS)


def _feeds(args: argparse.Namespace, filesystem_options: PipelineOptions) -> int:
    state_dir = state_dir_of(args.output, args.state)
    store = FeedStateStore(state_dir)
    if args.reset:  # a write: not while a run or watch holds the output and state store
        with hold_leases([args.output, state_dir], filesystem_options, command="python -m pipeline feeds --reset"):
            return reset_feed(store, store.load(), args.reset)
    states = store.load()
    if not states:
        print(f"no feeds polled yet ({store.path} does not exist)")
        return 0
    failing = failing_since(args.output.rstrip("/"))
    print(format_feeds(sorted(states.values(), key=lambda s: s.feed_url), failing, dt.datetime.now(dt.UTC)))
    return 0


def reset_feed(store: FeedStateStore, states: dict[str, FeedState], url: str) -> int:
    """Resets the feed configured (or now found) at ``url``; exit 1 naming the closest feeds when unknown."""
    matches = [s for s in states.values() if url in (s.feed_url, s.current_url)]
    if not matches:
        close = difflib.get_close_matches(url, list(states), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        print(f"error: no feed {url} in {store.path}{hint}", file=sys.stderr)
        return UNKNOWN_FEED_EXIT
    for state in matches:
        states[state.feed_url] = reset(state)
    store.save(states.values())
    for state in matches:
        print(f"reset {state.feed_url}: the next run polls it")
    return 0


def feed_line(state: FeedState, failing: dt.datetime | None, now: dt.datetime) -> list[str]:
    """The columns of one feed: URL, current URL, last status, last poll, failing since, next attempt."""
    status = str(state.last_status) if state.last_status is not None else "-"
    if state.last_error:
        status += f" {state.last_error}"
    if state.gone:
        next_attempt = "never (gone; feeds --reset URL)"
    elif state.next_attempt_at is None or state.next_attempt_at <= now:
        next_attempt = "next run"
    else:
        next_attempt = _time(state.next_attempt_at)
    if state.failures:
        since = f"{_time(failing)} ({state.failures} failures)" if failing else f"{state.failures} failures"
    else:
        since = "-"
    moved = state.current_url if state.current_url != state.feed_url else "-"
    return [state.feed_url, moved, status, _time(state.last_polled_at), since, next_attempt]


def format_feeds(states: Sequence[FeedState], failing: dict[str, dt.datetime], now: dt.datetime) -> str:
    from pipeline.analyst.query import format_table

    columns = ["feed", "current URL", "last status", "last poll", "failing since", "next attempt"]
    rows = [feed_line(s, failing.get(s.feed_url), now) for s in states]
    return format_table(columns, rows) + f"\n({len(rows)} feeds)"


FAILING_SINCE_SQL = (
    "WITH polls AS (SELECT feed_url, polled_at, error IS NULL AND coalesce(http_status, 0) < 400 AS ok "
    "FROM feed_polls), last_ok AS (SELECT feed_url, max(polled_at) AS at FROM polls WHERE ok GROUP BY 1) "
    "SELECT p.feed_url, min(p.polled_at) FROM polls p LEFT JOIN last_ok l USING (feed_url) "
    "WHERE NOT p.ok AND (l.at IS NULL OR p.polled_at > l.at) GROUP BY 1"
)
"""{feed URL: first failed poll after its last good one}; a poll failed when it has an error or a 4xx/5xx status."""


def failing_since(output: str) -> dict[str, dt.datetime]:
    """{feed URL: first failed poll after its last good one}, from the feed_polls table when the output has it."""
    if not os.path.isdir(os.path.join(output, "feed_polls")):
        return {}
    from pipeline.analyst.query import connect

    try:
        rows = connect(output).sql(FAILING_SINCE_SQL).fetchall()
    except Exception as err:  # a feed_polls table of another layout: show the feeds without it
        print(f"warning: cannot read feed_polls ({err}); failing since not shown", file=sys.stderr)
        return {}
    return {url: at for url, at in rows if at is not None}


def _time(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"
