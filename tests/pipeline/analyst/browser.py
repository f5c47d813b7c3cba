"""Headless Chromium for the report's tests: screenshots, and the boxes the browser gave every label.

Debian's ``chromium`` (``.ci/run`` installs it). Without it a test skips, except in CI (``CI``
set), where a missing browser fails the test, as a missing engine does for the engines tier.
``label_boxes`` renders a copy of the page with one inline script appended that reads
``getBoundingClientRect()`` of every label and writes the boxes into the DOM, which
``--dump-dom`` prints; the page under test itself stays script-free.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from html import unescape
from pathlib import Path

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LABELS = "#timeline .tick, #timeline .tick-note, #timeline .tl-head, #timeline .story-label, #timeline .tl-total"
"""Every label of the timeline: axis ticks, the undated column's head, story labels, article counts."""
MEASURE = """
<script>
(() => {
  const box = (r) => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom});
  const labels = [...document.querySelectorAll(%s)].map((el) => {
    const clip = el.closest('svg') || el;
    return {
      cls: el.getAttribute('class'), text: el.textContent, box: box(el.getBoundingClientRect()),
      clip: box(clip.getBoundingClientRect()), overflow: el instanceof HTMLElement && el.scrollWidth > el.clientWidth,
      font: getComputedStyle(el).fontFamily,
    };
  });
  const out = document.createElement('pre');
  out.id = 'label-boxes';
  out.textContent = JSON.stringify({labels, viewport: window.innerWidth,
    timeline: box(document.querySelector('#timeline').getBoundingClientRect())});
  document.body.appendChild(out);
})();
</script>
"""


def chromium_or_skip() -> str:
    """The Chromium binary; its absence skips the test, or fails it in CI."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = "headless Chromium is missing: `apt-get install -y chromium chromium-driver` (Debian; .ci/run does it)"
    if os.environ.get("CI"):
        pytest.fail(f"CI renders the report in a browser, and: {message}")
    pytest.skip(message)


def run_chromium(chromium: str, *args: str, width: int = 1280, height: int = 1100) -> subprocess.CompletedProcess:
    """Chromium with the flags this machine needs and a new, empty profile."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}", *args],
            capture_output=True,
            text=True,
            timeout=180,
        )


def screenshot(chromium: str, page: Path, target: Path, width: int = 1280, height: int = 1100) -> Path:
    result = run_chromium(chromium, f"--screenshot={target}", page.as_uri(), width=width, height=height)
    assert target.exists(), result.stderr[-2000:]
    return target


def label_boxes(chromium: str, page: Path, width: int = 1280) -> dict:
    """The label boxes as Chromium laid them out: {'labels': [{cls, text, box, clip, overflow, font}], …}."""
    html = page.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="report-measure-") as folder:
        measured = Path(folder) / "measure.html"
        measured.write_text(html.replace("</body>", MEASURE % json.dumps(LABELS) + "</body>"), encoding="utf-8")
        result = run_chromium(chromium, "--dump-dom", measured.as_uri(), width=width)
    assert result.returncode == 0, result.stderr[-2000:]
    found = re.search(r'<pre id="label-boxes">(.*?)</pre>', result.stdout, re.S)
    assert found, "the measuring script did not run"
    return json.loads(unescape(found.group(1)))


def _overlap(a: dict, b: dict, tolerance: float = 0.5) -> bool:
    return (
        min(a["right"], b["right"]) - max(a["left"], b["left"]) > tolerance
        and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > tolerance
    )


def _inside(inner: dict, outer: dict, tolerance: float = 0.5) -> bool:
    return (
        inner["left"] >= outer["left"] - tolerance
        and inner["right"] <= outer["right"] + tolerance
        and inner["top"] >= outer["top"] - tolerance
        and inner["bottom"] <= outer["bottom"] + tolerance
    )


def label_problems(measured: dict) -> list[str]:
    """Every label that is clipped (outside its SVG, overflowing its cell, off the page) or overlaps another."""
    labels, problems = measured["labels"], []
    for label in labels:
        name = f"{label['cls']} {label['text'][:40]!r}"
        box = label["box"]
        if box["right"] - box["left"] <= 0:
            problems.append(f"{name} has no width (not rendered)")
        if not _inside(box, label["clip"]):
            problems.append(f"{name} is clipped: {box} outside {label['clip']}")
        if label["overflow"]:
            problems.append(f"{name} overflows its cell")
        if not _inside(box, measured["timeline"]) or box["right"] > measured["viewport"]:
            problems.append(f"{name} leaves the timeline or the page: {box}")
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            if _overlap(a["box"], b["box"]):
                problems.append(f"{a['cls']} {a['text'][:30]!r} overlaps {b['cls']} {b['text'][:30]!r}")
    return problems


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, channels and RGB(A) rows of an 8-bit, non-interlaced PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 3 if colour == 2 else 4
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, up_left = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa_, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                line[i] = (line[i] + (left if pa_ <= pb and pa_ <= pc else up if pb <= pc else up_left)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, channels, rows


def pixels_like(path: Path, colour: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels of the screenshot are within ``tolerance`` of ``colour`` in each channel."""
    width, channels, rows = read_png(path)
    return sum(
        1
        for row in rows
        for i in range(0, width * channels, channels)
        if all(abs(a - b) <= tolerance for a, b in zip(row[i : i + 3], colour))
    )
