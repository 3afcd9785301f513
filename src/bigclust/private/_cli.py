"""``bigclust private-kmeans``: run the one-round private k-means protocol on a file.

Every row of the input is treated as one user. The command checks its options and
output paths before reading the input, writes ``--centers`` (alias ``-o``/``--output``),
``--labels`` and ``--report`` all or nothing (:mod:`bigclust._core.outputs`), then
prints a JSON summary (privacy spent, timings, tree statistics) on stdout. It never
prints data values.
"""

from __future__ import annotations

import json
import sys

__all__ = ["register"]

_INPUT_HELP = """\
INPUT is one of
  a file          .npy (2-D array), .csv/.tsv/.txt (optionally gzip, bzip2 or xz
                  compressed, recognised by content; see --header), or .parquet
                  (file or directory of parts)
  dataset:NAME    a data set shipped beside the repo (shared/data), e.g. dataset:magic;
                  see bigclust.datasets.DATASETS

The options are checked before INPUT is read, and the outputs (--centers,
--labels, --report) before the fit (known suffix, writable folder, not the input,
not each other); they are written all or nothing, each to a temporary file beside
it renamed into place once all are written, and the JSON summary is printed only
then. Errors are one line on stderr, never quoting a value of INPUT: exit status 2
for a problem with the input, options or paths, 1 for anything else (--debug
shows the traceback).
"""


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
    from ._protocol import RADIUS_RANGE

    if text == "unit":
        return "unit"
    low, high = RADIUS_RANGE
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--radius must be a number in [{low:g}, {high:g}] or 'unit'.") from None
    if not low <= value <= high:  # also NaN
        raise ValueError(f"--radius must be a number in [{low:g}, {high:g}] or 'unit'.")
    return value


def _load(spec: str, columns: str | None, header: str):
    """INPUT as a float matrix: ``dataset:NAME`` or a file read by :func:`bigclust._core.io.read_matrix`
    (whose messages name a bad cell by row and column, never by its value: the input is private)."""
    if spec.startswith("dataset:"):
        from ..datasets import load_dataset

        return load_dataset(spec.split(":", 1)[1]).X
    from .._core.io import read_matrix

    return read_matrix(spec, columns=columns.split(",") if columns else None, header=header)


def _outputs(args):
    """The command's outputs, checked now (before any work); see :mod:`bigclust._core.outputs`."""
    from .._core.outputs import ARRAY, JSON, Outputs

    outs = Outputs(inputs=[args.input])
    outs.add("--centers", args.output, ARRAY)
    outs.add("--labels", args.labels, ARRAY)
    outs.add("--report", args.report, JSON)
    outs.check()
    return outs


def _model(args):
    """The estimator of the command, its parameters checked (before the input is read)."""
    from .._core.validation import validate_params
    from ._accounting import default_histogram_share, split_epsilon
    from ._estimator import LocalDPKMeans, ShuffleDPKMeans
    from ._protocol import MAX_EPSILON

    if not 0.0 < args.epsilon <= MAX_EPSILON:  # also NaN
        raise ValueError(f"--epsilon must be in (0, {MAX_EPSILON:g}] (a larger local budget gives no privacy).")
    common = dict(
        epsilon=args.epsilon,
        radius=_parse_radius(args.radius),
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
    validate_params(model)
    if not args.shuffle:  # the local budget is --epsilon itself: its split can be checked now
        share = default_histogram_share(args.tree) if args.histogram_share is None else args.histogram_share
        try:
            split_epsilon(args.epsilon, share)
        except ValueError as exc:  # the same bound, in the command's own option names
            raise ValueError("--" + str(exc).replace("histogram_share", "--histogram-share")) from None
    return model


def _handler(args) -> int:
    from .._core.io import write_array, write_json

    model = _model(args)
    outs = _outputs(args)
    X = _load(args.input, args.columns, args.header)
    model.fit(X)
    rep = dict(model.report_)
    rep.pop("decoder_histogram_sigma_per_level", None)
    summary = {"command": "private-kmeans", "input": args.input, "n_clusters": args.k, **rep}
    if not args.output:
        summary["cluster_centers"] = model.cluster_centers_.tolist()
    writers = {
        "--centers": lambda tmp: write_array(tmp, model.cluster_centers_, suffix=outs.suffix("--centers")),
        "--labels": lambda tmp: write_array(tmp, model.labels_, suffix=outs.suffix("--labels")),
        "--report": lambda tmp: write_json(tmp, model.report_),
    }
    outs.write({k: w for k, w in writers.items() if k in outs})  # all or nothing; the summary only after
    json.dump(summary, sys.stdout, default=float)
    sys.stdout.write("\n")
    return 0


def register(subparsers) -> None:
    import argparse

    p = subparsers.add_parser(
        "private-kmeans",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_INPUT_HELP,
        help="one-round local-DP (or shuffle-DP) k-means; each input row is one user",
        description=(
            "Run the one-round private k-means protocol (Chang et al. 2021) on a file: each row "
            "is encoded as one user's epsilon-LDP report, then decoded into k centres. "
            "Rows are mapped by (x - center)/radius and clipped to the unit ball; --radius and "
            "--center must be public knowledge, not computed from the data."
        ),
    )
    p.add_argument("input", metavar="INPUT", help="points, one user per row (see below)")
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
    p.add_argument("--columns", help="comma-separated feature columns (CSV with header, Parquet)")
    p.add_argument("--header", choices=("auto", "yes", "no"), default="auto",
                   help="whether line 1 of a CSV/TSV INPUT holds column names: yes, no, or auto (default: a "
                        "header only when none of its fields is a number, so no numeric row is ever dropped)")
    p.add_argument("-o", "--output", "--centers", dest="output", metavar="FILE", default=None,
                   help="write the centres here (.npy, .csv, .tsv or .txt); without it they are in the summary")
    p.add_argument("--labels", metavar="FILE",
                   help="write the nearest centre of each row (.npy, .csv, .tsv or .txt); computed by whoever holds "
                        "INPUT after the release, not part of the private release")
    p.add_argument("--report", metavar="FILE", help="write the fit's report_ (privacy spent, times, tree) as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    p.set_defaults(func=_handler)

