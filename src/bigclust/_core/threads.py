"""Bounding the threads bigclust uses: Numba's parallel kernels and the BLAS/OpenMP pools.

bigclust's compiled kernels (``numba.njit(parallel=True)``: LSH projections, the
tree sweep, Lloyd passes) start as many threads as Numba allows, by default
every core (``NUMBA_NUM_THREADS``), and NumPy/SciPy's BLAS has its own pool of
the same size. On a shared machine, under a job scheduler or inside an
application that parallelises over fits itself (``GridSearchCV(n_jobs=...)``),
both should be bounded; :func:`limit_threads` bounds both at once.
"""

from __future__ import annotations

import numbers
from typing import Any

__all__ = ["limit_threads"]


class limit_threads:  # noqa: N801 - used like a function, as threadpoolctl.threadpool_limits
    """Bound the threads of bigclust's Numba kernels and of the BLAS/OpenMP libraries.

    The limit applies as soon as the object is created. Used as a context
    manager, the previous limits come back on exit; called on its own, the
    limit stays until :meth:`restore` is called (a process-wide setting).

    Parameters
    ----------
    n_threads : int
        Largest number of threads: a positive integer, or ``-1`` for every
        thread Numba was started with (``numba.config.NUMBA_NUM_THREADS``,
        which the environment variable ``NUMBA_NUM_THREADS`` sets before
        Numba is imported; a larger request is capped there, since Numba
        cannot start threads beyond it).

    Notes
    -----
    Numba's setting belongs to the calling thread (``numba.set_num_threads``):
    a fit started from another thread is not bounded by a limit set here. The
    BLAS and OpenMP pools are bounded through threadpoolctl (installed with
    scikit-learn) for the whole process. The Spark engine's executors are
    configured by Spark (``spark_options["master"]``, e.g. ``"local[2]"``),
    not here.

    Examples
    --------
    >>> import bigclust
    >>> from bigclust import LSHTreeKMeans
    >>> from bigclust.datasets import make_planted_mixture
    >>> X, _, _ = make_planted_mixture(500, 4, 3, random_state=0)
    >>> with bigclust.limit_threads(1):
    ...     km = LSHTreeKMeans(3, random_state=0).fit(X)
    """

    def __init__(self, n_threads: int):
        if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
            raise TypeError("n_threads must be a positive integer or -1.")
        n_threads = int(n_threads)
        if n_threads < 1 and n_threads != -1:
            raise ValueError("n_threads must be a positive integer or -1.")
        import numba
        from threadpoolctl import threadpool_limits

        ceiling = int(numba.config.NUMBA_NUM_THREADS)
        self.n_threads: int = ceiling if n_threads == -1 else min(n_threads, ceiling)
        self._numba_before: int = int(numba.get_num_threads())
        numba.set_num_threads(self.n_threads)
        # -1 lifts the BLAS limit to what the libraries had at start-up (None = leave them as they are)
        self._pools: Any = threadpool_limits(limits=None if n_threads == -1 else self.n_threads)

    def restore(self) -> None:
        """Put back the limits that were in force when this object was created."""
        import numba

        numba.set_num_threads(self._numba_before)
        self._pools.restore_original_limits()

    def __enter__(self) -> "limit_threads":
        return self

    def __exit__(self, *exc) -> None:
        self.restore()

    def __repr__(self) -> str:
        return f"limit_threads({self.n_threads})"
