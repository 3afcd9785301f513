"""The API reference (docs/api, Sphinx autodoc of the docstrings) builds with warnings as errors, so a
docstring that stops parsing or a documented name that disappears fails the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_api_reference_builds_without_warnings(tmp_path):
    pytest.importorskip("sphinx", reason="the docs need the [docs] extra (also in [dev])")
    out = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-E", "-b", "html",
         str(ROOT / "docs" / "api"), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    html = (tmp_path / "html" / "lshtree.html").read_text()
    # the reference holds what the code has: the estimators' public methods and fitted attributes
    for name in ("LSHTreeKMeans.score", "LSHTreeKMeans.transform", "LSHTreeKMeans.feature_names_in_",
                 "LSHTreeKMedian.fit"):
        assert f'id="bigclust.lshtree.{name}"' in html, name
    assert 'id="bigclust.plot.tree"' in (tmp_path / "html" / "plot.html").read_text()
    assert 'id="bigclust.limit_threads"' in (tmp_path / "html" / "conventions.html").read_text()
