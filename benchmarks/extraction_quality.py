"""Extraction quality per language: ``python -m pipeline run`` on real news pages against ground truth.

What users get is measured: every page is written as an ``.html`` input file, the pipeline runs
as a subprocess (FnApiRunner, no story catalog), and the ``articles`` and ``rejects`` tables are
read back with pyarrow. trafilatura alone (``bare_extraction``, comments off, metadata on) runs
on the same pages in this process, and ``--before REV`` runs the pipeline of an earlier commit
(``git archive`` into a temporary folder) in the same invocation, so all figures are side by side.

Scores per page, averaged per group (language/country) and over all pages:
- body: bag-of-words precision/recall/F1 over lowercased tokens of ``transforms.normalise.tokens``
  (words of spaced scripts, single characters of CJK/Thai/…); a rejected page scores 0;
- title: exact match after NFKC and whitespace collapsing;
- date: the same calendar day as the ground truth (its UTC day or its local day);
- authors: the same set of names (casefolded);
- rejects: pages that became a rejects row (reason counted).

Corpora (each skipped when absent): ``fundus-multilingual`` (74 pages, 15 countries; title, authors,
date, body), ``fundus`` (80 English pages; body only) and ``wcxb`` (WCXB dev, 711 pages; title,
author, date, body; ``--wcxb-limit`` takes the first N).

``--candidates`` instead scores candidate second extractors offline, each through the pipeline's
own cleaning (``clean_paragraphs``): trafilatura's modes (default, ``favor_recall``,
``favor_precision``, ``fast``), ``readability-lxml`` and ``resiliparse`` (skipped, with one line,
when not installed), plus the per-page best of all of them (an upper bound for any per-page
choice). Per corpus and on even/odd pages (tune on one half, check on the other): body F1, the
difference to trafilatura, pages won and lost (by > 0.005), pages worse by > 0.05, CPU ms/page.

    python benchmarks/extraction_quality.py --before main --wcxb-limit 200
    python benchmarks/extraction_quality.py --candidates
    make bench-extraction
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from transforms.normalise.tokens import has_unspaced_script, word_tokens  # noqa: E402

EXTRACTION = REPO.parent / "shared" / "data" / "extraction"
TOO_SHORT = ("too_little_text",)


@dataclass(frozen=True)
class Truth:
    """Ground truth of one page; None where the corpus doesn't say."""

    body: str
    title: str | None = None
    authors: frozenset[str] | None = None
    published: str | None = None


@dataclass(frozen=True)
class Page:
    name: str
    group: str
    html: bytes
    truth: Truth
    corpus: str = ""


@dataclass
class Found:
    """What one extractor produced for one page (``reject`` set when it produced nothing)."""

    body: str = ""
    title: str | None = None
    authors: tuple[str, ...] = ()
    published: dt.datetime | None = None
    reject: str | None = None


@dataclass
class Scores:
    f1: list[float] = field(default_factory=list)
    title: list[bool] = field(default_factory=list)
    date: list[bool] = field(default_factory=list)
    authors: list[bool] = field(default_factory=list)
    rejects: Counter = field(default_factory=Counter)

    def add(self, page: Page, found: Found) -> float:
        f1 = 0.0 if found.reject else token_f1(found.body, page.truth.body)
        self.f1.append(f1)
        if found.reject:
            self.rejects[found.reject] += 1
        if page.truth.title is not None:
            self.title.append(_norm(found.title or "") == _norm(page.truth.title))
        if page.truth.published is not None:
            self.date.append(same_day(found.published, page.truth.published))
        if page.truth.authors is not None:
            self.authors.append(frozenset(_norm(a).casefold() for a in found.authors) == page.truth.authors)
        return f1


# --- corpora ------------------------------------------------------------------


def fundus_multilingual() -> Iterator[Page]:
    folder = EXTRACTION / "fundus-multilingual"
    truth = json.loads((folder / "ground_truth.json").read_text())
    for name, gt in sorted(truth.items()):
        authors = gt.get("authors") or []
        authors = ast.literal_eval(authors) if isinstance(authors, str) else authors
        yield Page(
            name,
            gt["country"],
            gzip.decompress((folder / "html" / f"{name}.gz").read_bytes()),
            Truth(gt["body"], gt["title"], frozenset(_norm(a).casefold() for a in authors), gt["publishing_date"]),
            "fundus-multilingual",
        )


