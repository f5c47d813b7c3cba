"""``--cc-news YYYY/MM`` (or ``YYYY/MM-YYYY/MM``): the month's WARC files from Common Crawl's CC-NEWS.

Each month is listed in ``BASE/crawl-data/CC-NEWS/YYYY/MM/warc.paths.gz`` (gzipped, one path
relative to BASE per line). BASE is ``https://data.commoncrawl.org/`` by default (no credentials
needed), or ``s3://commoncrawl/`` (AWS credentials), or any folder laid out the same way (a
local copy: how the tests run offline).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator

DEFAULT_BASE = "https://data.commoncrawl.org/"
LISTING = "crawl-data/CC-NEWS/{year:04d}/{month:02d}/warc.paths.gz"
_MONTH = re.compile(r"(\d{4})[/-](\d{1,2})")


def parse_months(spec: str) -> list[tuple[int, int]]:
    """'2024/03' → [(2024, 3)]; '2023/11-2024/02' → four months. Raises ValueError otherwise."""
    bounds = [part.strip() for part in re.split(r"\s*(?:\.\.|–|(?<=\d)-(?=\d{4}))\s*", spec.strip())]
    parsed = [match for part in bounds if (match := _MONTH.fullmatch(part))]
    if not 1 <= len(bounds) <= 2 or len(parsed) != len(bounds):
        raise ValueError(f"--cc-news {spec!r}: expected YYYY/MM or YYYY/MM-YYYY/MM")
    first, last = [(int(m.group(1)), int(m.group(2))) for m in (parsed[0], parsed[-1])]
    if not all(1 <= month <= 12 for _, month in (first, last)) or last < first:
        raise ValueError(f"--cc-news {spec!r}: months must be 01-12, the first not after the last")
    return list(_months_between(first, last))


def _months_between(first: tuple[int, int], last: tuple[int, int]) -> Iterator[tuple[int, int]]:
    year, month = first
    while (year, month) <= last:
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def listing_url(base: str, year: int, month: int) -> str:
    return base.rstrip("/") + "/" + LISTING.format(year=year, month=month)


def cc_news_paths(spec: str, base: str, read_bytes: Callable[[str], bytes]) -> list[str]:
    """Every WARC path of the months in ``spec``, as full paths under ``base``; ``read_bytes`` reads a listing."""
    paths: list[str] = []
    for year, month in parse_months(spec):
        listing = read_bytes(listing_url(base, year, month))
        text = gzip.decompress(listing).decode("utf-8") if listing[:2] == b"\x1f\x8b" else listing.decode("utf-8")
        paths.extend(base.rstrip("/") + "/" + line.strip().lstrip("/") for line in text.splitlines() if line.strip())
    return paths
