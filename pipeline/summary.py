"""The end-of-run summary: what came in, what was written where, and a query to try.

Every summary reconciles (``reconcile``), per source, from the Beam counters each item passes:

- seed files and records: ``read.documents`` + ``read.rejected_*`` in; each document leaves
  extraction as ``extract.seed_articles`` or ``extract.seed_rejects``;
- feeds: ``feeds.entries`` in; each entry is ``feeds.entries_already_seen``, ``feeds.rejected_<reason>``,
  or a document that leaves extraction as ``extract.feed_articles`` or ``extract.feed_rejects``;
- WARC records: ``warc.records`` in; each is ``warc.skipped_<kind>`` (request, metadata, revisit,
  not_html, http_404, truncated, …), ``warc.filtered_*``, ``warc.rejected_*`` or a document that
  leaves extraction as ``extract.warc_articles`` or ``extract.warc_rejects``;
- sitemap entries: ``sitemaps.entries`` in; each is ``sitemaps.entries_already_seen``,
  ``sitemaps.filtered_*``, ``sitemaps.rejected_*`` or a document that leaves extraction as
  ``extract.sitemap_articles`` or ``extract.sitemap_rejects``;
- after extraction, sources meet in dedup: ``extract.articles`` = article rows written (originals
  + marked duplicates) + ``dedup.already_ingested``;
- the rejects table: item rejects + failed feeds (``feeds.feed_rejected_*``) = rejects rows written
  + ``dedup.repeated_rejects``.

When any of these doesn't hold, ``AccountingError`` names the source and the figures.
``record_summary`` writes the summary as ``_runs/<run_id>.summary.json`` beside the run record
(also when it doesn't reconcile, so the figures can be inspected) and then raises.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apache_beam.runners.runner import PipelineResult

from pipeline.run_record import SUMMARY_SUFFIX, RunRecord, record_path
from transforms.http.robots import ROBOTS_RULES
from transforms.output.files import write_json_atomically
from transforms.run import counters
from transforms.sources.feeds.state import POLICY_HINTS, ROBOTS_HINT

SEED, FEEDS, WARC, SITEMAPS = "seed", "feeds", "warc", "sitemaps"
"""Sources in the per-source breakdown: seed files/records, feed entries, WARC records, sitemap entries."""
__all__ = ["SUMMARY_SUFFIX", "AccountingError", "RunSummary", "SourceFigures", "summarise", "record_summary"]


@dataclass(frozen=True)
class SourceFigures:
    """One source's items in, and where each went up to extraction."""

    inputs: int = 0
    documents: int = 0
    articles_extracted: int = 0
    already_seen: int = 0
    rejects: int = 0
    rejects_before_extraction: int = 0
    rejects_at_extraction: int = 0
    feeds_polled: int = 0
    feeds_failed: int = 0
    skipped: int = 0
    """Archive items that are no article (WARC requests, metadata, revisits, non-HTML, non-200, truncated)."""
    filtered: int = 0
    """Archive items left out by --site, --since/--until before extraction."""
    failed: int = 0
    """Unreadable WARC slices, failed sitemaps."""
    by_kind: Mapping[str, int] = field(default_factory=dict)
    """The skipped items by kind."""


@dataclass(frozen=True)
class FeedProblem:
    """A feed this run polled without success: failed (the server's or the network's fault) or refused by policy."""

    feed_url: str
    reason: str
    """As in rejects.reason: 'http_404', 'timeout', 'private_address', …"""
    http_status: int | None = None
    next_attempt_at: str | None = None
    """ISO-8601 UTC; None: the next run (or never, when ``gone``)."""
    gone: bool = False
    refused: bool = False
    """A policy refusal (private address, unsupported scheme): not a failure, no backoff."""

    def describe(self) -> str:
        """ "https://x/feed: http_404 (status 404), next attempt 2026-12-07 12:05 UTC" """
        status = (
            f" (status {self.http_status})" if self.http_status and str(self.http_status) not in self.reason else ""
        )
        if self.gone:
            when = "never (gone; feeds --reset URL)"
        elif self.refused:
            when = "not retried until allowed"
        elif self.next_attempt_at:
            when = self.next_attempt_at.replace("T", " ")[:16] + " UTC"
        else:
            when = "next run"
        return f"{self.feed_url}: {self.reason}{status}, next attempt {when}"


