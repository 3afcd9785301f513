"""The kmeans/kmedian command line and point-file reading."""

import gzip
import json
import subprocess
import sys

import numpy as np
import pytest

from bigclust.cli import main
from bigclust.datasets import make_planted_mixture
from bigclust._core.io import read_matrix, write_array


@pytest.fixture(scope="module")
def points():
    X, y, _ = make_planted_mixture(600, 4, 3, random_state=0)
    return X, y


def test_read_npy_csv_tsv_gz(tmp_path, points):
    X, _ = points
    np.save(tmp_path / "a.npy", X)
    assert np.array_equal(read_matrix(tmp_path / "a.npy"), X)
    np.savetxt(tmp_path / "a.csv", X, delimiter=",", header="f0,f1,f2,f3", comments="")
    assert np.allclose(read_matrix(tmp_path / "a.csv"), X)
    assert np.allclose(read_matrix(tmp_path / "a.csv", columns=["f1", "f3"]), X[:, [1, 3]])
    np.savetxt(tmp_path / "b.tsv", X, delimiter="\t")
    assert np.allclose(read_matrix(tmp_path / "b.tsv"), X)
    with gzip.open(tmp_path / "c.csv.gz", "wt") as fh:
        np.savetxt(fh, X, delimiter=",")
    assert np.allclose(read_matrix(tmp_path / "c.csv.gz"), X)


def test_read_parquet_file_directory_and_vector_column(tmp_path, points):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    X, _ = points
    table = pa.table({f"f{j}": X[:, j] for j in range(4)} | {"name": pa.array(["x"] * len(X))})
    pq.write_table(table, tmp_path / "a.parquet")
    assert np.allclose(read_matrix(tmp_path / "a.parquet"), X)  # the string column is skipped
    (tmp_path / "dir").mkdir()
    pq.write_table(table.slice(0, 300), tmp_path / "dir" / "part-0.parquet")
    pq.write_table(table.slice(300), tmp_path / "dir" / "part-1.parquet")
    assert np.allclose(read_matrix(tmp_path / "dir"), X)
    vec = pa.table({"features": pa.array(X.tolist(), type=pa.list_(pa.float64()))})
    pq.write_table(vec, tmp_path / "v.parquet")
    assert np.allclose(read_matrix(tmp_path / "v.parquet"), X)


def test_read_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_matrix(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("a,b\n1,x\n")
    with pytest.raises(ValueError, match="non-numeric"):
        read_matrix(tmp_path / "bad.csv")
    (tmp_path / "p.json").write_text("{}")
    with pytest.raises(ValueError, match="Unsupported"):
        read_matrix(tmp_path / "p.json")
    with pytest.raises(ValueError, match="Unsupported"):
        write_array(tmp_path / "x.json", np.zeros(3))


def test_cli_kmeans_writes_labels_centers_report(tmp_path, points, capsys):
    X, y = points
    np.save(tmp_path / "x.npy", X)
    code = main(["kmeans", str(tmp_path / "x.npy"), "-k", "3", "--labels", str(tmp_path / "l.npy"),
                 "--centers", str(tmp_path / "c.csv"), "--report", str(tmp_path / "r.json"), "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "n_clusters" in out and "cost" in out
    labels = np.load(tmp_path / "l.npy")
    centers = np.loadtxt(tmp_path / "c.csv", delimiter=",")
    assert labels.shape == (600,) and centers.shape == (3, 4)
    assert np.allclose(centers, [X[labels == c].mean(0) for c in range(3)])
    assert "time" in json.loads((tmp_path / "r.json").read_text())
    assert main(["kmeans", str(tmp_path / "x.npy"), "-k", "3", "--candidates", "two_hop", "--quiet",
                 "--report", str(tmp_path / "r2.json")]) == 0
    assert json.loads((tmp_path / "r2.json").read_text())["tree_info"]["candidates"] == "two_hop"


def test_cli_kmedian_planted_and_errors(capsys):
    assert main(["kmedian", "planted:500,3,4", "-k", "4", "--quiet", "--refine", "2"]) == 0
    assert "n_clusters" in capsys.readouterr().out
    assert main(["kmeans", "/nonexistent/file.csv", "-k", "2", "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["kmeans", "planted:10,2,2", "-k", "11", "--quiet"]) == 2
    assert "larger than the number of samples" in capsys.readouterr().err
    assert main(["kmeans", "planted:abc", "-k", "2"]) == 2


def test_cli_entry_point_help():
    out = subprocess.run([sys.executable, "-m", "bigclust.cli", "kmeans", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "dataset:NAME" in out.stdout and "--refine" in out.stdout


def test_private_client_import_does_not_load_numba():
    code = "import sys, bigclust.private; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "False"
