"""Run a command in a child process and measure it: wall time, CPU time, peak memory.

Peak memory is reported two ways: ``max_rss_mb``, the largest resident set any process of the
tree reached (``wait4`` rusage, exact), and ``tree_rss_mb``, the largest sum of the resident
sets of the process and all its descendants, sampled from ``/proc`` every 50 ms (what the
machine had to hold at once when Beam runs several worker processes).
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE_SECONDS = 0.05


@dataclass(frozen=True)
class Measured:
    wall_s: float
    cpu_s: float
    max_rss_mb: float
    tree_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    load: float = 0.0
    """The machine's 1-minute load average when the run ended (other jobs included)."""


def bench_env(tree: Path = REPO) -> dict[str, str]:
    """The environment the Makefile gives the pipeline: one BLAS thread, the checkout ``tree`` importable."""
    return {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(tree)}


def run_measured(args: list[str], cwd: Path = REPO) -> Measured:
    """Runs ``args`` in ``cwd`` (a checkout: its code is the one imported) to completion and measures it; never
    raises on a non-zero exit (see ``returncode``)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, env=bench_env(cwd), stdout=out, stderr=err)
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen doesn't wait again
        sampler.stop()
        out.seek(0), err.seek(0)
        return Measured(
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            max_rss_mb=usage.ru_maxrss / 1024,
            tree_rss_mb=sampler.peak_kb / 1024,
            returncode=proc.returncode,
            stdout=out.read(),
            stderr=err.read(),
            load=os.getloadavg()[0],
        )


def pipeline_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", "run", *args]


def committed_rows(output: Path) -> dict[str, int]:
    """Rows per table of the run written to ``output`` (its run record)."""
    records = [p for p in glob.glob(str(output / "_runs" / "*.json")) if not p.endswith(".summary.json")]
    if len(records) != 1:
        raise RuntimeError(f"expected one run record under {output}/_runs, found {len(records)}")
    return json.loads(Path(records[0]).read_text())["rows"]


def check_ok(measured: Measured, what: str) -> None:
    """A failed run must not become a throughput figure."""
    if measured.returncode != 0:
        tail = "\n".join(measured.stderr.splitlines()[-15:])
        raise RuntimeError(f"{what} exited {measured.returncode}:\n{tail}")


class _TreeSampler(threading.Thread):
    """Polls the summed RSS of a process and its descendants until stopped."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self._pid = pid
        self._stop_event = threading.Event()
        self.peak_kb = 0

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self._pid))
            self._stop_event.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def tree_rss_kb(pid: int) -> int:
    """Summed VmRSS (kB) of ``pid`` and its live descendants; 0 once it is gone."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return total
