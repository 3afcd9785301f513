"""Reading a numeric CSV: bigclust.read_matrix (pyarrow, and without it numpy) beside pandas and numpy.

Prints one JSON line per reader: ``reader, n, d, seconds, equal`` (bit-for-bit equal to the array
written with ``%.17g``). Usage: ``python benchmarks/io_csv_read.py [--n 200000] [--d 10]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--d", type=int, default=10)
    args = ap.parse_args()
    X = np.random.default_rng(0).standard_normal((args.n, args.d))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.csv")
        np.savetxt(path, X, delimiter=",", fmt="%.17g")
        from bigclust._core import io as bio

        def no_pyarrow():
            saved = sys.modules.get("pyarrow")
            sys.modules["pyarrow"] = None
            try:
                return bio.read_matrix(path)
            finally:
                if saved is None:
                    del sys.modules["pyarrow"]
                else:
                    sys.modules["pyarrow"] = saved

        readers = {
            "bigclust.read_matrix (pyarrow)": lambda: bio.read_matrix(path),
            "bigclust.read_matrix (no pyarrow: numpy)": no_pyarrow,
            "numpy.loadtxt": lambda: np.loadtxt(path, delimiter=",", ndmin=2),
        }
        try:
            import pandas as pd

            readers["pandas.read_csv"] = lambda: pd.read_csv(path, header=None, dtype=np.float64).to_numpy()
        except ImportError:
            pass
        for name, fn in readers.items():
            t = time.perf_counter()
            got = fn()
            emit(reader=name, n=args.n, d=args.d, seconds=time.perf_counter() - t, equal=bool(np.array_equal(got, X)))


if __name__ == "__main__":
    main()