@dataclass(frozen=True)
class RunSummary:
    """A run's figures, reconciled; written as ``_runs/RUN_ID.summary.json``."""

    run_id: str
    output: str
    inputs: int = 0
    feed_entries: int = 0
    articles: int = 0
    originals: int = 0
    duplicates: int = 0
    already_ingested: int = 0
    rejects: int = 0
    """Input items rejected this run (some may repeat a reject an earlier run already wrote)."""
    rejects_written: int = 0
    """Rows added to the rejects table (item rejects + failed feeds - repeated rejects)."""
    repeated_rejects: int = 0
    stories: int = 0
    feeds_polled: int = 0
    feeds_not_modified: int = 0
    feeds_failed: int = 0
    """Feeds that gave no entries this run, policy refusals included (each is a rejects row)."""
    feeds_refused: int = 0
    """Of ``feeds_failed``, the policy refusals (private address, unsupported scheme): not failures."""
    feed_problems: tuple[FeedProblem, ...] = ()
    """Each failed or refused feed of this run, from its feed_polls row."""
    stories_touched: int = 0
    filtered: int = 0
    """Items and articles left out by the archive filters (--site, --since/--until, --language); not written."""
    files: int = 0
    files_listed: int | None = None
    """Seed files the plan listed (None when not known): each must be read or rejected."""
    sources: Mapping[str, SourceFigures] = field(default_factory=dict)
    counters: Mapping[str, int] = field(default_factory=dict)
    mismatches: tuple[str, ...] = ()

    @property
    def reconciled(self) -> bool:
        return not self.mismatches

    def __str__(self) -> str:
        """The summary ``newsbeam run`` prints."""
        return format_summary(self)

    def to_json(self) -> dict[str, Any]:
        """The summary as a JSON object (``reconciled`` included for readers of the file)."""
        data = dataclasses.asdict(self)
        data["sources"] = {name: dataclasses.asdict(figures) for name, figures in self.sources.items()}
        data["counters"] = dict(self.counters)
        data["mismatches"] = list(self.mismatches)
        data["reconciled"] = self.reconciled
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunSummary:
        """A summary read back; unknown keys are ignored, missing figures are 0."""
        names = {f.name for f in dataclasses.fields(cls)}
        figures = {f.name for f in dataclasses.fields(SourceFigures)}
        values = {k: v for k, v in data.items() if k in names}
        values["sources"] = {
            name: SourceFigures(**{k: v for k, v in source.items() if k in figures})
            for name, source in data.get("sources", {}).items()
        }
        values["mismatches"] = tuple(data.get("mismatches", ()))
        values["feed_problems"] = tuple(FeedProblem(**problem) for problem in data.get("feed_problems", ()))
        return cls(**values)


class AccountingError(RuntimeError):
    """A run whose figures don't add up: some item was lost or counted twice."""

    def __init__(self, mismatches: list[str] | tuple[str, ...], summary: RunSummary):
        super().__init__(f"run {summary.run_id} does not reconcile: " + "; ".join(mismatches))
        self.mismatches = list(mismatches)
        self.summary = summary


