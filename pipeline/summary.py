"""The end-of-run summary: what came in, what was written where, and a query to try.

Every summary reconciles (``reconcile``), per source, from the Beam counters each item passes:

- seed files and records: ``read.documents`` + ``read.rejected_*`` in; each document leaves
  extraction as ``extract.seed_articles`` or ``extract.seed_rejects``;
- feeds: ``feeds.entries`` in; each entry is ``feeds.entries_already_seen``, ``feeds.rejected_no_text``,
  or a document that leaves extraction as ``extract.feed_articles`` or ``extract.feed_rejects``;
- after extraction, sources meet in dedup: ``extract.articles`` = article rows written (originals
  + marked duplicates) + ``dedup.already_ingested``;
- the rejects table: item rejects + failed feeds (``feeds.feed_rejected_*``) = rejects rows written
  + ``dedup.repeated_rejects``.

When any of these doesn't hold, ``AccountingError`` names the source and the figures.
``record_summary`` writes the summary as ``_runs/<run_id>.summary.json`` beside the run record
(also when it doesn't reconcile, so the figures can be inspected) and then raises.
"""

from __future__ import annotations

import json
from collections import defaultdict

from apache_beam.io.filesystems import FileSystems
from apache_beam.runners.runner import PipelineResult

from transforms.output.files import write_json_atomically
from transforms.output.tables import RUNS_DIR
from transforms.sources.feeds.state import POLICY_HINTS, ROBOTS_HINT

ITEM_REJECT_STAGES = ("read", "extract", "feeds", "window")
"""Counter namespaces whose ``rejected_*`` counters are input items (files, records, entries)."""
SEED, FEEDS = "seed", "feeds"
"""Sources in the per-source breakdown: seed files/records, and feed entries."""
SUMMARY_SUFFIX = ".summary.json"


class AccountingError(RuntimeError):
    """A run whose figures don't add up: some item was lost or counted twice."""

    def __init__(self, mismatches: list[str], summary: dict):
        super().__init__(f"run {summary.get('run_id')} does not reconcile: " + "; ".join(mismatches))
        self.mismatches = mismatches
        self.summary = summary


