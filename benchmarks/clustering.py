"""Benchmark story clustering: quality as users get it (``python -m pipeline run``) beside the
clusterer alone, on story-labelled JSON Lines files; cost at scale.

Usage:
    python benchmarks/clustering.py FILE [FILE...]        # quality: CLI and clusterer, one row each per file
    python benchmarks/clustering.py --no-cli FILE         # the clusterer alone (fast, for trying settings)
    python benchmarks/clustering.py --cli-arg=--min-words=1 FILE   # options for every CLI run
    python benchmarks/clustering.py --set decay_per_day=0.5 FILE   # try a configuration change (clusterer row)
    python benchmarks/clustering.py --halves FILE     # also each half (by time) alone: overfitting check
    python benchmarks/clustering.py --scale [--quick]    # ms/article and peak RSS at 10k/100k/1M

Each line of FILE needs ``id``, ``story`` (gold label), ``date`` (ISO-8601 or null),
``title``, ``text`` and optionally ``lang``, ``url`` and ``source``.

*cli*: the rows are written as a JSON Lines seed file (``url``, ``title``, ``text``,
``published``, ``source``: the record keys users give) and ``python -m pipeline run`` runs on it
in a subprocess with the default catalog, cleaning, deduplication and near duplicates; the
articles and stories tables are read back with DuckDB and each record is mapped to its story
(``stories.merged_into`` followed to the story that absorbed it). A record that became no
article (a reject) counts as a story of its own, so losing articles costs recall.

*clusterer*: what the ordered step does without the rest of the pipeline: ``vectorize``
every article with the file's ``lang``, ``StoryClusterer.add`` in ``publication_order_key``
order (ties by a hash, as the pipeline's hashed article ids do), assignments from
``stories()``; default configurations.

Both print BCubed P/R/F1, pairwise F1, story counts, and the cost: for the clusterer CPU
ms/article of vectorising (parallel in the pipeline) and of the ordered step apart, for the CLI
the wall seconds of the whole run (start-up included).

``--scale`` needs no data: it generates a stream of synthetic dated articles (2,000 a day:
400 new stories a day over a Zipf vocabulary, with names and figures, 2-10 reports each
over up to two days). Each size runs in a fresh subprocess: five days of articles (the
window plus the two days a story can last: 10,000) warm the clusterer up, then N articles
are timed; it reports the ordered step's CPU ms/article (process time, so that other load on
a shared machine does not count), vectorising apart, and the process's peak RSS. The stream
is consumed as it is generated and retired stories are popped (``pop_retired``), so memory
is what the clusterer's active window holds.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from transforms.stories.clusterer import (  # noqa: E402
    ClusteringConfig,
    StoryClusterer,
    VectorizerConfig,
    publication_order_key,
    vectorize,
)

SCALES = (10_000, 100_000, 1_000_000)


@dataclass(frozen=True)
class Result:
    articles: int
    gold_stories: int
    predicted_stories: int
    b3_precision: float
    b3_recall: float
    b3_f1: float
    pairwise_f1: float
    ms_per_article: float  # clustering step only (the single ordered worker), CPU time; 0 for the CLI
    vectorize_ms_per_article: float  # per article, parallel in the pipeline, CPU time; 0 for the CLI
    how: str = "clusterer"  # "clusterer" or "cli"
    rejected: int = 0  # records that became no article (CLI only): each scored as a story of its own
    duplicates: int = 0  # articles written as duplicates (CLI only)
    wall_s: float = 0.0  # the whole CLI run, start-up included


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def bcubed(gold: Mapping[str, str], pred: Mapping[str, str]) -> tuple[float, float, float]:
    """BCubed precision, recall and F1 over articles (both maps: article -> cluster)."""
    joint = Counter((gold[a], pred[a]) for a in gold)
    gold_size, pred_size = Counter(gold.values()), Counter(pred.values())
    # every article in cell (g, p) has |cell| correct neighbours, itself included
    p = sum(n * n / pred_size[pk] for (_, pk), n in joint.items()) / len(gold)
    r = sum(n * n / gold_size[gk] for (gk, _), n in joint.items()) / len(gold)
    return p, r, _f1(p, r)


def pairwise_f1(gold: Mapping[str, str], pred: Mapping[str, str]) -> float:
    """F1 over same-cluster article pairs."""

    def pairs(sizes) -> int:
        return sum(n * (n - 1) // 2 for n in sizes)

    joint = Counter((gold[a], pred[a]) for a in gold)
    both = pairs(joint.values())
    pred_pairs, gold_pairs = pairs(Counter(pred.values()).values()), pairs(Counter(gold.values()).values())
    return _f1(both / pred_pairs if pred_pairs else 1.0, both / gold_pairs if gold_pairs else 1.0)


def _date(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _order_key(row: Mapping) -> tuple:
    """Publication order with ties (undated rows, equal dates) broken as in the pipeline, by a hash.

    The pipeline's article ids are hashes of the URL or text, so articles with the same date come in
    no particular order. The files' ids name the story (``neus_train0_0``, ``as5835_left``): ordering
    ties by them would feed each story's reports one after the other and flatter the clusterer.
    """
    return publication_order_key(_date(row.get("date")), hashlib.sha256(row["id"].encode()).hexdigest())


def read_rows(path: Path) -> list[dict]:
    """The labelled articles of a JSON Lines file, in publication order (as clustered)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return sorted(rows, key=_order_key)


