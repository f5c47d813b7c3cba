"""Extraction quality of the pipeline's own extraction, scored against the shared ground truth.

    python -m benchmarks.extraction_quality [--data ../shared/data/extraction]

Prints one JSON object: mean per-page bag-of-words word F1 (pages with a ``main_content``) (lower-cased ``\\w+`` tokens; CJK
characters one token each) of ``extract_article``'s text on the WCXB dev pages, the Fundus
English pages and the Fundus multilingual pages, plus the language-ID agreement on the latter.
A page that yields no article scores 0. Use it to check that a speed change changed no result.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemas import Article  # noqa: E402
from transforms.run.context import RunContext  # noqa: E402
from transforms.sources.document import HTML, SourceDocument  # noqa: E402
from transforms.text.extract import extract_article  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "extraction"
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


def tokens(text: str) -> Counter[str]:
    """Lower-cased word tokens; each CJK character is one token."""
    return Counter(_TOKEN.findall(text.lower()))


def word_f1(found: str, truth: str) -> float:
    """Bag-of-words F1 of ``found`` against ``truth``."""
    a, b = tokens(found), tokens(truth)
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return 2 * precision * recall / (precision + recall)


def _article(path: Path, url: str | None, run: RunContext) -> Article | None:
    document = SourceDocument(str(path), HTML, gzip.decompress(path.read_bytes()), url=url)
    result = extract_article(document, run)
    return result if isinstance(result, Article) else None


def _text(article: Article | None) -> str:
    return "" if article is None else "\n".join(filter(None, (article.title, article.text)))


def score_wcxb(folder: Path, run: RunContext) -> dict:
    scores = []
    for truth_path in sorted((folder / "ground-truth").glob("*.json")):
        truth = json.loads(truth_path.read_text())
        expected = truth["ground_truth"]
        if "main_content" not in expected:  # one dev page has only with/without snippets
            continue
        page = folder / "html" / f"{truth_path.stem}.html.gz"
        article = _article(page, truth.get("url"), run)
        scores.append(word_f1("" if article is None else article.text, expected["main_content"]))
    return {"pages": len(scores), "word_f1": sum(scores) / len(scores)}


def score_fundus(folder: Path, run: RunContext, multilingual: bool) -> dict:
    truth = json.loads((folder / "ground_truth.json").read_text())
    scores, languages = [], Counter()
    for name, expected in sorted(truth.items()):
        page = folder / "html" / (name if name.endswith(".gz") else f"{name}.gz")
        article = _article(page, expected.get("url"), run)
        body = expected["body"] if isinstance(expected["body"], str) else "\n".join(expected["body"])
        scores.append(word_f1("" if article is None else article.text, body))
        if article is not None:
            languages[article.language] += 1
    result = {"pages": len(scores), "word_f1": sum(scores) / len(scores)}
    if multilingual:
        result["languages"] = dict(sorted(languages.items()))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    run = RunContext.start()
    result = {
        "wcxb_dev": score_wcxb(args.data / "wcxb-dev-articles", run),
        "fundus": score_fundus(args.data / "fundus", run, multilingual=False),
        "fundus_multilingual": score_fundus(args.data / "fundus-multilingual", run, multilingual=True),
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