def counters(result: PipelineResult) -> dict[str, int]:
    """Beam counters as {'namespace.name': value}, summed over steps."""
    totals: dict[str, int] = defaultdict(int)
    for counter in result.metrics().query()["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[f"{counter.key.metric.namespace}.{counter.key.metric.name}"] += value or 0
    return dict(sorted(totals.items()))


def _sum(totals: dict[str, int], namespaces: tuple[str, ...], prefix: str) -> int:
    return sum(v for k, v in totals.items() if k.split(".")[0] in namespaces and k.split(".", 1)[1].startswith(prefix))


def source_breakdown(totals: dict[str, int]) -> dict[str, dict[str, int]]:
    """Per source: items in, and where each went up to extraction."""
    get = totals.get
    read_rejects = _sum(totals, ("read",), "rejected_")
    no_text = get("feeds.rejected_no_text", 0)
    return {
        SEED: {
            "inputs": get("read.documents", 0) + read_rejects,
            "documents": get("read.documents", 0),
            "articles_extracted": get("extract.seed_articles", 0),
            "already_seen": 0,
            "rejects": read_rejects + get("extract.seed_rejects", 0),
            "rejects_before_extraction": read_rejects,
            "rejects_at_extraction": get("extract.seed_rejects", 0),
        },
        FEEDS: {
            "inputs": get("feeds.entries", 0),
            "documents": get("feeds.entries", 0) - get("feeds.entries_already_seen", 0) - no_text,
            "articles_extracted": get("extract.feed_articles", 0),
            "already_seen": get("feeds.entries_already_seen", 0),
            "rejects": no_text + get("extract.feed_rejects", 0),
            "rejects_before_extraction": no_text,
            "rejects_at_extraction": get("extract.feed_rejects", 0),
            "feeds_polled": _sum(totals, ("feeds",), "status_"),
            "feeds_failed": _sum(totals, ("feeds",), "feed_rejected_"),
        },
    }


def reconcile(summary: dict) -> list[str]:
    """What doesn't add up, one sentence per mismatch with the figures; [] when everything does."""
    mismatches = []
    totals = summary["counters"]
    for name, source in summary["sources"].items():
        accounted = source["articles_extracted"] + source["already_seen"] + source["rejects"]
        if source["inputs"] != accounted:
            mismatches.append(
                f"source {name}: inputs {source['inputs']} != articles extracted {source['articles_extracted']}"
                f" + already seen {source['already_seen']} + rejects {source['rejects']} (= {accounted})"
            )
    extracted = totals.get("extract.articles", 0)
    by_source = sum(source["articles_extracted"] for source in summary["sources"].values())
    if extracted != by_source:
        mismatches.append(f"extraction: extract.articles {extracted} != sum over sources {by_source}")
    if extracted != summary["articles"] + totals.get("dedup.already_ingested", 0):
        mismatches.append(
            f"dedup: articles extracted {extracted} != article rows written {summary['articles']}"
            f" + already ingested {totals.get('dedup.already_ingested', 0)}"
        )
    listed = summary.get("files_listed")
    if listed is not None and totals.get("read.files", 0) != listed:
        mismatches.append(f"seed files: listed {listed} != files read {totals.get('read.files', 0)}")
    feeds_failed = summary["sources"][FEEDS]["feeds_failed"]
    expected_rows = summary["rejects"] + feeds_failed - totals.get("dedup.repeated_rejects", 0)
    if summary["rejects_written"] != expected_rows:
        mismatches.append(
            f"rejects table: rows written {summary['rejects_written']} != item rejects {summary['rejects']}"
            f" + failed feeds {feeds_failed} - repeated {totals.get('dedup.repeated_rejects', 0)} (= {expected_rows})"
        )
    return mismatches


def summarise(
    record: dict, totals: dict[str, int], output: str, *, strict: bool = True, files_listed: int | None = None
) -> dict:
    """Run figures that reconcile: inputs = originals + duplicates + already ingested + rejects.

    Raises ``AccountingError`` when they don't (unless ``strict`` is False; ``reconciled`` and
    ``mismatches`` in the summary say so either way).
    """
    rows = record.get("rows", {})
    sources = source_breakdown(totals)
    articles = rows.get("articles", 0)
    duplicates = totals.get("dedup.duplicates", 0) + totals.get("stories.near_duplicates", 0)
    summary = {
        "run_id": record["run_id"],
        "inputs": sum(s["inputs"] for s in sources.values()),
        "feed_entries": totals.get("feeds.entries", 0),
        "articles": articles,
        "originals": articles - duplicates,
        "duplicates": duplicates,
        "already_ingested": totals.get("dedup.already_ingested", 0) + totals.get("feeds.entries_already_seen", 0),
        "rejects": _sum(totals, ITEM_REJECT_STAGES, "rejected_"),
        "rejects_written": rows.get("rejects", 0),
        "stories": rows.get("stories", 0),
        "feeds_polled": sources[FEEDS]["feeds_polled"],
        "feeds_not_modified": totals.get("feeds.status_304", 0),
        "feeds_failed": sources[FEEDS]["feeds_failed"],
        "stories_touched": totals.get("stories.stories_touched", 0),
        "files": len(record.get("files", [])),
        "files_listed": files_listed,
        "output": output,
        "sources": sources,
        "counters": totals,
    }
    summary["mismatches"] = reconcile(summary)
    summary["reconciled"] = not summary["mismatches"]
    if strict and summary["mismatches"]:
        raise AccountingError(summary["mismatches"], summary)
    return summary


def record_summary(record: dict, totals: dict[str, int], output: str, files_listed: int | None = None) -> dict:
    """``summarise``, written to ``OUTPUT/_runs/<run_id>.summary.json``; raises AccountingError after writing."""
    summary = summarise(record, totals, output, strict=False, files_listed=files_listed)
    path = FileSystems.join(output.rstrip("/"), RUNS_DIR, f"{summary['run_id']}{SUMMARY_SUFFIX}")
    write_json_atomically(path, json.loads(json.dumps(summary, default=str)))
    if summary["mismatches"]:
        raise AccountingError(summary["mismatches"], summary)
    return summary


def format_summary(summary: dict) -> str:
    out = summary["output"].rstrip("/")
    seed, feeds = summary["sources"][SEED], summary["sources"][FEEDS]
    lines = [
        f"newsbeam run {summary['run_id']}",
        f"  inputs            {summary['inputs']} (feed entries: {summary['feed_entries']})",
        f"  per source        seed files/records {seed['inputs']}{_listed(summary)} = {seed['articles_extracted']} articles + {seed['rejects']} rejects; "
        f"feed entries {feeds['inputs']} = {feeds['articles_extracted']} articles + {feeds['already_seen']} already seen + {feeds['rejects']} rejects",
        f"  articles written  {summary['articles']} (originals: {summary['originals']}, duplicates marked: {summary['duplicates']})",
        f"  already ingested  {summary['already_ingested']} (handled by an earlier run, skipped)",
        f"  rejects           {summary['rejects']} ({summary['rejects_written']} new rows)",
        f"  stories           {summary['stories']}",
        f"  feeds polled      {summary['feeds_polled']} (not modified: {summary['feeds_not_modified']}, failed: {summary['feeds_failed']})",
        *refused_by_policy(summary["counters"]),
        f"  files committed   {summary['files']}",
        f"  reconciled        {'yes' if summary['reconciled'] else 'NO: ' + '; '.join(summary['mismatches'])}",
        f"  tables            {out}/articles  {out}/stories  {out}/rejects",
        "  counters          " + ", ".join(f"{k}={v}" for k, v in summary["counters"].items()),
        "Try:",
        f"  duckdb -c \"SELECT story_label, count(*) AS articles FROM read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true) GROUP BY 1\"",
    ]
    return "\n".join(lines)


def refused_by_policy(totals: dict[str, int]) -> list[str]:
    """A summary line per kind of policy refusal (feeds and pages), saying what to do about it."""
    lines = []
    for reason, hint in POLICY_HINTS.items():
        feeds, pages = totals.get(f"feeds.feed_rejected_{reason}", 0), totals.get(f"feeds.pages_{reason}", 0)
        if feeds or pages:
            lines.append(f"  refused           {feeds} feeds, {pages} pages: {reason} ({hint})")
    robots = totals.get("feeds.pages_robots_robots_rules", 0)
    if robots:
        lines.append(f"  refused           {robots} pages: robots.txt ({ROBOTS_HINT})")
    return lines


def _listed(summary: dict) -> str:
    listed = summary.get("files_listed")
    return f" (from {listed} files listed)" if listed else ""


def progress_line(summary: dict) -> str:
    """One line per run, for watch mode."""
    return (
        f"run {summary['run_id']}: {summary['articles']} new articles, {summary['feeds_not_modified']} feeds not modified (304), "
        f"{summary['rejects']} rejects, {summary['stories_touched']} stories touched, {summary['already_ingested']} already ingested"
    )
