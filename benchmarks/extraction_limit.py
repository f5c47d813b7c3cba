"""The extraction limit: a plain Python loop over the same files with the pipeline's trafilatura call.

    python -m benchmarks.extraction_limit DIR [--with-pipeline-logic]

Prints one JSON object. ``limit_s`` (and ``limit_cpu_s``, its CPU time) times, for every ``.html`` file of DIR:
reading the file and ``trafilatura.bare_extraction`` with exactly the arguments ``transforms/text/extract.py`` passes
(``trafilatura_kwargs``; ``tests/benchmarks/test_benchmarks.py`` checks they match). With
``--with-pipeline-logic`` a second loop (``logic_s``) calls the pipeline's own pure function,
``transforms.text.extract.extract_article`` (trafilatura plus text cleaning, language
identification, hashing), without Beam (``logic_s``, ``logic_cpu_s``): the gap between the two is our per-article logic,
the rest of the gap to ``python -m pipeline run`` is Beam, start-up and writing.
Imports happen before the clocks start (the pipeline's start-up is part of its own figure).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import trafilatura  # noqa: E402
import trafilatura.settings  # noqa: E402

from transforms.text.html_worker import DATE_FORMAT  # noqa: E402


def trafilatura_kwargs(url: str | None = None) -> dict:
    """The keyword arguments of the pipeline's ``trafilatura.bare_extraction`` call for one page."""
    return {
        "url": url,
        "include_comments": False,
        "with_metadata": True,
        "date_extraction_params": {**trafilatura.settings.set_date_params(True), "outputformat": DATE_FORMAT},
    }


def limit_loop(paths: list[Path]) -> tuple[float, float, int]:
    """Wall and CPU seconds to read and extract every file; how many yielded text."""
    start, cpu = time.perf_counter(), time.process_time()
    with_text = 0
    for path in paths:
        extracted = trafilatura.bare_extraction(path.read_bytes(), **trafilatura_kwargs())
        with_text += bool(extracted is not None and extracted.text)
    return time.perf_counter() - start, time.process_time() - cpu, with_text


def pipeline_logic_loop(paths: list[Path]) -> tuple[float, float, int]:
    """Wall and CPU seconds to turn every file into an Article or Reject with the pipeline's pure functions."""
    from schemas import Article
    from transforms.run.context import RunContext
    from transforms.sources.seeds import read_seed_file
    from transforms.text.extract import extract_article, identify_language

    run = RunContext.start()
    identify_language("warm up the language model, as the DoFn's setup() does")
    start, cpu = time.perf_counter(), time.process_time()
    articles = 0
    for path in paths:
        for document in read_seed_file(str(path), run):
            articles += isinstance(extract_article(document, run), Article)
    return time.perf_counter() - start, time.process_time() - cpu, articles


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--with-pipeline-logic", action="store_true")
    args = parser.parse_args(argv)
    paths = sorted(args.folder.glob("*.html"))
    limit_s, limit_cpu_s, with_text = limit_loop(paths)
    result = {
        "pages": len(paths),
        "limit_s": limit_s,
        "limit_cpu_s": limit_cpu_s,
        "with_text": with_text,
        "limit_rss_mb": _peak_rss_mb(),
    }
    if args.with_pipeline_logic:
        result["logic_s"], result["logic_cpu_s"], result["articles"] = pipeline_logic_loop(paths)
        result["logic_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