def run(
    path: Path,
    config: ClusteringConfig = ClusteringConfig(),
    vectorizer: VectorizerConfig = VectorizerConfig(),
) -> Result:
    return run_rows(read_rows(path), config, vectorizer)


def halves(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """First and second half in publication order: two corpora for an overfitting check."""
    return rows[: len(rows) // 2], rows[len(rows) // 2 :]


def scored(rows: list[dict], pred: Mapping[str, str], **fields) -> Result:
    """BCubed and pairwise scores of ``pred`` (article id -> story) against the rows' gold stories."""
    gold = {r["id"]: str(r["story"]) for r in rows}
    p, r, f = bcubed(gold, pred)
    return Result(
        articles=len(rows),
        gold_stories=len(set(gold.values())),
        predicted_stories=len(set(pred.values())),
        b3_precision=p,
        b3_recall=r,
        b3_f1=f,
        pairwise_f1=pairwise_f1(gold, pred),
        **{"ms_per_article": 0.0, "vectorize_ms_per_article": 0.0, **fields},
    )


def run_rows(
    rows: list[dict],
    config: ClusteringConfig = ClusteringConfig(),
    vectorizer: VectorizerConfig = VectorizerConfig(),
) -> Result:
    """The clusterer alone on ``rows``."""
    start = time.process_time()  # CPU time, as in ``scale_once``
    vectors = {r["id"]: vectorize(r.get("title"), r.get("text") or "", r.get("lang"), config=vectorizer) for r in rows}
    vectorized = time.process_time()
    clusterer = StoryClusterer(config=config)
    for r in sorted(rows, key=_order_key):
        clusterer.add(r["id"], vectors[r["id"]], _date(r.get("date")), r.get("title"))
    summaries = clusterer.stories()
    clustered = time.process_time()
    pred = {article_id: s.story_id for s in summaries for article_id in s.article_ids}
    n = max(len(rows), 1)
    return scored(
        rows,
        pred,
        ms_per_article=1000 * (clustered - vectorized) / n,
        vectorize_ms_per_article=1000 * (vectorized - start) / n,
    )


# -- through the CLI -----------------------------------------------------------------------


def seed_record(row: Mapping) -> dict:
    """A labelled row as the JSON Lines record a user would give the pipeline."""
    record = {"url": row.get("url"), "title": row.get("title"), "text": row.get("text"), "published": row.get("date")}
    record["source"] = row.get("source")
    return {k: v for k, v in record.items() if v}


def run_cli_rows(rows: list[dict], cli_args: Sequence[str] = (), workdir: Path | None = None) -> Result:
    """``python -m pipeline run`` on the rows written as a seed file; stories read back with DuckDB."""
    with tempfile.TemporaryDirectory(prefix="bench-clustering-", dir=workdir) as tmp:
        seed, out = Path(tmp) / "articles.jsonl", Path(tmp) / "out"
        seed.write_text("".join(json.dumps(seed_record(r), ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "pipeline", "run", "--input", str(seed), "--output", str(out), *cli_args],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        wall = time.monotonic() - started
        story_of, duplicates = read_cli_stories(out)
    line_ids = {f"{seed}#line={n}": r["id"] for n, r in enumerate(rows, start=1)}
    pred = {line_ids[uri]: story for uri, story in story_of.items()}
    rejected = [r["id"] for r in rows if r["id"] not in pred]
    pred.update((article_id, "rejected:" + article_id) for article_id in rejected)
    return scored(rows, pred, how="cli", rejected=len(rejected), duplicates=duplicates, wall_s=wall)


def read_cli_stories(out: Path) -> tuple[dict[str, str], int]:
    """source_uri -> current story id of every article row, following ``stories.merged_into``; and
    the number of duplicate rows."""
    import duckdb

    articles = f"read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true)"
    stories = f"read_parquet('{out}/stories/*.parquet')"
    con = duckdb.connect()
    columns = {name for name, *_ in con.sql(f"DESCRIBE SELECT * FROM {stories}").fetchall()}
    current = "coalesce(s.merged_into, a.story_id)" if "merged_into" in columns else "a.story_id"
    rows = con.sql(
        f"SELECT a.source_uri, {current}, a.duplicate_of IS NOT NULL FROM {articles} a "
        f"LEFT JOIN {stories} s ON s.story_id = a.story_id"
    ).fetchall()
    return {uri: story for uri, story, _ in rows}, sum(1 for *_, duplicate in rows if duplicate)


# -- scale ---------------------------------------------------------------------------------


def synthetic_stream(n: int, per_day: int = 2000, seed: int = 7) -> Iterator[tuple[str, str, str, datetime]]:
    """(id, title, text, published) of ``n`` dated articles, in publication order.

    Stories start at ``per_day / 5`` a day; each gets 2-10 reports spread over up to two
    days; words come from wordfreq's English list (Zipf-distributed background, rarer story
    words), names are capitalised pairs of rare words, figures are numbers."""
    import wordfreq

    rng = random.Random(seed)
    words = [w for w in wordfreq.top_n_list("en", 30000) if w.isalpha() and len(w) > 2]
    common, rare = words[:3000], words[3000:]
    weights = [1.0 / (i + 10) for i in range(len(common))]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    pending: list[tuple[float, int, int]] = []  # (day offset, story number, report number)
    stories: dict[int, tuple[list[str], list[str], str]] = {}
    emitted, story_no, day = 0, 0, 0.0
    import heapq

    while emitted < n:
        # open the next day's stories, then emit every report due before the day ends
        for _ in range(per_day // 5):
            story_no += 1
            key = rng.sample(rare, 8)
            names = [f"{rng.choice(rare).title()} {rng.choice(rare).title()}" for _ in range(2)]
            stories[story_no] = (key, names, str(rng.randint(10, 99999)))
            born = day + rng.random()
            for report in range(rng.randint(2, 10)):
                heapq.heappush(pending, (born + rng.random() ** 2 * 2.0, story_no, report))
        day += 1.0
        while pending and pending[0][0] < day and emitted < n:
            at, sid, report = heapq.heappop(pending)
            key, names, figure = stories[sid]
            body = rng.choices(common, weights, k=60) + rng.sample(key, 5) + rng.sample(rare, 6)
            rng.shuffle(body)
            title = " ".join([names[0], *rng.sample(key, 3), *rng.choices(common, weights, k=3)])
            text = f"{names[0]} and {names[1]} said {figure} " + " ".join(body) + "."
            emitted += 1
            yield f"a{sid}-{report}", title, text, start + timedelta(days=at)
        for sid in [s for s in stories if s < story_no - per_day]:  # stories whose reports are all out
            del stories[sid]


def scale_once(n: int, per_day: int = 2000) -> dict:
    """Cluster ``n`` synthetic articles after a warm-up until the active window is full;
    time the ordered step and the vectorising apart."""
    clusterer = StoryClusterer()
    # until then the window is still filling: one window of stories, each up to two days long
    warmup = int(per_day * (clusterer.config.window_days + 2))
    vector_s = cluster_s = 0.0
    retired = scored = 0
    for i, (article_id, title, text, published) in enumerate(synthetic_stream(warmup + n, per_day)):
        if i == warmup:
            scored = clusterer.scored
        t0 = time.process_time()  # CPU time: on a shared machine wall time measures the neighbours
        vector = vectorize(title, text)
        t1 = time.process_time()
        clusterer.add(article_id, vector, published, title)
        if i >= warmup:
            cluster_s += time.process_time() - t1
            vector_s += t1 - t0
        if i % 1000 == 999:
            retired += len(clusterer.pop_retired())
    active = len(clusterer.stories())
    return {
        "articles": n,
        "warmup": warmup,
        "cluster_ms": 1000 * cluster_s / n,
        "vectorize_ms": 1000 * vector_s / n,
        "active_stories": active,
        "stories": retired + active,
        "scored_per_article": (clusterer.scored - scored) / n,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def scale(quick: bool) -> int:
    sizes = [s for s in SCALES if not quick or s <= 100_000]
    print(
        f"{'articles':>9} {'cluster ms/art':>14} {'vectorize ms/art':>16} {'stories':>8} {'active':>7} "
        f"{'scored/art':>10} {'peak RSS MB':>11}   (timed after a warm-up of 5 days)"
    )
    results = []
    for n in sizes:  # a fresh process per size: peak RSS is that run's own
        out = subprocess.run(
            [sys.executable, __file__, "--scale-once", str(n)], capture_output=True, text=True, check=True
        )
        res = json.loads(out.stdout)
        results.append(res)
        print(
            f"{n:>9} {res['cluster_ms']:>14.3f} {res['vectorize_ms']:>16.3f} {res['stories']:>8} "
            f"{res['active_stories']:>7} {res['scored_per_article']:>10.1f} {res['peak_rss_mb']:>11.0f}",
            flush=True,
        )
    ratio = results[-1]["cluster_ms"] / results[0]["cluster_ms"]
    print(f"largest/smallest cluster ms/article: {ratio:.2f}x")
    return 0


def _config(assignments: list[str]) -> ClusteringConfig:
    fields = {f.name: f.type for f in dataclasses.fields(ClusteringConfig)}
    values = {}
    for item in assignments:
        name, _, value = item.partition("=")
        if name not in fields:
            raise SystemExit(f"unknown ClusteringConfig field {name!r}")
        values[name] = int(value) if fields[name] in ("int", int) else float(value)
    return ClusteringConfig(**values)


def _print_header() -> None:
    print(
        f"{'file':<26} {'how':<9} {'articles':>8} {'gold':>6} {'pred':>6} {'B3-P':>6} {'B3-R':>6} {'B3-F1':>6} "
        f"{'pair-F1':>7} {'rejects':>7} {'dups':>5} {'cost':>22}"
    )


def _print_row(name: str, res: Result) -> None:
    if res.how == "cli":
        cost = f"{res.wall_s:.1f} s wall (whole run)"
    else:
        cost = f"{res.ms_per_article:.3f}+{res.vectorize_ms_per_article:.3f} ms/art"
    print(
        f"{name:<26} {res.how:<9} {res.articles:>8} {res.gold_stories:>6} {res.predicted_stories:>6} "
        f"{res.b3_precision:>6.3f} {res.b3_recall:>6.3f} {res.b3_f1:>6.3f} {res.pairwise_f1:>7.3f} "
        f"{res.rejected:>7} {res.duplicates:>5} {cost:>22}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--scale", action="store_true", help="synthetic streams of 10k, 100k and 1M articles")
    parser.add_argument("--quick", action="store_true", help="with --scale: stop at 100k")
    parser.add_argument("--scale-once", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE", help="override a ClusteringConfig field"
    )
    parser.add_argument(
        "--halves", action="store_true", help="also run each file's first and second half (by time) alone"
    )
    parser.add_argument("--no-cli", dest="cli", action="store_false", help="the clusterer alone, no pipeline run")
    parser.add_argument(
        "--cli-arg", action="append", default=[], metavar="ARG", help="an option for every pipeline run (repeatable)"
    )
    args = parser.parse_args(argv)
    if args.scale_once:
        print(json.dumps(scale_once(args.scale_once)))
        return 0
    if args.scale:
        return scale(args.quick)
    if not args.files:
        parser.error("give FILE... or --scale")
    config = _config(args.set)
    _print_header()
    for path in args.files:
        rows = read_rows(path)
        parts = [(path.stem, rows)]
        if args.halves:
            first, second = halves(rows)
            parts += [(f"{path.stem} 1st half", first), (f"{path.stem} 2nd half", second)]
        for name, part in parts:
            if args.cli:
                _print_row(name, run_cli_rows(part, args.cli_arg))
            _print_row(name, run_rows(part, config))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