def fundus_english() -> Iterator[Page]:
    folder = EXTRACTION / "fundus"
    truth = json.loads((folder / "ground_truth.json").read_text())
    for name, gt in sorted(truth.items()):
        html = gzip.decompress((folder / "html" / name).read_bytes())
        yield Page(name.removesuffix(".gz"), "fundus-en", html, Truth("\n".join(gt["body"])), "fundus")


def wcxb(limit: int | None) -> Iterator[Page]:
    folder = EXTRACTION / "wcxb-dev-articles"
    for number, path in enumerate(sorted((folder / "ground-truth").glob("*.json"))):
        if limit is not None and number >= limit:
            return
        gt = json.loads(path.read_text())["ground_truth"]
        if not gt.get("main_content"):
            continue  # one page has no body ground truth: nothing to score
        author = gt.get("author") if isinstance(gt.get("author"), str) else None
        authors = frozenset(_norm(a).casefold() for a in re.split(r"\s*(?:,|;|\band\b|&)\s*", author or "") if a)
        yield Page(
            f"wcxb_{path.stem}.html",
            "wcxb",
            gzip.decompress((folder / "html" / f"{path.stem}.html.gz").read_bytes()),
            Truth(gt["main_content"], gt.get("title"), authors, gt.get("publish_date")),
            "wcxb",
        )


# --- extractors ---------------------------------------------------------------


