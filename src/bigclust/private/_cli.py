"""``bigclust private-kmeans``: run the one-round private k-means protocol on a file.

Every row of the input is treated as one user. The command checks its options and
output paths before reading the input, writes ``-o``/``--output`` (also named
``--centers``), ``--labels`` and ``--report`` all or nothing
(:mod:`bigclust._core.outputs`), then prints its summary (privacy spent, timings) on
stdout, as one JSON object with ``--json``. It never prints data values, nor
statistics of the input (its k-means cost is not in the summary: that is for whoever
holds the input, ``score(X)``).
"""

from __future__ import annotations

__all__ = ["register"]

_OPTIONS_HELP = """\
The options are checked before INPUT is read. Outputs: -o/--output (also --centers)
the centres (without it they are in the summary, key cluster_centers), --labels
the nearest centre of each row, --report the fit's report_. A planted: INPUT is
drawn with --seed, or with seed 0 when --seed is not given (the privacy noise then
still comes from the OS CSPRNG).

"""

#: the keys of the summary (``--json``), in order; ``None`` (JSON null) where one does not apply.
#: ``cost`` is always null: the cost on the input is a statistic of private data, not of the release.
#: ``n_centers`` (the name of bigclust 0.2) equals ``n_clusters``.
SUMMARY_KEYS = ("command", "input", "n_reports", "n_features", "n_clusters", "n_centers", "n_distinct_centers",
                "cost", "model", "protocol", "epsilon", "delta", "epsilon_histogram", "epsilon_vector", "private_randomness",
                "cluster_centers", "fit_seconds", "total_seconds", "peak_memory_mb", "outputs")


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


def _load(spec: str, columns: str | None, header: str, seed: int | None = None):
    """INPUT as a float matrix: ``planted:N,D,K``, ``dataset:NAME`` or a file read by
    :func:`bigclust._core.io.read_matrix` (whose messages name a bad cell by row and column,
    never by its value: the input is private)."""
    from .._core.command import load_points

    return load_points(spec, columns, header, seed)[0]


def _outputs(args):
    """The command's outputs, checked now (before any work); see :mod:`bigclust._core.outputs`."""
    from .._core.outputs import ARRAY, JSON, Outputs

    outs = Outputs(inputs=[args.input])
    outs.add("--output", args.output, ARRAY)
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
        verbose=not args.quiet,
    )
    if args.shuffle:
        model = ShuffleDPKMeans(args.n_clusters, delta=1e-6 if args.delta is None else args.delta,
                                protocol=args.shuffle_protocol or "amplified-local", **common)
    else:
        if args.delta is not None:
            raise ValueError("--delta applies to --shuffle only (the local protocol is pure epsilon-DP).")
        if args.shuffle_protocol is not None:
            raise ValueError("--shuffle-protocol applies to --shuffle only.")
        model = LocalDPKMeans(args.n_clusters, **common)
    validate_params(model)
    if not args.shuffle:  # the local budget is --epsilon itself: its split can be checked now
        share = default_histogram_share(args.tree) if args.histogram_share is None else args.histogram_share
        try:
            split_epsilon(args.epsilon, share)
        except ValueError as exc:  # the same bound, in the command's own option names
            raise ValueError("--" + str(exc).replace("histogram_share", "--histogram-share")) from None
    return model