def counter_totals(result: PipelineResult) -> dict[str, int]:
    """Beam counters as {'namespace.name': value}, summed over steps."""
    totals: dict[str, int] = defaultdict(int)
    for counter in result.metrics().query()["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[f"{counter.key.metric.namespace}.{counter.key.metric.name}"] += value or 0
    return dict(sorted(totals.items()))


def source_breakdown(totals: Mapping[str, int]) -> dict[str, SourceFigures]:
    """Per source: items in, and where each went up to extraction."""
    read_rejects = counters.rejected(counters.READ).total(totals)
    documents = counters.SEED_DOCUMENTS.read(totals)
    seed_articles = counters.ARTICLES_EXTRACTED_FROM.of(SEED).read(totals)
    seed_rejects = counters.REJECTS_AT_EXTRACTION_FROM.of(SEED).read(totals)
    entries = counters.FEED_ENTRIES.read(totals)
    already_seen = counters.FEED_ENTRIES_ALREADY_SEEN.read(totals)
    no_text = counters.FEED_ENTRIES_WITHOUT_TEXT.total(totals)  # by reason
    feed_articles = counters.ARTICLES_EXTRACTED_FROM.of("feed").read(totals)
    feed_rejects = counters.REJECTS_AT_EXTRACTION_FROM.of("feed").read(totals)
    return {
        SEED: SourceFigures(
            inputs=documents + read_rejects,
            documents=documents,
            articles_extracted=seed_articles,
            rejects=read_rejects + seed_rejects,
            rejects_before_extraction=read_rejects,
            rejects_at_extraction=seed_rejects,
        ),
        FEEDS: SourceFigures(
            inputs=entries,
            documents=entries - already_seen - no_text,
            articles_extracted=feed_articles,
            already_seen=already_seen,
            rejects=no_text + feed_rejects,
            rejects_before_extraction=no_text,
            rejects_at_extraction=feed_rejects,
            feeds_polled=counters.FEED_STATUS.total(totals),
            feeds_failed=counters.FEEDS_FAILED.total(totals),
        ),
        WARC: archive_source(
            totals,
            "warc",
            counters.WARC_RECORDS.read(totals),
            counters.WARC_NOT_ARTICLES,
            0,
            counters.WARC_FILTERED.total(totals),
            counters.WARC_SLICES_UNREADABLE.total(totals),
        ),
        SITEMAPS: archive_source(
            totals,
            "sitemap",
            counters.SITEMAP_ENTRIES.read(totals),
            None,
            counters.SITEMAP_ENTRIES_ALREADY_SEEN.read(totals),
            counters.SITEMAP_FILTERED.total(totals),
            counters.SITEMAPS_FAILED.total(totals),
        ),
    }


def archive_source(
    totals: Mapping[str, int],
    source: str,
    inputs: int,
    kinds: counters.CounterFamily | None,
    already_seen: int,
    filtered: int,
    failed: int,
) -> SourceFigures:
    """A WARC or sitemap breakdown: items in; not articles (by kind), already seen, filtered, rejected, extracted."""
    namespace = counters.WARC if source == "warc" else counters.SITEMAPS
    skipped = kinds.total(totals) if kinds else 0
    rejected = counters.rejected(namespace).total(totals)
    at_extraction = counters.REJECTS_AT_EXTRACTION_FROM.of(source).read(totals)
    head = f"{kinds.namespace}.{kinds.prefix}" if kinds else None
    return SourceFigures(
        inputs=inputs,
        documents=inputs - skipped - already_seen - filtered - rejected,
        articles_extracted=counters.ARTICLES_EXTRACTED_FROM.of(source).read(totals),
        already_seen=already_seen,
        skipped=skipped,
        filtered=filtered,
        rejects=rejected + at_extraction,
        rejects_before_extraction=rejected,
        rejects_at_extraction=at_extraction,
        by_kind={k.split(".", 1)[1]: v for k, v in totals.items() if head and k.startswith(head)},
        failed=failed,
    )


def reconcile(summary: RunSummary) -> list[str]:
    """What doesn't add up, one sentence per mismatch with the figures; [] when everything does."""
    mismatches = []
    totals = summary.counters
    for name, source in summary.sources.items():
        accounted = source.articles_extracted + source.already_seen + source.rejects + source.skipped + source.filtered
        if source.inputs != accounted:
            mismatches.append(
                f"source {name}: inputs {source.inputs} != articles extracted {source.articles_extracted}"
                f" + already seen {source.already_seen} + rejects {source.rejects} (= {accounted})"
            )
    extracted = counters.ARTICLES_EXTRACTED.read(totals)
    already_ingested = counters.ALREADY_INGESTED.read(totals)
    by_source = sum(source.articles_extracted for source in summary.sources.values())
    if extracted != by_source:
        mismatches.append(f"extraction: extract.articles {extracted} != sum over sources {by_source}")
    filtered = counters.ARTICLES_FILTERED.total(totals)
    if extracted != summary.articles + already_ingested + filtered:
        mismatches.append(
            f"dedup: articles extracted {extracted} != article rows written {summary.articles}"
            f" + already ingested {already_ingested}" + (f" + filtered {filtered}" if filtered else "")
        )
    listed = summary.files_listed
    files_read = counters.SEED_FILES_READ.read(totals)
    if listed is not None and files_read != listed:
        mismatches.append(f"seed files: listed {listed} != files read {files_read}")
    feeds_failed = summary.sources[FEEDS].feeds_failed
    archives_failed = sum(summary.sources[name].failed for name in (WARC, SITEMAPS) if name in summary.sources)
    expected_rows = summary.rejects + feeds_failed + archives_failed - summary.repeated_rejects
    if summary.rejects_written != expected_rows:
        mismatches.append(
            f"rejects table: rows written {summary.rejects_written} != item rejects {summary.rejects}"
            f" + failed feeds {feeds_failed}"
            + (f" + unreadable WARC slices and failed sitemaps {archives_failed}" if archives_failed else "")
            + f" - repeated {summary.repeated_rejects} (= {expected_rows})"
        )
    return mismatches


def summarise(
    record: RunRecord,
    totals: Mapping[str, int],
    output: str,
    *,
    strict: bool = True,
    files_listed: int | None = None,
    feed_problems: tuple[FeedProblem, ...] = (),
) -> RunSummary:
    """Run figures that reconcile: inputs = originals + duplicates + already ingested + rejects.

    Raises ``AccountingError`` when they don't (unless ``strict`` is False; ``reconciled`` and
    ``mismatches`` in the summary say so either way).
    """
    rows = record.rows
    sources = source_breakdown(totals)
    articles = rows.get("articles", 0)
    duplicates = counters.DUPLICATES.read(totals) + counters.NEAR_DUPLICATES.read(totals)
    summary = RunSummary(
        run_id=record.run_id,
        output=output,
        inputs=sum(s.inputs for s in sources.values()),
        feed_entries=counters.FEED_ENTRIES.read(totals),
        articles=articles,
        originals=articles - duplicates,
        duplicates=duplicates,
        already_ingested=counters.ALREADY_INGESTED.read(totals)
        + counters.FEED_ENTRIES_ALREADY_SEEN.read(totals)
        + counters.SITEMAP_ENTRIES_ALREADY_SEEN.read(totals),
        rejects=counters.item_rejects(totals),
        rejects_written=rows.get("rejects", 0),
        repeated_rejects=counters.REPEATED_REJECTS.read(totals),
        stories=rows.get("stories", 0),
        feeds_polled=sources[FEEDS].feeds_polled,
        feeds_not_modified=counters.FEEDS_NOT_MODIFIED.read(totals),
        feeds_failed=sources[FEEDS].feeds_failed,
        feeds_refused=sum(counters.FEEDS_FAILED.of(reason).read(totals) for reason in POLICY_HINTS),
        feed_problems=tuple(feed_problems),
        stories_touched=counters.STORIES_TOUCHED.read(totals),
        filtered=sources[WARC].filtered + sources[SITEMAPS].filtered + counters.ARTICLES_FILTERED.total(totals),
        files=len(record.files),
        files_listed=files_listed,
        sources=sources,
        counters=dict(totals),
    )
    summary = dataclasses.replace(summary, mismatches=tuple(reconcile(summary)))
    if strict and summary.mismatches:
        raise AccountingError(summary.mismatches, summary)
    return summary


def record_summary(
    record: RunRecord, totals: Mapping[str, int], output: str, files_listed: int | None = None
) -> RunSummary:
    """``summarise``, written to ``OUTPUT/_runs/<run_id>.summary.json``; raises AccountingError after writing."""
    problems = read_feed_problems(record)
    summary = summarise(record, totals, output, strict=False, files_listed=files_listed, feed_problems=problems)
    write_json_atomically(record_path(output, summary.run_id, SUMMARY_SUFFIX), summary.to_json())
    if summary.mismatches:
        raise AccountingError(summary.mismatches, summary)
    return summary


def read_feed_problems(record: RunRecord) -> tuple[FeedProblem, ...]:
    """The failed and refused feeds of a run, from the feed_polls files it committed."""
    import pyarrow.parquet as pq
    from apache_beam.io.filesystems import FileSystems

    from schemas.tables import FEED_POLLS

    columns = ["feed_url", "error", "http_status", "next_attempt_at", "gone"]
    problems = []
    for staged in record.files:
        if staged.table != FEED_POLLS.name or not staged.rows:
            continue
        with FileSystems.open(staged.root.rstrip("/") + "/" + staged.relative_path) as handle:
            rows = pq.read_table(handle, columns=columns).to_pylist()
        for row in rows:
            if row["error"] is None:
                continue
            at = row["next_attempt_at"]
            problems.append(
                FeedProblem(
                    feed_url=row["feed_url"],
                    reason=row["error"],
                    http_status=row["http_status"],
                    next_attempt_at=at.astimezone(dt.UTC).isoformat() if at else None,
                    gone=bool(row["gone"]),
                    refused=row["error"] in POLICY_HINTS,
                )
            )
    return tuple(sorted(problems, key=lambda p: (p.refused, p.feed_url)))


def feed_problem_lines(summary: RunSummary, indent: str = "    ") -> list[str]:
    """One line per failed, then per refused feed (URL, reason or status, next attempt)."""
    return [f"{indent}- {'refused' if p.refused else 'failed'} {p.describe()}" for p in summary.feed_problems]


def command_prefix() -> str:
    """How to call newsbeam from the current folder with this interpreter: its ``newsbeam`` entry point
    beside it (``.venv/bin/newsbeam`` after ``make``), else ``PYTHON -m pipeline``; relative when below
    the current folder. A bare ``python`` may be one without Beam."""
    import os
    import shlex
    import sys

    def shown(path: str) -> str:
        relative = os.path.relpath(path)
        return shlex.quote(path if relative.startswith("..") else relative)

    entry_point = os.path.join(os.path.dirname(sys.executable), "newsbeam")
    if os.access(entry_point, os.X_OK):
        return shown(entry_point)
    return f"{shown(sys.executable)} -m pipeline"


def suggested_query(output: str) -> str:
    """A first query to try, runnable as printed; stories carry the current label."""
    sql = "SELECT story_label, count(*) AS articles FROM articles GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
    return f'{command_prefix()} query --output {output} "{sql}"'


def format_summary(summary: RunSummary, *, verbose: bool = False) -> str:
    """The end-of-run summary; ``verbose`` adds every counter, one per line."""
    out = summary.output.rstrip("/")
    seed, feeds = summary.sources[SEED], summary.sources[FEEDS]
    lines = [
        f"newsbeam run {summary.run_id}",
        f"  inputs            {summary.inputs} (feed entries: {summary.feed_entries})",
        f"    seed items      {seed.inputs}{_listed(summary)} = {seed.articles_extracted} articles"
        f" + {seed.rejects} rejected",
        f"    feed entries    {feeds.inputs} = {feeds.articles_extracted} articles + {feeds.already_seen} seen before"
        f" + {feeds.rejects} rejected",
        *archive_lines(summary),
        f"  articles written  {summary.articles} (originals: {summary.originals},"
        f" duplicates marked: {summary.duplicates})",
        f"  already ingested  {summary.already_ingested} (handled by an earlier run, skipped)",
        f"  rejected items    {summary.rejects}" + _reject_rows(summary),
        f"  stories           {summary.stories} rows written ({summary.stories_touched} stories touched)",
        f"  feeds polled      {summary.feeds_polled} (not modified: {summary.feeds_not_modified},"
        f" failed: {summary.feeds_failed - summary.feeds_refused}, refused: {summary.feeds_refused})",
        *feed_problem_lines(summary),
        *refused_by_policy(summary.counters),
        f"  files committed   {summary.files}",
        f"  reconciled        {'yes' if summary.reconciled else 'NO: ' + '; '.join(summary.mismatches)}",
        f"  tables            {out}/articles  {out}/stories  {out}/rejects  {out}/feed_polls",
    ]
    if verbose:
        lines.append("  counters")
        lines += [f"    {name} = {value}" for name, value in summary.counters.items()]
    lines += ["Try:", f"  {suggested_query(out)}"]
    return "\n".join(lines)


def refused_by_policy(totals: Mapping[str, int]) -> list[str]:
    """A summary line per kind of policy refusal (feeds and pages), saying what to do about it."""
    lines = []
    for reason, hint in POLICY_HINTS.items():
        feeds = counters.FEEDS_FAILED.of(reason).read(totals)
        pages = counters.FEED_PAGES.of(reason).read(totals)
        if feeds or pages:
            lines.append(f"  refused           {feeds} feeds, {pages} pages: {reason} ({hint})")
    robots = counters.FEED_PAGES.of(f"robots_{ROBOTS_RULES}").read(totals)
    if robots:
        lines.append(f"  refused           {robots} pages: robots.txt ({ROBOTS_HINT})")
    return lines


def _listed(summary: RunSummary) -> str:
    """ " from 201 files": seed items are documents and records (a JSON Lines file holds many)."""
    if not summary.files_listed:
        return ""
    return f" from {summary.files_listed} file{'s' if summary.files_listed != 1 else ''}"


def start_line(run_id: str, plan: Any, output: str) -> str:
    """The line a run starts with: what it will read, by source (a RunPlan: files, warc_files, sitemaps, feeds)."""
    parts = []
    for count, one, many in (
        (len(plan.files), "seed file", "seed files"),
        (len(plan.warc_files), "WARC file", "WARC files"),
        (len(plan.sitemaps), "sitemap", "sitemaps"),
        (len(plan.feeds), "feed due", "feeds due"),
    ):
        if count:
            parts.append(f"{count} {one if count == 1 else many}")
    return f"run {run_id}: {', '.join(parts) or 'nothing to read'} → {output}"


def _reject_rows(summary: RunSummary) -> str:
    """How the rejects table changed: new rows, and rejects an earlier run already wrote."""
    parts = [f"{summary.rejects_written} new rows in {summary.output.rstrip('/')}/rejects"]
    if summary.repeated_rejects:
        parts.append(f"{summary.repeated_rejects} already there from an earlier run")
    if summary.feeds_failed:
        parts.append(f"{summary.feeds_failed} of the rows for failed or refused feeds")
    return " (" + "; ".join(parts) + ")"


def progress_line(summary: RunSummary) -> str:
    """One line per run, for watch mode; then a line per failed or refused feed."""
    failed = summary.feeds_failed - summary.feeds_refused
    problems = f", {failed} feeds failed, {summary.feeds_refused} refused" if summary.feeds_failed else ""
    line = (
        f"run {summary.run_id}: {summary.articles} new articles, {summary.feeds_not_modified} feeds not modified"
        f" (304), {summary.rejects} rejected items{problems}, {summary.stories_touched} stories touched,"
        f" {summary.already_ingested} already ingested"
    )
    return "\n".join([line, *feed_problem_lines(summary, indent="  ")])


def archive_lines(summary: RunSummary) -> list[str]:
    """Summary lines for the WARC and sitemap sources, when the run read any."""
    lines = []
    warc, sitemaps = summary.sources.get(WARC), summary.sources.get(SITEMAPS)
    if warc and warc.inputs:
        kinds = ", ".join(f"{k.removeprefix('skipped_')} {v}" for k, v in sorted(warc.by_kind.items()))
        lines.append(
            f"    WARC records    {warc.inputs} = {warc.articles_extracted} articles + {warc.rejects} rejected"
            f" + {warc.filtered} filtered + {warc.skipped} not articles ({kinds or 'none'})"
        )
    if sitemaps and (sitemaps.inputs or sitemaps.failed):
        lines.append(
            f"    sitemap entries {sitemaps.inputs} = {sitemaps.articles_extracted} articles"
            f" + {sitemaps.rejects} rejected + {sitemaps.filtered} filtered"
            f" + {sitemaps.already_seen} seen before (sitemaps failed: {sitemaps.failed})"
        )
    if summary.filtered:
        lines.append(f"  filtered          {summary.filtered} (--site, --since/--until, --language; not written)")
    return lines
