"""The Beam stage for WARC files: list → slice by record offsets → spread → read slices.

``ReadWarcFiles`` is thin: ``split_warc_file`` and ``read_warc_slice`` (``records.py``) do the
work. Counters (namespace ``warc``): ``records`` (every record read), ``documents``,
``skipped_<kind>`` (request, metadata, revisit, warcinfo, not_html, http_404, truncated, …),
``filtered_<why>`` (``--site``, fetch date), ``rejected_<reason>`` (an HTML page whose body can't
be decoded), ``slices``, and ``file_rejected_invalid_warc`` for a file or slice that could not be
read on (one rejects row each; its unread records can't be counted).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import apache_beam as beam

from schemas import Reject
from transforms.http.client import FetchPolicy
from transforms.run import counters, progress
from transforms.run.context import REJECTED, RunContext
from transforms.sources.archive_filters import ArchiveFilters
from transforms.sources.document import SourceDocument
from transforms.sources.warc.records import (
    FILE_REASONS,
    FILTERED,
    RECORDS_PER_SLICE,
    WarcSlice,
    read_warc_slice,
    split_warc_file,
)


class WarcOutputs(NamedTuple):
    documents: beam.PCollection
    rejects: beam.PCollection


class ReadWarcFiles(beam.PTransform):
    """WARC paths (already expanded) → SourceDocuments for HTML responses, plus a ``rejects`` output."""

    def __init__(
        self,
        paths: Sequence[str],
        run: RunContext,
        filters: ArchiveFilters = ArchiveFilters(),
        policy: FetchPolicy = FetchPolicy(),
        records_per_slice: int = RECORDS_PER_SLICE,
    ):
        super().__init__()
        self._paths, self._run, self._filters, self._per_slice = list(paths), run, filters, records_per_slice
        self._policy = policy

    def expand(self, pbegin):
        read = (
            pbegin
            | "ListWarcFiles" >> beam.Create(self._paths)
            | "SpreadFiles" >> beam.Reshuffle()
            | "SliceByRecordOffsets" >> beam.FlatMap(split_warc_file, self._per_slice, self._policy)
            | "SpreadSlices" >> beam.Reshuffle()
            | "ReadSlices"
            >> beam.ParDo(ReadWarcSlice(self._run, self._filters, self._policy)).with_outputs(
                REJECTED, main="documents"
            )
        )
        return WarcOutputs(read.documents, read[REJECTED])


class ReadWarcSlice(beam.DoFn):
    """Reads one slice; documents to the main output, the slice's reject to ``rejects``, every record counted."""

    def __init__(self, run: RunContext, filters: ArchiveFilters, policy: FetchPolicy):
        self._run, self._filters, self._policy = run, filters, policy
        self._records = counters.WARC_RECORDS.metric()
        self._documents = counters.WARC_DOCUMENTS.metric()
        self._slices = counters.WARC_SLICES.metric()

    def process(self, piece: WarcSlice) -> Iterator:
        self._slices.inc()
        for outcome in read_warc_slice(piece, self._run, self._filters, self._policy):
            if isinstance(outcome, SourceDocument):
                self._records.inc()
                self._documents.inc()
                progress.note("documents read")
                yield outcome
            elif isinstance(outcome, Reject):
                if outcome.reason in FILE_REASONS:
                    counters.WARC_SLICES_UNREADABLE.of(outcome.reason).inc()
                else:
                    self._records.inc()
                    counters.rejected(counters.WARC).of(outcome.reason).inc()
                yield beam.pvalue.TaggedOutput(REJECTED, outcome)
            else:
                self._records.inc()
                if outcome.startswith(FILTERED):
                    counters.WARC_FILTERED.of(outcome.removeprefix(FILTERED)).inc()
                else:
                    counters.WARC_NOT_ARTICLES.of(outcome).inc()
