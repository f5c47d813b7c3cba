"""Benchmark story clustering on story-labelled JSON Lines files.

Usage: python benchmarks/clustering.py FILE [FILE...]

Each line needs ``id``, ``story`` (gold label), ``date`` (ISO-8601 or null),
``title``, ``text`` and optionally ``lang``. Runs exactly what the pipeline runs
(``vectorize`` then ``StoryClusterer.add`` in ``publication_order_key`` order,
default configs) and prints BCubed P/R/F1, pairwise F1 and ms/article.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Mapping

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transforms.story_clustering import (  # noqa: E402
    ClusteringConfig,
    StoryClusterer,
    VectorizerConfig,
    publication_order_key,
    vectorize,
)


@dataclass(frozen=True)
class Result:
    articles: int
    gold_stories: int
    predicted_stories: int
    b3_precision: float
    b3_recall: float
    b3_f1: float
    pairwise_f1: float
    ms_per_article: float


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
    pairs = lambda sizes: sum(n * (n - 1) // 2 for n in sizes)  # noqa: E731
    joint = Counter((gold[a], pred[a]) for a in gold)
    both = pairs(joint.values())
    pred_pairs, gold_pairs = pairs(Counter(pred.values()).values()), pairs(Counter(gold.values()).values())
    return _f1(both / pred_pairs if pred_pairs else 1.0, both / gold_pairs if gold_pairs else 1.0)


def _date(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def run(
    path: Path,
    config: ClusteringConfig = ClusteringConfig(),
    vectorizer: VectorizerConfig = VectorizerConfig(),
) -> Result:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    start = time.perf_counter()
    vectors = {r["id"]: vectorize(r.get("title"), r.get("text") or "", r.get("lang"), config=vectorizer) for r in rows}
    clusterer = StoryClusterer(config=config)
    ordered = sorted(rows, key=lambda r: publication_order_key(_date(r.get("date")), r["id"]))
    pred = {r["id"]: clusterer.add(r["id"], vectors[r["id"]], _date(r.get("date")), r.get("title")) for r in ordered}
    elapsed = time.perf_counter() - start
    gold = {r["id"]: str(r["story"]) for r in rows}
    p, r, f = bcubed(gold, pred)
    return Result(
        articles=len(rows), gold_stories=len(set(gold.values())), predicted_stories=len(clusterer.stories()),
        b3_precision=p, b3_recall=r, b3_f1=f, pairwise_f1=pairwise_f1(gold, pred),
        ms_per_article=1000 * elapsed / max(len(rows), 1),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    print(f"{'file':<24} {'articles':>8} {'gold':>6} {'pred':>6} {'B3-P':>6} {'B3-R':>6} {'B3-F1':>6} {'pair-F1':>7} {'ms/art':>7}")
    for path in args.files:
        res = run(path)
        print(
            f"{path.name:<24} {res.articles:>8} {res.gold_stories:>6} {res.predicted_stories:>6} "
            f"{res.b3_precision:>6.3f} {res.b3_recall:>6.3f} {res.b3_f1:>6.3f} {res.pairwise_f1:>7.3f} {res.ms_per_article:>7.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
