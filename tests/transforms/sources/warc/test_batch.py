"""ReadWarcFiles in a pipeline: documents out, every record counted, pages never cross a stage boundary."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.util import assert_that, equal_to

from tests.builders import RUN
from tests.conftest import fn_api_pipeline
from tests.warc_files import script_pages, write_warc
from transforms.sources.warc.batch import ReadWarcFiles


@pytest.mark.slow
def test_documents_and_counters_for_two_files_in_slices(tmp_path):
    first, second = tmp_path / "a.warc.gz", tmp_path / "b.warc"
    pages = script_pages()
    kinds = write_warc(first, pages[:3])
    write_warc(second, pages[3:], other_records=False, gzip_records=False)
    (tmp_path / "c.warc.gz").write_bytes(b"\x1f\x8b\x08\x00 not gzip at all")
    p = fn_api_pipeline()
    read = p | ReadWarcFiles([str(first), str(second), str(tmp_path / "c.warc.gz")], RUN, records_per_slice=2)
    assert_that(read.documents | beam.Map(lambda d: d.url), equal_to([page.url for page in pages]))
    assert_that(
        read.rejects | beam.Map(lambda r: (r.reason, r.source_uri)),
        equal_to([("invalid_warc", f"{tmp_path}/c.warc.gz#offset=0")]),
        label="Rejects",
    )
    result = p.run()
    result.wait_until_finish()
    counters = {
        c.key.metric.name: c.committed
        for c in result.metrics().query(MetricsFilter().with_namespace("warc"))["counters"]
    }
    assert counters["records"] == len(pages) + sum(kinds.values())
    assert counters["documents"] == len(pages) and counters["skipped_request"] == 3
    assert counters["file_rejected_invalid_warc"] == 1
    assert counters["slices"] == -(-(3 + sum(kinds.values())) // 2) + -(-(len(pages) - 3) // 2) + 1


@pytest.mark.slow
def test_raw_pages_do_not_cross_a_stage_boundary(tmp_path):
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.portability.fn_api_runner.fn_runner import FnApiRunner

    from pipeline.graph import build_graph
    from pipeline.options import NewsbeamOptions, with_default_runner
    from pipeline.plan import plan_run
    from transforms.run.context import RunContext

    path = tmp_path / "a.warc.gz"
    write_warc(path, script_pages()[:1])
    options = with_default_runner(
        PipelineOptions(["--input", str(path), "--output", str(tmp_path / "out"), "--catalog", ""])
    )
    p = beam.Pipeline(options=options)
    build_graph(p, plan_run(options.view_as(NewsbeamOptions), RunContext.start()))
    _, stages = FnApiRunner().create_stages(p.to_runner_api())
    stage_of = {t.unique_name: i for i, stage in enumerate(stages) for t in stage.transforms}
    read = next(i for name, i in stage_of.items() if name.startswith("ReadWarcFiles/ReadSlices"))
    extract = next(i for name, i in stage_of.items() if name.startswith("ExtractArticles/ExtractTextWarc"))
    assert read == extract
