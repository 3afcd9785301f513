"""Packaging: one version source, the files a user expects (LICENSE, CHANGELOG, py.typed) in the wheel,
extras that install what their code imports, and ``python -m bigclust``."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import bigclust

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "bigclust"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# distributions that provide an imported top-level module under another name, or come with another
IMPORT_TO_DIST = {"sklearn": "scikit-learn", "llvmlite": "numba", "mpl_toolkits": "matplotlib"}


def _req_name(req: str) -> str:
    return re.split(r"[\s\[<>=!~;]", req.strip(), maxsplit=1)[0].lower()


def _third_party_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("bigclust", "__future__")}


def test_version_is_written_once():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "bigclust.__version__"}
    # the one assignment, a literal setuptools reads without importing the package
    init = ast.parse((SRC / "__init__.py").read_text())
    assigned = [n.value.value for n in init.body if isinstance(n, ast.Assign)
                and any(getattr(t, "id", None) == "__version__" for t in n.targets)]
    assert assigned == [bigclust.__version__]
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]\d+|rc\d+|\.dev\d+)?", bigclust.__version__)
    # no other source file spells the version
    pattern = re.compile(r"""["']""" + re.escape(bigclust.__version__) + r"""["']""")
    others = [p for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC]
    assert not [str(p) for p in others if pattern.search(p.read_text())]
    # the changelog has a section for it (or for the work not yet released)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{bigclust.__version__}]" in changelog


def test_installed_metadata_matches_when_installed_from_this_tree():
    from importlib import metadata

    try:
        dist = metadata.distribution("bigclust")
    except metadata.PackageNotFoundError:
        pytest.skip("bigclust is not installed (run from the source tree)")
    direct = dist.read_text("direct_url.json") or ""
    if ROOT.as_uri() not in direct:
        pytest.skip("the installed bigclust was built from another checkout")
    assert dist.version == bigclust.__version__


def test_minimum_pins_hold_what_the_code_uses():
    project = PYPROJECT["project"]
    assert project["requires-python"] == ">=3.11"  # BaseException.add_note
    assert sys.version_info >= (3, 11)
    deps = {_req_name(r): r for r in project["dependencies"]}
    assert deps["numpy"].replace(" ", "") == "numpy>=2.0"  # np.bitwise_count in the private encoder
    import numpy as np

    assert hasattr(np, "bitwise_count")
    assert project["license"] == "BSD-3-Clause" and (ROOT / "LICENSE").read_text().startswith("BSD 3-Clause")
    assert "Typing :: Typed" in project["classifiers"]


def test_every_import_is_a_dependency_or_in_the_extra_of_its_code():
    project = PYPROJECT["project"]
    base = {_req_name(r) for r in project["dependencies"]}
    extras = {k: {_req_name(r) for r in v} for k, v in project["optional-dependencies"].items()}
    # optional code paths -> the extra that must install what they import
    where = {"lshtree/_spark": "spark", "spark": "spark", "plot": "plot"}
    # modules that import an optional package lazily, naming the extra in their error/docs
    lazy_ok = {"pyarrow": "parquet", "pandas": "spark", "networkx": "networkx", "pyspark": "spark",
               "matplotlib": "plot", "pyrosm": "geo"}
    missing = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        extra = next((e for prefix, e in where.items() if rel.startswith(prefix)), None)
        for mod in _third_party_imports(path):
            dist = IMPORT_TO_DIST.get(mod, mod).lower()
            if dist in base or (extra and dist in extras[extra]) or (mod in lazy_ok and dist in extras[lazy_ok[mod]]):
                continue
            missing.append((rel, mod))
    assert not missing, missing
    # the spark engine imports pyspark.sql, pandas (pandas UDFs) and pyarrow (mapInArrow)
    assert {"pyspark", "pandas", "pyarrow"} <= extras["spark"]
    assert any(r.startswith("pyspark[sql]") for r in project["optional-dependencies"]["spark"])
    # dev runs every test: it holds the plot extra and the spark extra
    assert extras["plot"] <= extras["dev"] and extras["spark"] <= extras["dev"]
    # and nothing that needs an older scikit-learn than the newest (diffprivlib has its own extra)
    assert "diffprivlib" not in extras["dev"] and "diffprivlib" in extras["compare-dp"]


def test_py_typed_is_in_the_package_data():
    assert (SRC / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["bigclust"]


def test_python_dash_m_bigclust_runs_the_cli():
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-m", "bigclust", "--help"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "kmeans" in out.stdout


@pytest.mark.slow
def test_wheel_ships_py_typed_license_and_the_version(tmp_path):
    """Build the wheel as pip would (isolated build with the declared build requirements)."""
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0 and re.search(r"(No matching distribution|Could not find a version|connection)",
                                         out.stderr, re.I):
        pytest.skip("the build requirements cannot be fetched here")
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = tmp_path.glob("bigclust-*.whl")
    assert wheel.name.startswith(f"bigclust-{bigclust.__version__}-")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "bigclust/py.typed" in names
        assert "bigclust/__main__.py" in names
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = zf.read(meta_name).decode()
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert f"\nVersion: {bigclust.__version__}\n" in meta
    assert "\nRequires-Python: >=3.11\n" in meta
    assert "\nLicense-Expression: BSD-3-Clause\n" in meta
    assert "Classifier: Typing :: Typed" in meta
    assert re.search(r"Requires-Dist: pyspark\[sql\]>=4\.0; extra == \"spark\"", meta)
