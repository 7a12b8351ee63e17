"""Independent work that repeats, run through joblib.

Every sweep in divest (the GAN comparison, rejection-rate studies, the benchmarks) maps
one function over a list of tasks with :func:`parallel_map`.  Two rules make the results
independent of how the tasks are run:

* **No backend is hard-coded.**  ``joblib.Parallel`` is created with ``n_jobs`` only, so
  ``joblib.parallel_config(backend="dask")`` (with a ``dask.distributed.Client``),
  ``backend="threading"``, Ray's ``register_ray()`` + ``backend="ray"`` or the default
  ``loky`` processes all apply.  ``n_jobs=None`` means "whatever the active
  ``parallel_config`` says" (1, i.e. in this process, when nothing is configured), as
  in scikit-learn.
* **Randomness is handed out before the work starts.**  :func:`spawn_seeds` derives one
  independent ``numpy.random.SeedSequence`` per task from the caller's ``rng`` (NumPy's
  recommended way to seed parallel streams), so task i draws the same numbers whichever
  worker runs it, in whatever order, with any number of workers.

The functions here are internal; public functions take ``n_jobs=`` and ``rng=``.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import _describe

__all__: list[str] = []


def default_threads() -> int:
    """Threads a tree query may use when the caller does not say (``workers=None``).

    The ``OMP_NUM_THREADS`` limit when it is set (joblib sets it in its worker
    processes to the cores per worker, so nested parallelism does not oversubscribe),
    else every core this process may run on, as BLAS does.
    """
    import os
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_n_jobs(n_jobs, name: str = "n_jobs"):
    """``n_jobs`` as joblib reads it: None, or a non-zero integer (-1: all cores)."""
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be None or a non-zero integer (-1 for all cores, as in "
                        f"joblib); got {_describe(n_jobs)}")
    if int(n_jobs) == 0:
        raise ValueError(f"{name} must be None or a non-zero integer (-1 for all cores, as "
                         f"in joblib); got 0")
    return int(n_jobs)


def spawn_seeds(rng, k: int) -> list[np.random.SeedSequence]:
    """``k`` independent seed sequences derived from ``rng`` (int, Generator, SeedSequence
    or None).

    An int or a SeedSequence is the root (a SeedSequence is copied, not advanced), so
    ``spawn_seeds(7, k)[i]`` is the same for every ``k > i``: adding tasks to a sweep
    does not change the earlier ones.  A Generator spawns from its own seed sequence
    (advancing its spawn counter, as ``Generator.spawn`` does: the next call gives new
    seeds), None from fresh OS entropy.
    """
    if isinstance(rng, np.random.SeedSequence):
        # a copy: spawning advances a SeedSequence, and the same rng must give the same seeds
        root = np.random.SeedSequence(rng.entropy, spawn_key=rng.spawn_key,
                                      pool_size=rng.pool_size)
    elif rng is None or isinstance(rng, (numbers.Integral, np.integer)) and not isinstance(rng, bool):
        if rng is not None and int(rng) < 0:
            raise ValueError(f"rng must be a non-negative integer seed; got {int(rng)}")
        root = np.random.SeedSequence(None if rng is None else int(rng))
    elif isinstance(rng, np.random.Generator):
        return [g.bit_generator.seed_seq for g in rng.spawn(k)]
    else:
        raise TypeError(f"rng must be None, an int, a numpy.random.Generator or a "
                        f"numpy.random.SeedSequence; got {_describe(rng)}")
    return root.spawn(k)


def parallel_iter(fn, tasks, *, n_jobs=None):
    """Yield ``fn(*task)`` for each task, in the order of ``tasks``, as they finish
    (``joblib.Parallel(n_jobs=n_jobs, return_as="generator")``)."""
    from joblib import Parallel, delayed

    jobs = (delayed(fn)(*t) for t in tasks)
    try:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    except ValueError as exc:      # e.g. Ray's backend: results come back all at once
        if "return_as" not in str(exc):
            raise
        parallel = Parallel(n_jobs=n_jobs)
    return iter(parallel(jobs))


def parallel_map(fn, tasks, *, n_jobs=None, progress=False, desc=None, unit="task"):
    """``[fn(*task) for task in tasks]`` run by ``joblib.Parallel(n_jobs=n_jobs)``.

    The results come back in the order of ``tasks`` whatever the backend.  With
    ``progress=True`` a tqdm bar on stderr counts finished tasks.  An exception raised
    by a task (or a worker that dies) propagates: no partial list is returned.
    """
    tasks = list(tasks)
    results = parallel_iter(fn, tasks, n_jobs=n_jobs)
    if not progress:
        return list(results)
    from tqdm.auto import tqdm
    out = []
    with tqdm(total=len(tasks), desc=desc, unit=unit) as bar:
        for result in results:
            out.append(result)
            bar.update(1)
    return out
