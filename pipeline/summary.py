"""The end-of-run summary: what came in, what was written where, and a query to try."""
from __future__ import annotations

from collections import defaultdict

from apache_beam.runners.runner import PipelineResult


def counters(result: PipelineResult) -> dict[str, int]:
    """Beam counters as {'namespace.name': value}, summed over steps."""
    totals: dict[str, int] = defaultdict(int)
    for counter in result.metrics().query()["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[f"{counter.key.metric.namespace}.{counter.key.metric.name}"] += value or 0
    return dict(sorted(totals.items()))


def summarise(record: dict, totals: dict[str, int], output: str) -> dict:
    """Reconciled run figures: inputs = articles + rejects (read or extract) + already ingested."""
    rejected = {"read": 0, "extract": 0}
    for name, value in totals.items():
        stage, _, counter = name.partition(".")
        if counter.startswith("rejected_") and stage in rejected:
            rejected[stage] += value
    rows = record.get("rows", {})
    return {
        "run_id": record["run_id"],
        "inputs": totals.get("read.documents", 0) + rejected["read"],
        "articles": rows.get("articles", 0),
        "duplicates": totals.get("dedup.duplicates", 0),
        "already_ingested": totals.get("dedup.already_ingested", 0),
        "rejects": rejected["read"] + rejected["extract"],
        "rejects_written": rows.get("rejects", 0),
        "stories": rows.get("stories", 0),
        "files": len(record.get("files", [])),
        "output": output,
    }


def format_summary(summary: dict, totals: dict[str, int]) -> str:
    out = summary["output"].rstrip("/")
    lines = [
        f"newsbeam run {summary['run_id']}",
        f"  inputs            {summary['inputs']}",
        f"  articles written  {summary['articles']} (of which duplicates marked: {summary['duplicates']})",
        f"  already ingested  {summary['already_ingested']} (written by an earlier run, skipped)",
        f"  rejects           {summary['rejects']} ({summary['rejects_written']} new rows)",
        f"  stories           {summary['stories']}",
        f"  files committed   {summary['files']}",
        f"  tables            {out}/articles  {out}/stories  {out}/rejects",
        "  counters          " + ", ".join(f"{k}={v}" for k, v in totals.items()),
        "Try:",
        f"  duckdb -c \"SELECT story_label, count(*) AS articles FROM read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true) GROUP BY 1\"",
    ]
    return "\n".join(lines)
