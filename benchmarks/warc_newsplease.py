"""news-please's WARC path over one WARC file: ``NewsPlease.from_warc`` on every HTML response (warcio records).

    benchmarks/.venv-newsplease/bin/python benchmarks/warc_newsplease.py FILE.warc.gz

Runs in its own virtualenv (``benchmarks/warc.py`` creates it from PyPI; news-please is not a
project dependency), so it imports nothing from newsbeam. Prints one JSON object: pages, how
many gave a main text, wall and CPU seconds after imports, peak RSS.
"""

from __future__ import annotations

import json
import resource
import sys
import time

from newsplease import NewsPlease
from warcio.archiveiterator import ArchiveIterator


def main(path: str) -> int:
    start, cpu = time.perf_counter(), time.process_time()
    pages = with_text = failed = 0
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response" or record.http_headers is None:
                continue
            if record.http_headers.get_statuscode() != "200":
                continue
            if "html" not in (record.http_headers.get_header("Content-Type") or ""):
                continue
            pages += 1
            try:
                article = NewsPlease.from_warc(record, fetch_images=False)
            except Exception:  # noqa: BLE001 - counted: news-please raises on empty or odd pages
                failed += 1
                continue
            with_text += bool(article.maintext)
    result = {
        "pages": pages,
        "with_text": with_text,
        "failed": failed,
        "wall_s": time.perf_counter() - start,
        "cpu_s": time.process_time() - cpu,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
