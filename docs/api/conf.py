"""Sphinx configuration of the API reference (built from the docstrings).

Build: ``python -m sphinx -W --keep-going -b html docs/api docs/api/_build`` (warnings are errors, so a
docstring that no longer parses, or a name that no longer exists, fails the build);
tests/test_docs.py runs it.
"""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "src")))

import bigclust  # noqa: E402

project = "bigclust"
author = "the bigclust developers"
copyright = "2026, the bigclust developers"
release = bigclust.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # NumPy-style docstrings
    "sphinx.ext.intersphinx",
]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {
    "members": True,
    "show-inheritance": False,
    # scikit-learn generates these (metadata routing of sample_weight); their docstrings point into its docs
    "exclude-members": "set_fit_request, set_score_request, set_predict_request, set_transform_request, "
                       "set_partial_fit_request, set_output, get_metadata_routing",
}
# optional packages the reference mentions but need not be installed to build it
autodoc_mock_imports = ["pyspark", "matplotlib", "networkx"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
intersphinx_mapping = {}  # no network at build time: cross-references stay inside bigclust
exclude_patterns = ["_build"]
html_theme = "alabaster"


_BARS = None


def _literal_bars(app, what, name, obj, options, lines):
    """Docstrings write absolute values and set sizes as |z| (plain text); reStructuredText would read
    them as substitutions, so bars outside inline literals are escaped and shown as written."""
    import re

    global _BARS
    if _BARS is None:
        _BARS = re.compile(r"(?<![\\`|])\|([^|`\s][^|`]*?)\|(?![`|_])")
    for i, line in enumerate(lines):
        parts = re.split(r"(``.*?``|`[^`]*`)", line)  # leave inline literals and roles alone
        lines[i] = "".join(p if j % 2 else _BARS.sub(r"\\|\1\\|", p) for j, p in enumerate(parts))


def setup(app):
    app.connect("autodoc-process-docstring", _literal_bars)
