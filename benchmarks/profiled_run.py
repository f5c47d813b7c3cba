"""``python -m pipeline`` under cProfile in every thread, on CPU time (``benchmarks/profile_pipeline.py`` runs it).

    python -m benchmarks.profiled_run OUT.prof run --input PAGES --output OUT

``python -m cProfile`` profiles the main thread only, and the extraction step extracts documents in
threads of its own. Here each thread (the main one and every thread started while the run lasts)
has its own profiler on ``time.thread_time``, so waiting costs nothing and every row is CPU time;
at exit the profiles are merged into ``OUT.prof`` and the main thread's alone into
``OUT.prof.main`` (what runs outside bundles there is start-up). ``OUT.prof.children`` holds the
CPU seconds of the child processes that ended (the HTML extraction processes: trafilatura).
"""

from __future__ import annotations

import cProfile
import json
import pstats
import resource
import sys
import threading
import time

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _profile_threads() -> None:
    run = threading.Thread.run

    def profiled(self: threading.Thread) -> None:
        profile = cProfile.Profile(time.thread_time)
        with _lock:
            _profiles.append(profile)
        profile.enable()
        try:
            run(self)
        finally:
            profile.disable()

    threading.Thread.run = profiled  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    out, args = argv[0], argv[1:]
    _profile_threads()
    from pipeline.startup import main as pipeline_main

    main_thread = cProfile.Profile(time.thread_time)
    main_thread.enable()
    try:
        code = pipeline_main(args)
    finally:
        main_thread.disable()
        main_thread.dump_stats(out + ".main")
        merged = pstats.Stats(main_thread)
        with _lock:
            for profile in _profiles:
                profile.disable()
                try:
                    merged.add(profile)
                except TypeError:  # a thread that never ran Python code under its profiler
                    continue
        merged.dump_stats(out)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(out + ".children", "w") as f:
            json.dump({"cpu_s": children.ru_utime + children.ru_stime}, f)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
