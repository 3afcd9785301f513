"""``bigclust private-kmeans``: run the one-round private k-means protocol on a file.

Every row of the input is treated as one user. The command prints a JSON summary
(privacy spent, timings, tree statistics) on stdout and writes the centres with
``--output``. It never prints data values.
"""

from __future__ import annotations

import json
import sys

__all__ = ["register"]


def _levels(text: str, option: str, words=("auto", "deepest", "all")):
    if text in words:
        return text
    try:
        return tuple(int(t) for t in text.split(","))
    except ValueError:
        raise ValueError(f"{option} must be one of {', '.join(words)} or comma-separated level numbers.") from None


def _parse_center(text):
    if text is None:
        return None
    try:
        return [float(t) for t in text.split(",")]
    except ValueError:
        raise ValueError("--center must be comma-separated numbers.") from None


def _parse_radius(text: str):
    if text == "unit":
        return "unit"
    try:
        value = float(text)
    except ValueError:
        raise ValueError("--radius must be a positive number or 'unit'.") from None
    if not (value > 0 and value < float("inf")):
        raise ValueError("--radius must be a positive finite number or 'unit'.")
    return value


def _read_private_matrix(path: str):
    """read_matrix, without the reader's message when it could quote a cell of the file."""
    from .._core.io import read_matrix

    try:
        return read_matrix(path)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError):
        # CSV/Parquet readers quote the offending cell ("could not convert string to
        # float: ..."): the input is private data. Raised below, outside this block, so
        # that the reader's exception is not even chained as context.
        pass
    raise ValueError("the input could not be read as a finite numeric matrix (the offending value "
                     "is not shown: it is private data).")


def _handler(args) -> int:
    from .._core.io import write_array
    from ._estimator import LocalDPKMeans, ShuffleDPKMeans
    from ._protocol import MAX_EPSILON

    if not 0.0 < args.epsilon <= MAX_EPSILON:
        raise ValueError(f"--epsilon must be in (0, {MAX_EPSILON:g}] (a larger local budget gives no privacy).")
    radius = _parse_radius(args.radius)
    X = _read_private_matrix(args.input)
    common = dict(
        epsilon=args.epsilon,
        radius=radius,
        center=_parse_center(args.center),
        n_levels=args.levels,
        tree=args.tree,
        bucket_bits=args.bucket_bits,
        vector_levels=_levels(args.vector_levels, "--vector-levels"),
        histogram_levels=_levels(args.histogram_levels, "--histogram-levels", ("auto", "all")),
        histogram_share=args.histogram_share,
        vector_mechanism=args.vector_mechanism,
        histogram_mechanism=args.histogram_mechanism,
        projection_dim=args.projection_dim,
        public_seed=args.public_seed,
        random_state=args.seed,
        verbose=args.verbose,
    )
    if args.shuffle:
        model = ShuffleDPKMeans(args.k, delta=1e-6 if args.delta is None else args.delta, **common)
    else:
        if args.delta is not None:
            raise ValueError("--delta applies to --shuffle only (the local protocol is pure epsilon-DP).")
        model = LocalDPKMeans(args.k, **common)
    model.fit(X)
    if args.output:
        write_array(args.output, model.cluster_centers_)
    rep = dict(model.report_)
    rep.pop("decoder_histogram_sigma_per_level", None)
    summary = {"command": "private-kmeans", "n_clusters": args.k, **rep}
    if not args.output:
        summary["cluster_centers"] = model.cluster_centers_.tolist()
    json.dump(summary, sys.stdout, default=float)
    sys.stdout.write("\n")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "private-kmeans",
        help="one-round local-DP (or shuffle-DP) k-means; each input row is one user",
        description=(
            "Run the one-round private k-means protocol (Chang et al. 2021) on a file: each row "
            "is encoded as one user's epsilon-LDP report, then decoded into k centres. "
            "Rows are mapped by (x - center)/radius and clipped to the unit ball; --radius and "
            "--center must be public knowledge, not computed from the data."
        ),
    )
    p.add_argument("input", help=".npy, .csv/.tsv (optionally .gz) or .parquet file")
    p.add_argument("-k", type=int, required=True, help="number of clusters")
    p.add_argument("--epsilon", type=float, required=True,
                   help="privacy budget in (0, 64] (local; central with --shuffle)")
    p.add_argument("--shuffle", action="store_true", help="shuffle model: (epsilon, delta)-DP by amplification")
    p.add_argument("--delta", type=float, default=None, help="delta for --shuffle (default 1e-6)")
    p.add_argument("--radius", required=True,
                   help="public bound on ||x - center|| (required; 'unit' for data in the unit ball); not from the data")
    p.add_argument("--center", default=None, help="public centre, comma-separated (default: origin)")
    p.add_argument("--levels", type=int, default=12, help="tree depth T (default 12)")
    p.add_argument("--tree", choices=("simhash", "net"), default="simhash")
    p.add_argument("--bucket-bits", type=int, default=14, help="log2 bucket domain per level (default 14)")
    p.add_argument("--vector-levels", default="auto", help="'auto', 'deepest', 'all' or e.g. '10,11,12'")
    p.add_argument("--histogram-levels", default="auto", help="'auto', 'all' or e.g. '6,12' (must end at --levels)")
    p.add_argument("--histogram-share", type=float, default=None,
                   help="fraction of epsilon for the histogram (default 0.25 simhash, 0.5 net)")
    p.add_argument("--vector-mechanism", choices=("duchi", "coordinate"), default="duchi")
    p.add_argument("--histogram-mechanism", choices=("hadamard", "olh"), default="hadamard",
                   help="frequency oracle: Hadamard response or optimal local hashing")
    p.add_argument("--projection-dim", type=int, default=None, help="net tree: projected dimension d'")
    p.add_argument("--public-seed", type=int, default=None, help="shared public randomness")
    p.add_argument("--seed", type=int, default=None,
                   help="seed ALL randomness incl. privacy noise (experiments only; default: OS CSPRNG)")
    p.add_argument("-o", "--output", default=None, help="write the centres here (.npy or .csv)")
    p.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    p.set_defaults(func=_handler)

