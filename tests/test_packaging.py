"""`import newsbeam` works from an editable install (make install) and from a wheel, outside the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from tests.conftest import REPO

IMPORT = "import newsbeam, sys; print(newsbeam.__file__); assert callable(newsbeam.run) and callable(newsbeam.open)"


def test_the_editable_install_maps_newsbeam_onto_its_folder_in_pipeline(tmp_path):
    out = subprocess.run([sys.executable, "-c", IMPORT], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(REPO / "pipeline" / "newsbeam" / "__init__.py")


@pytest.mark.slow
def test_a_wheel_holds_newsbeam_as_a_top_level_package_and_it_imports(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(tmp_path / "wheel")],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "wheel").glob("newsbeam-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "newsbeam/__init__.py" in names and "pipeline/cli.py" in names
    assert {n.split("/")[0] for n in names if not n.startswith("newsbeam-")} == {
        "newsbeam",
        "pipeline",
        "transforms",
        "schemas",
    }
    assert not [n for n in names if n.startswith("pipeline/newsbeam/")], "the API is installed once, as newsbeam"
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", IMPORT], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(site / "newsbeam" / "__init__.py")
