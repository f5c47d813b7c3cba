"""The end-of-run summary: what came in, what was written where, and a query to try."""
from __future__ import annotations

from collections import defaultdict

from apache_beam.runners.runner import PipelineResult

ITEM_REJECT_STAGES = ("read", "extract", "feeds", "window")
"""Counter namespaces whose ``rejected_*`` counters are input items (files, records, entries)."""


def counters(result: PipelineResult) -> dict[str, int]:
    """Beam counters as {'namespace.name': value}, summed over steps."""
    totals: dict[str, int] = defaultdict(int)
    for counter in result.metrics().query()["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[f"{counter.key.metric.namespace}.{counter.key.metric.name}"] += value or 0
    return dict(sorted(totals.items()))


def _sum(totals: dict[str, int], namespaces: tuple[str, ...], prefix: str) -> int:
    return sum(v for k, v in totals.items() if k.split(".")[0] in namespaces and k.split(".", 1)[1].startswith(prefix))


def summarise(record: dict, totals: dict[str, int], output: str) -> dict:
    """Run figures that reconcile: inputs = articles + already ingested + rejects."""
    rows = record.get("rows", {})
    return {
        "run_id": record["run_id"],
        "inputs": totals.get("read.documents", 0) + _sum(totals, ("read",), "rejected_") + totals.get("feeds.entries", 0),
        "feed_entries": totals.get("feeds.entries", 0),
        "articles": rows.get("articles", 0),
        "duplicates": totals.get("dedup.duplicates", 0),
        "already_ingested": totals.get("dedup.already_ingested", 0) + totals.get("feeds.entries_already_seen", 0),
        "rejects": _sum(totals, ITEM_REJECT_STAGES, "rejected_"),
        "rejects_written": rows.get("rejects", 0),
        "stories": rows.get("stories", 0),
        "feeds_polled": _sum(totals, ("feeds",), "status_"),
        "feeds_not_modified": totals.get("feeds.status_304", 0),
        "feeds_failed": _sum(totals, ("feeds",), "feed_rejected_"),
        "stories_touched": totals.get("stories.stories_touched", 0),
        "files": len(record.get("files", [])),
        "output": output,
        "counters": totals,
    }


def format_summary(summary: dict) -> str:
    out = summary["output"].rstrip("/")
    lines = [
        f"newsbeam run {summary['run_id']}",
        f"  inputs            {summary['inputs']} (feed entries: {summary['feed_entries']})",
        f"  articles written  {summary['articles']} (of which duplicates marked: {summary['duplicates']})",
        f"  already ingested  {summary['already_ingested']} (handled by an earlier run, skipped)",
        f"  rejects           {summary['rejects']} ({summary['rejects_written']} new rows)",
        f"  stories           {summary['stories']}",
        f"  feeds polled      {summary['feeds_polled']} (not modified: {summary['feeds_not_modified']}, failed: {summary['feeds_failed']})",
        f"  files committed   {summary['files']}",
        f"  tables            {out}/articles  {out}/stories  {out}/rejects",
        "  counters          " + ", ".join(f"{k}={v}" for k, v in summary["counters"].items()),
        "Try:",
        f"  duckdb -c \"SELECT story_label, count(*) AS articles FROM read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true) GROUP BY 1\"",
    ]
    return "\n".join(lines)


def progress_line(summary: dict) -> str:
    """One line per run, for watch mode."""
    return (
        f"run {summary['run_id']}: {summary['articles']} new articles, {summary['feeds_not_modified']} feeds not modified (304), "
        f"{summary['rejects']} rejects, {summary['stories_touched']} stories touched, {summary['already_ingested']} already ingested"
    )