def _handler(args) -> int:
    import time

    from .._core.command import planted_spec, print_summary, progress
    from .._core.io import write_array, write_json

    t0 = time.perf_counter()
    if args.input.startswith("planted:"):
        planted_spec(args.input)
    model = _model(args)
    outs = _outputs(args)
    X = _load(args.input, args.columns, args.header, args.seed)
    with progress(args) as verbose:
        model.set_params(verbose=verbose)
        model.fit(X)
    rep = model.report_
    writers = {
        "--output": lambda tmp: write_array(tmp, model.cluster_centers_, suffix=outs.suffix("--output")),
        "--labels": lambda tmp: write_array(tmp, model.labels_, suffix=outs.suffix("--labels")),
        "--report": lambda tmp: write_json(tmp, rep),
    }
    outs.write({k: w for k, w in writers.items() if k in outs})  # all or nothing; the summary only after
    written = {"output": args.output, "labels": args.labels, "report": args.report}
    summary = {
        "command": "private-kmeans",
        "input": args.input,
        "n_reports": rep["n_reports"],
        "n_features": int(model.n_features_in_),
        "n_clusters": rep["n_centers"],
        "n_centers": rep["n_centers"],
        "n_distinct_centers": rep["n_distinct_centers"],
        "cost": None,
        "model": rep["model"],
        "protocol": rep.get("protocol", "amplified-local" if args.shuffle else "local"),
        "epsilon": rep["epsilon"],
        "delta": rep["delta"],
        "epsilon_histogram": rep.get("epsilon_histogram"),
        "epsilon_vector": rep.get("epsilon_vector"),
        "private_randomness": rep["private_randomness"],
        "cluster_centers": None if args.output else model.cluster_centers_.tolist(),
        "fit_seconds": round(rep["total_seconds"], 3),
        "total_seconds": round(time.perf_counter() - t0, 3),
        "peak_memory_mb": round(rep["peak_memory_mb"], 1),
        "outputs": {k: v for k, v in written.items() if v is not None},
    }
    print_summary(args, summary, SUMMARY_KEYS)
    return 0


def register(subparsers) -> None:
    import argparse

    from .._core.command import COMMON_HELP, POINTS_INPUT_HELP, add_common, add_n_clusters

    p = subparsers.add_parser(
        "private-kmeans",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=POINTS_INPUT_HELP + "\n" + _OPTIONS_HELP + COMMON_HELP + "\nExamples:\n"
        "  bigclust private-kmeans points.npy -k 8 --epsilon 1 --radius 1 -o centres.npy\n"
        "  bigclust private-kmeans planted:100000,4,8 -k 8 --epsilon 4 --radius 90 --json",
        help="one-round local-DP (or shuffle-DP) k-means; each input row is one user",
        description=(
            "Run the one-round private k-means protocol (Chang et al. 2021) on a file: each row "
            "is encoded as one user's epsilon-LDP report, then decoded into k centres. "
            "Rows are mapped by (x - center)/radius and clipped to the unit ball; --radius and "
            "--center must be public knowledge, not computed from the data."
        ),
    )
    p.add_argument("input", metavar="INPUT", help="points, one user per row (see below)")
    add_n_clusters(p, required=True, help="number of clusters")
    p.add_argument("--epsilon", type=float, required=True,
                   help="privacy budget in (0, 64] (local; central with --shuffle)")
    p.add_argument("--shuffle", action="store_true",
                   help="shuffle model: central (epsilon, delta)-DP behind a trusted shuffler (see --shuffle-protocol)")
    p.add_argument("--shuffle-protocol", choices=("amplified-local", "shuffle"), default=None,
                   help="with --shuffle: amplified-local (default; one local report per user, amplified by "
                        "shuffling, error grows like sqrt(n)) or shuffle (the paper's Theorem 2 multi-message "
                        "protocol: error independent of n, needs about 28,000 users at d = 100, eps = 1, and "
                        "sends many messages per user)")
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
    p.add_argument("--columns", help="comma-separated feature columns (CSV with header, Parquet)")
    p.add_argument("--header", choices=("auto", "yes", "no"), default="auto",
                   help="whether line 1 of a CSV/TSV INPUT holds column names: yes, no, or auto (default: a "
                        "header only when none of its fields is a number, so no numeric row is ever dropped)")
    p.add_argument("--labels", metavar="FILE",
                   help="write the nearest centre of each row (.npy, .csv, .tsv or .txt); computed by whoever holds "
                        "INPUT after the release, not part of the private release")
    add_common(p, output_names=("--centers",),
               output_help="write the centres here (.npy, .csv, .tsv or .txt; also named --centers); without it "
                           "they are in the summary",
               report_help="write the fit's report_ (privacy spent, times, tree) as JSON",
               seed_default=None,
               seed_help="seed ALL randomness incl. privacy noise (experiments only; default: OS CSPRNG), and a "
                         "planted: INPUT (default 0)")
    p.set_defaults(func=_handler)