def run_pipeline(code: Path, pages: list[Page], work: Path) -> dict[str, Found]:
    """``python -m pipeline run`` of the tree at ``code`` over the pages as .html files."""
    inputs, output = work / "in", work / "out"
    inputs.mkdir(parents=True, exist_ok=True)
    for page in pages:
        (inputs / page.name).write_bytes(page.html)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(code)}
    command = [sys.executable, "-m", "pipeline", "run", "--input", str(inputs), "--output", str(output)]
    done = subprocess.run([*command, "--catalog", ""], cwd=code, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pipeline at {code} exited {done.returncode}:\n{done.stderr[-3000:]}")
    found: dict[str, Found] = {}
    for row in _rows(output / "articles"):
        name = row["source_uri"].rsplit("/", 1)[-1]
        found[name] = Found(row["text"], row["title"], tuple(row["authors"] or ()), row["published_at"])
    for row in _rows(output / "rejects"):
        found.setdefault(row["source_uri"].rsplit("/", 1)[-1], Found(reject=row["reason"]))
    return found


def _rows(folder: Path) -> list[dict]:
    files = sorted(folder.rglob("*.parquet")) if folder.is_dir() else []
    return [row for path in files for row in pq.read_table(path).to_pylist()]


def run_trafilatura(pages: list[Page]) -> dict[str, Found]:
    """trafilatura alone, as the pipeline calls it, on the same bytes."""
    import trafilatura

    found = {}
    for page in pages:
        try:
            doc = trafilatura.bare_extraction(page.html, include_comments=False, with_metadata=True)
        except Exception as error:  # noqa: BLE001 - a failure is a score of 0, not a crash of the benchmark
            found[page.name] = Found(reject=type(error).__name__)
            continue
        if doc is None or not doc.text:
            found[page.name] = Found(reject="no_text")
            continue
        authors = tuple(a.strip() for a in (doc.author or "").split(";") if a.strip())
        published = dt.datetime.fromisoformat(doc.date).replace(tzinfo=dt.UTC) if doc.date else None
        found[page.name] = Found(doc.text, doc.title, authors, published)
    return found


def _trafilatura_text(html: bytes, **options) -> str:
    import trafilatura

    doc = trafilatura.bare_extraction(html, include_comments=False, with_metadata=False, **options)
    return doc.text if doc is not None and doc.text else ""


def _readability_text(html: bytes) -> str:
    import lxml.html
    from readability import Document

    root = lxml.html.fromstring(Document(html).summary(html_partial=True))
    blocks = root.iter("p", "li", "h1", "h2", "h3", "h4", "pre", "td", "blockquote")
    return "\n".join(text for block in blocks if (text := " ".join(block.text_content().split())))


def _resiliparse_text(html: bytes) -> str:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    return extract_plain_text(bytes_to_str(html, detect_encoding(html)), main_content=True, list_bullets=False)


CANDIDATES = {
    "trafilatura": (None, lambda html: _trafilatura_text(html)),
    "traf_recall": (None, lambda html: _trafilatura_text(html, favor_recall=True)),
    "traf_precision": (None, lambda html: _trafilatura_text(html, favor_precision=True)),
    "traf_fast": (None, lambda html: _trafilatura_text(html, fast=True)),
    "readability": ("readability", _readability_text),
    "resiliparse": ("resiliparse", _resiliparse_text),
}


def run_candidates(pages: list[Page]) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Body F1 per candidate and page (after the pipeline's cleaning), and CPU ms per page."""
    import importlib.util
    import time

    from transforms.normalise.cleaning import clean_paragraphs, split_paragraphs

    scores: dict[str, dict[str, float]] = {}
    cpu: dict[str, float] = {}
    for label, (module, extract) in CANDIDATES.items():
        if module and importlib.util.find_spec(module) is None:
            print(f"{label}: not installed, skipped")
            continue
        scores[label], spent = {}, 0.0
        for page in pages:
            started = time.process_time()
            try:
                text = extract(page.html)
            except Exception:  # noqa: BLE001 - a failure is a score of 0, not a crash of the benchmark
                text = ""
            spent += time.process_time() - started
            cleaned = "\n\n".join(clean_paragraphs(split_paragraphs(text)))
            scores[label][page.name] = token_f1(cleaned, page.truth.body)
        cpu[label] = 1000 * spent / len(pages)
    scores["best_per_page"] = {page.name: max(s[page.name] for s in scores.values()) for page in pages}
    return scores, cpu


def print_candidates(pages: list[Page], scores: dict[str, dict[str, float]], cpu: dict[str, float]) -> None:
    base = scores["trafilatura"]
    head = f"{'candidate':<16}{'corpus/half':<26}{'pages':>6}{'F1':>8}{'vs traf':>9}"
    print(f"{head}{'won':>5}{'lost':>5}{'>0.05':>6}{'ms':>7}")
    for label, by_page in scores.items():
        for corpus in dict.fromkeys(page.corpus for page in pages):
            for half in ("even", "odd", "all"):
                names = [
                    p.name
                    for i, p in enumerate(pages)
                    if p.corpus == corpus and (half == "all" or (i % 2 == 0) == (half == "even"))
                ]
                mean = sum(by_page[n] for n in names) / len(names)
                delta = mean - sum(base[n] for n in names) / len(names)
                won = sum(by_page[n] - base[n] > 0.005 for n in names)
                lost = sum(base[n] - by_page[n] > 0.005 for n in names)
                worse = sum(base[n] - by_page[n] > 0.05 for n in names)
                ms = f"{cpu[label]:.1f}" if label in cpu else "-"
                row = f"{label:<16}{corpus + '/' + half:<26}{len(names):>6}{mean:>8.4f}{delta:>+9.4f}"
                print(f"{row}{won:>5}{lost:>5}{worse:>6}{ms:>7}")


# --- scoring ------------------------------------------------------------------


def token_f1(found: str, truth: str) -> float:
    """Bag-of-words F1 over lowercased script-aware tokens (CJK/Thai per character)."""
    got, want = Counter(word_tokens(found.casefold())), Counter(word_tokens(truth.casefold()))
    common = sum((got & want).values())
    if not common:
        return 0.0
    precision, recall = common / sum(got.values()), common / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def same_day(found: dt.datetime | None, truth: str) -> bool:
    try:
        want = dt.datetime.fromisoformat(truth.strip())
    except ValueError:
        return False
    if found is None:
        return False
    days = {want.date()} | ({want.astimezone(dt.UTC).date()} if want.tzinfo else set())
    return found.astimezone(dt.UTC).date() in days


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


# --- report -------------------------------------------------------------------


def measure(pages: list[Page], extractors: dict[str, dict[str, Found]]) -> dict:
    by_group: dict[str, dict[str, Scores]] = defaultdict(lambda: defaultdict(Scores))
    by_corpus: dict[str, dict[str, Scores]] = defaultdict(lambda: defaultdict(Scores))
    overall: dict[str, Scores] = defaultdict(Scores)
    per_page: dict[str, dict[str, float]] = defaultdict(dict)
    unspaced_too_short: dict[str, list[str]] = defaultdict(list)
    for page in pages:
        for label, found in extractors.items():
            result = found.get(page.name, Found(reject="missing"))
            by_group[page.group][label].add(page, result)
            by_corpus[page.corpus][label].add(page, result)
            per_page[page.name][label] = overall[label].add(page, result)
            if result.reject in TOO_SHORT and has_unspaced_script(page.truth.body):
                unspaced_too_short[label].append(page.name)
    return {
        "groups": {g: {label: _summary(s) for label, s in scores.items()} for g, scores in sorted(by_group.items())},
        "corpora": {c: {label: _summary(s) for label, s in scores.items()} for c, scores in sorted(by_corpus.items())},
        "overall": {label: _summary(s) for label, s in overall.items()},
        "per_page": per_page,
        "unspaced_rejected_for_length": dict(unspaced_too_short),
    }


def _summary(scores: Scores) -> dict:
    def mean(values: list) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    return {
        "pages": len(scores.f1),
        "body_f1": mean(scores.f1),
        "title_exact": mean(scores.title),
        "same_day": mean(scores.date),
        "authors_match": mean(scores.authors),
        "rejects": dict(scores.rejects),
    }


def print_report(report: dict, labels: list[str]) -> None:
    metrics = ("body_f1", "title_exact", "same_day", "authors_match")
    header = f"{'group':<20}{'pages':>6}" + "".join(f"{m + ' ' + label:>26}" for m in metrics for label in labels)
    print(header)
    corpora = [(f"={name}", scores) for name, scores in report["corpora"].items()]
    rows = [*report["groups"].items(), *corpora, ("ALL", report["overall"])]
    for group, by_label in rows:
        first = by_label[labels[0]]
        cells = "".join(
            f"{('-' if by_label[label][m] is None else f'{by_label[label][m]:.3f}'):>26}"
            for m in metrics
            for label in labels
        )
        print(f"{group:<20}{first['pages']:>6}{cells}")
    for label in labels:
        print(f"rejects {label}: {report['overall'][label]['rejects']}")
        unspaced = report["unspaced_rejected_for_length"].get(label, [])
        print(f"unspaced-script pages rejected for length, {label}: {unspaced}")
    if "trafilatura" in labels:
        for label in (lab for lab in labels if lab != "trafilatura"):
            worse = {
                name: round(scores["trafilatura"] - scores[label], 3)
                for name, scores in report["per_page"].items()
                if scores["trafilatura"] - scores[label] > 0.05
            }
            print(f"pages worse than trafilatura alone by > 0.05 F1, {label}: {len(worse)} {worse}")


def checkout(rev: str, folder: Path) -> Path:
    """The tree of commit ``rev`` in ``folder`` (git archive; the work tree is untouched)."""
    archive = subprocess.run(["git", "archive", rev], cwd=REPO, capture_output=True, check=True).stdout
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--before", help="also run the pipeline of this git revision (e.g. main)")
    parser.add_argument("--corpus", action="append", choices=("fundus-multilingual", "fundus", "wcxb"))
    parser.add_argument("--wcxb-limit", type=int, default=None, help="only the first N WCXB pages")
    parser.add_argument("--json", type=Path, help="write the full report (per page too) here")
    parser.add_argument("--candidates", action="store_true", help="score candidate second extractors instead")
    args = parser.parse_args(argv)
    corpora = args.corpus or ["fundus-multilingual", "fundus", "wcxb"]
    readers = {
        "fundus-multilingual": fundus_multilingual,
        "fundus": fundus_english,
        "wcxb": lambda: wcxb(args.wcxb_limit),
    }
    folders = {"fundus-multilingual": "fundus-multilingual", "fundus": "fundus", "wcxb": "wcxb-dev-articles"}
    pages = [page for name in corpora if (EXTRACTION / folders[name]).is_dir() for page in readers[name]()]
    if not pages:
        print(f"no corpus found under {os.path.relpath(EXTRACTION, REPO)}; nothing measured")
        return 0
    if args.candidates:
        print_candidates(pages, *run_candidates(pages))
        return 0
    with tempfile.TemporaryDirectory(prefix="extraction-quality-") as tmp:
        work = Path(tmp)
        extractors = {}
        if args.before:
            extractors["before"] = run_pipeline(checkout(args.before, work / "before-code"), pages, work / "before")
        extractors["after"] = run_pipeline(REPO, pages, work / "after")
        extractors["trafilatura"] = run_trafilatura(pages)
    report = measure(pages, extractors)
    print(f"{len(pages)} pages from {', '.join(corpora)}")
    print_report(report, list(extractors))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
