"""The kmeans/kmedian command line and point-file reading."""

import gzip
import json
import os
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
    with pytest.raises(ValueError, match=r"data row 1 \(line 2\), column 2 is not a number"):
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


# --------------------------------------------------------------------------- issue 22: reader and outputs


def _csv_variants(tmp_path, X):
    rows = "\n".join(",".join(repr(float(v)) for v in r) for r in X) + "\n"
    (tmp_path / "plain.csv").write_text(rows)
    (tmp_path / "crlf.csv").write_bytes(rows.replace("\n", "\r\n").encode())
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + rows.encode())
    (tmp_path / "head.csv").write_text('"f0","f1","f2","f3"\n' + rows)
    (tmp_path / "blank.csv").write_text(rows + "\n\n")
    (tmp_path / "gz.csv").write_bytes(gzip.compress(rows.encode()))  # gzip content, plain name
    import bz2
    import lzma
    (tmp_path / "b.csv.bz2").write_bytes(bz2.compress(rows.encode()))
    (tmp_path / "x.tsv.xz").write_bytes(lzma.compress(rows.replace(",", "\t").encode()))
    return ["plain.csv", "crlf.csv", "bom.csv", "head.csv", "blank.csv", "gz.csv", "b.csv.bz2", "x.tsv.xz"]


@pytest.mark.parametrize("backend", ["pyarrow", "numpy", "scanner"])
def test_csv_reader_keeps_every_numeric_row_exactly(tmp_path, points, backend, monkeypatch):
    """Every variant reads back X bit for bit (repr round-trips) with every parser; BOM, CRLF, quoting,
    blank lines and compression by content included. The header rule never drops a numeric row."""
    from bigclust._core import io as bio

    if backend != "pyarrow":
        monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow raises ImportError
        if backend == "scanner":
            monkeypatch.setattr(bio, "_read_numpy", lambda *a: None)
    else:
        pytest.importorskip("pyarrow")
    X, _ = points
    for name in _csv_variants(tmp_path, X):
        got = read_matrix(tmp_path / name)
        assert got.shape == X.shape and np.array_equal(got, X), name
    assert np.array_equal(read_matrix(tmp_path / "head.csv", columns=["f3", "f1"]), X[:, [3, 1]])
    with pytest.raises(ValueError, match=r"data row 1 \(line 1\), column 1 .*'f0'.* is not a number|"
                                         r"data row 1 \(line 1\), column 1 is not a number"):
        read_matrix(tmp_path / "head.csv", header="no")
    # header=yes on a header-less file drops row 1 only because it was asked to
    assert np.array_equal(read_matrix(tmp_path / "plain.csv", header="yes"), X[1:])


@pytest.mark.parametrize("backend", ["pyarrow", "careful"])
@pytest.mark.parametrize("text, pattern", [
    ("1,2.5x,3\n4,5,6\n", r"data row 1 \(line 1\), column 2 is not a number \(line 1 was read as data"),
    ("a,b,c\n4,5,6\n7,,9\n", r"data row 2 \(line 3\), column 2 is empty"),
    ("a,b,c\n4,5,6\n7,8\n", r"data row 2 \(line 3\) has 2 field\(s\), expected 3"),
    ("a,b,c\n", "no data rows after its header"),
    ("1,2,3\n4,NA,6\n", r"data row 2 \(line 2\), column 2 is not a number"),
])
def test_csv_errors_name_row_and_column_never_the_value(tmp_path, backend, text, pattern, monkeypatch):
    if backend == "careful":
        monkeypatch.setitem(sys.modules, "pyarrow", None)
    else:
        pytest.importorskip("pyarrow")
    (tmp_path / "f.csv").write_text(text)
    with pytest.raises(ValueError, match=pattern) as err:
        read_matrix(tmp_path / "f.csv")
    assert "2.5x" not in str(err.value) and "NA," not in str(err.value)


def test_binary_and_compressed_errors_are_one_clear_line(tmp_path):
    X = np.arange(6.0).reshape(3, 2)
    np.save(tmp_path / "x.npy", X)
    raw = (tmp_path / "x.npy").read_bytes()
    cases = {
        "empty.npy": (b"", r"is empty \(0 bytes\)"),
        "trunc.npy": (raw[:64], "truncated|not a valid .npy"),
        "junk.npy": (b"not an npy file at all", "not a valid .npy"),
        "gz.npy": (gzip.compress(raw), "gzip-compressed; .npy inputs must be plain"),
        "bad.csv.gz": (gzip.compress("".join(f"{float(v)!r},1\n" for v in np.random.default_rng(0).random(200)).encode())
                       [:-100], "corrupt or truncated compressed"),
        "nocrc.csv.gz": (gzip.compress(b"1,2\n3,4\n" * 50)[:-4], "corrupt or truncated compressed"),
        "z.csv": (b"\x28\xb5\x2f\xfd" + b"\0" * 20, "zstd-compressed, which bigclust does not read"),
        "u16.csv": ("1,2\n3,4\n".encode("utf-16"), "UTF-16"),
        "latin.csv": (b"1,2\n3,\xe94\n", "not UTF-8 text"),
    }
    for name, (data, pattern) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=pattern) as err:
            read_matrix(tmp_path / name)
        assert "\n" not in str(err.value), name


