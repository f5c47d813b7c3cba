"""The language model loads in a thread started early, once, and is ready when the extraction step waits."""

import subprocess
import sys

from tests.conftest import REPO

CHECK = """
import py3langid.langid as langid
from transforms.run import prewarm
prewarm.wait()  # nothing started: returns at once
assert langid.IDENTIFIER is None
prewarm.language_model()
prewarm.language_model()  # a second start starts nothing
prewarm.wait()
assert langid.IDENTIFIER is not None
loaded = langid.IDENTIFIER
from transforms.text.extract import identify_language
assert identify_language("Der Zug kam mit zwei Stunden Verspätung in Hamburg an.") == "de"
assert langid.IDENTIFIER is loaded  # loaded once
"""


def test_the_language_model_loads_once_in_a_thread_started_early():
    result = subprocess.run([sys.executable, "-c", CHECK], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
