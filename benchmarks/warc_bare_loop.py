"""The bare loop: FastWARC + trafilatura over one WARC file, nothing else.

    python benchmarks/warc_bare_loop.py FILE.warc.gz

Every 200 HTML response goes to ``trafilatura.bare_extraction`` with the pipeline's own arguments
(``benchmarks.extraction_limit.trafilatura_kwargs``). No cleaning, language, dedup, stories or
Parquet: the floor newsbeam's WARC path is measured against. Prints one JSON object.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import trafilatura  # noqa: E402
from fastwarc.warc import ArchiveIterator, WarcRecordType  # noqa: E402

from benchmarks.extraction_limit import trafilatura_kwargs  # noqa: E402


def main(path: str) -> int:
    start, cpu = time.perf_counter(), time.process_time()
    pages = with_text = 0
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream, record_types=WarcRecordType.response, parse_http=True):
            if record.http_headers.status_code != 200 or "html" not in (record.http_content_type or ""):
                continue
            pages += 1
            url = record.headers.get("WARC-Target-URI")
            extracted = trafilatura.bare_extraction(record.reader.read(), **trafilatura_kwargs(url))
            with_text += bool(extracted is not None and extracted.text)
    result = {
        "pages": pages,
        "with_text": with_text,
        "wall_s": time.perf_counter() - start,
        "cpu_s": time.process_time() - cpu,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