def test_outputs_check_refuses_before_any_work(tmp_path):
    from bigclust._core.outputs import ARRAY, JSON, OutputError, Outputs

    (tmp_path / "in.csv").write_text("1,2\n")
    (tmp_path / "ro.npy").write_bytes(b"x")
    (tmp_path / "ro.npy").chmod(0o444)
    cases = [
        (("--labels", tmp_path / "l.parquet", ARRAY), "unknown suffix"),
        (("--report", tmp_path, JSON), "is a folder"),
        (("--labels", tmp_path / "in.csv", ARRAY), "would overwrite the input"),
        (("--labels", tmp_path / "missing" / "l.npy", ARRAY), "does not exist"),
        (("--labels", tmp_path / "in.csv" / "l.npy", ARRAY), "is not a folder"),
    ]
    if os.geteuid() != 0:  # root may write anything
        cases.append((("--labels", tmp_path / "ro.npy", ARRAY), "read-only"))
    for (option, path, kind), pattern in cases:
        outs = Outputs(inputs=[tmp_path / "in.csv", "planted:1,2,3"])
        outs.add(option, path, kind)
        with pytest.raises(OutputError, match=pattern):
            outs.check()
    outs = Outputs()
    outs.add("--labels", tmp_path / "a.csv", ARRAY)
    outs.add("--centers", tmp_path / "sub" / ".." / "a.csv", ARRAY)
    (tmp_path / "sub").mkdir()
    with pytest.raises(OutputError, match="--centers and --labels name the same file"):
        outs.check()


def test_outputs_are_all_or_nothing_when_a_rename_fails(tmp_path, monkeypatch):
    """The second rename fails: the first output (already in place) is rolled back to its old content."""
    from bigclust._core import outputs as O

    (tmp_path / "a.npy").write_bytes(b"old a")
    (tmp_path / "b.csv").write_bytes(b"old b")
    outs = O.Outputs()
    outs.add("--labels", tmp_path / "a.npy", O.ARRAY)
    outs.add("--centers", tmp_path / "b.csv", O.ARRAY)
    real = os.replace
    calls = []

    def flaky(src, dst):
        calls.append((src, dst))
        if str(dst) == str(tmp_path / "b.csv") and ".tmp" in str(src):  # the new b.csv cannot be moved in
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(O.os, "replace", flaky)
    with pytest.raises(O.OutputWriteError, match="every old file was restored"):
        outs.write({"--labels": lambda p: write_array(p, np.arange(3), suffix=".npy"),
                    "--centers": lambda p: write_array(p, np.ones((2, 2)), suffix=".csv")})
    monkeypatch.setattr(O.os, "replace", real)
    assert (tmp_path / "a.npy").read_bytes() == b"old a" and (tmp_path / "b.csv").read_bytes() == b"old b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "b.csv"]
    outs.write({"--labels": lambda p: write_array(p, np.arange(3), suffix=".npy"),
                "--centers": lambda p: write_array(p, np.ones((2, 2)), suffix=".csv")})
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "b.csv"]


def test_write_array_csv_round_trips_exactly(tmp_path):
    C = np.random.default_rng(0).standard_normal((5, 3)) * 1e-7
    write_array(tmp_path / "c.csv", C)
    assert np.array_equal(np.loadtxt(tmp_path / "c.csv", delimiter=","), C)


@pytest.mark.parametrize("backend", ["numpy", "scanner"])
def test_read_delimited_whitespace_any_name_for_other_families(tmp_path, backend, monkeypatch):
    """read_delimited is the reusable reader (graph edge lists): whitespace runs, any file name,
    compression by content, the same header rule and row/column errors."""
    from bigclust._core import io as bio

    if backend == "scanner":
        monkeypatch.setattr(bio, "_read_numpy", lambda *a: None)
    (tmp_path / "g.edges").write_bytes(gzip.compress(b"src  dst\tw\n0 1   2.5\n1\t2 9007199254740992\n"))
    E = bio.read_delimited(tmp_path / "g.edges", delimiter="whitespace")
    assert E.shape == (2, 3) and E[1, 2] == 2.0 ** 53 and E[0, 2] == 2.5
    (tmp_path / "h.txt").write_text("0 1 2.5\n1 2 x\n")
    with pytest.raises(ValueError, match=r"data row 2 \(line 2\), column 3 is not a number"):
        bio.read_delimited(tmp_path / "h.txt", delimiter="whitespace")
    with pytest.raises(ValueError, match="is a folder"):
        bio.read_delimited(tmp_path, delimiter=",")
