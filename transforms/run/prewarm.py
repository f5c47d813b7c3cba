"""Loads the language model in a thread while the process imports Beam and builds the graph.

py3langid's model (~0.35 s to load, mostly LZMA and zip decompression, which release the GIL)
is needed by the first article of a run. A local run starts ``language_model()`` first thing
(``pipeline/startup.py``); the extraction step's set-up calls ``wait()`` before it uses the model,
so the model loads once, overlapped with the imports. Without a start, ``wait()`` does nothing.
"""

from __future__ import annotations

import threading

_loading: list[threading.Thread] = []


def _load() -> None:
    import py3langid

    py3langid.classify("load the language model")


def language_model() -> None:
    """Starts loading the language model in a daemon thread (once per process)."""
    if not _loading:
        thread = threading.Thread(target=_load, name="newsbeam-language-model", daemon=True)
        thread.start()
        _loading.append(thread)


def wait() -> None:
    """Returns once a load started by ``language_model`` has finished."""
    for thread in _loading:
        thread.join()
