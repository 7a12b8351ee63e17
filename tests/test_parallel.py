"""Sweeps through joblib: the same results for any backend and any number of workers
(serial, loky processes, threads, a dask.distributed LocalCluster, Ray where it installs)."""

import importlib.util

import numpy as np
import pytest
from joblib import parallel_config

import divest
from divest._parallel import check_n_jobs, parallel_map, spawn_seeds


def _shifted(rng):
    return rng.normal(size=(40, 2)), rng.normal(0.4, size=(40, 2))


def _null(rng):
    return rng.normal(size=(30, 1)), rng.normal(size=(30, 1))


STUDY = dict(n_repetitions=12, n_permutations=99, rng=2024)


@pytest.fixture(scope="module")
def serial():
    return divest.rejection_rate(_shifted, "mmd", **STUDY)


def _same(a, b):
    assert np.array_equal(a.pvalues, b.pvalues)
    assert np.array_equal(a.rejections, b.rejections)
    assert (a.rate, a.confidence_interval, a.statistic_name) == \
        (b.rate, b.confidence_interval, b.statistic_name)


def test_spawned_seeds_do_not_depend_on_how_many():
    a, b = spawn_seeds(7, 3), spawn_seeds(7, 10)
    for x, y in zip(a, b):
        assert np.array_equal(np.random.default_rng(x).random(4),
                              np.random.default_rng(y).random(4))
    draws = {np.random.default_rng(s).random() for s in b}
    assert len(draws) == 10                                   # independent streams
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    assert [s.entropy for s in spawn_seeds(g1, 2)] == [s.entropy for s in spawn_seeds(g2, 2)]
    root = np.random.SeedSequence(1)
    assert [s.spawn_key for s in spawn_seeds(root, 2)] == [(0,), (1,)]
    assert [s.spawn_key for s in spawn_seeds(root, 2)] == [(0,), (1,)]   # not advanced
    with pytest.raises(ValueError, match="rng must be a non-negative integer seed; got -1"):
        spawn_seeds(-1, 2)
    with pytest.raises(TypeError, match="rng must be"):
        spawn_seeds("7", 2)


@pytest.mark.parametrize("bad, err", [(0, ValueError), (1.5, TypeError), ("2", TypeError),
                                      (True, TypeError)])
def test_n_jobs_is_checked(bad, err):
    with pytest.raises(err, match="n_jobs"):
        check_n_jobs(bad)
    with pytest.raises(err, match="n_jobs"):
        divest.rejection_rate(_null, n_repetitions=2, n_jobs=bad)


def test_rejection_rate_is_the_fraction_of_single_tests(serial):
    """Repetition i is two_sample_test on sample(rng_i) with rng_i from the spawned seeds."""
    seeds = spawn_seeds(STUDY["rng"], STUDY["n_repetitions"])
    for i in (0, 5, 11):
        g = np.random.default_rng(seeds[i])
        X, Y = _shifted(g)
        res = divest.two_sample_test(X, Y, "mmd", n_permutations=99, rng=g, alpha=0.05)
        assert res.pvalue == serial.pvalues[i] and res.reject == serial.rejections[i]
    assert serial.rate == serial.rejections.mean() == np.mean(serial.pvalues <= 0.05)
    k, R = int(serial.rejections.sum()), serial.n_repetitions
    assert serial.standard_error == pytest.approx(np.sqrt(k / R * (1 - k / R) / R))
    lo, hi = serial.confidence_interval
    assert lo <= serial.rate <= hi
    with pytest.raises(ValueError, match="read-only"):
        serial.pvalues[0] = 0.0


def test_loky_and_threads_give_the_serial_result(serial):
    _same(divest.rejection_rate(_shifted, "mmd", n_jobs=2, **STUDY), serial)
    with parallel_config(backend="threading"):
        _same(divest.rejection_rate(_shifted, "mmd", n_jobs=2, **STUDY), serial)
    with parallel_config(backend="loky", n_jobs=2):          # n_jobs from the config
        _same(divest.rejection_rate(_shifted, "mmd", **STUDY), serial)


def test_dask_local_cluster_gives_the_serial_result(serial, dask_client):
    with parallel_config(backend="dask"):
        res = divest.rejection_rate(_shifted, "mmd", n_jobs=-1, **STUDY)
    _same(res, serial)
    assert len(dask_client.scheduler_info()["workers"]) == 2


@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="ray is not installed (it is not in the dask extra; "
                           "pip install ray to run this test)")
def test_ray_gives_the_serial_result(serial):
    import ray
    from ray.util.joblib import register_ray
    register_ray()
    import os
    here = os.path.dirname(os.path.abspath(__file__))   # Ray's workers import this module
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": here}})
    try:
        with parallel_config(backend="ray"):
            _same(divest.rejection_rate(_shifted, "mmd", n_jobs=2, **STUDY), serial)
    finally:
        ray.shutdown()


def test_level_study_under_the_null():
    """Under P = Q the rate of a level-0.2 permutation test is 0.2 up to binomial error."""
    res = divest.rejection_rate(_null, "energy", n_repetitions=150, alpha=0.2,
                                n_permutations=99, rng=3, n_jobs=2)
    assert abs(res.rate - 0.2) < 3.5 * np.sqrt(0.2 * 0.8 / 150)
    lo, hi = res.confidence_interval
    assert lo < 0.2 < hi


def _bad_sample(rng):
    return rng.normal(size=(10, 1))


def _failing(rng):
    raise RuntimeError("sampler broke")


def test_bad_samplers_raise_and_report_nothing():
    with pytest.raises(TypeError, match="sample must be a callable"):
        divest.rejection_rate(np.zeros((3, 1)))
    with pytest.raises(TypeError, match=r"must return a tuple \(X, Y\)"):
        divest.rejection_rate(_bad_sample, n_repetitions=2)
    with pytest.raises(RuntimeError, match="sampler broke"):
        divest.rejection_rate(_failing, n_repetitions=4, n_jobs=2)
    with pytest.raises(ValueError, match="statistic"):
        divest.rejection_rate(_null, "nope")
    with pytest.raises(TypeError, match="unknown option.*'bandwdith'"):
        divest.rejection_rate(_failing, n_repetitions=2, bandwdith=1.0)   # before sampling


def _square(x):
    return x * x


def _die(x):
    import os
    if x == 3:
        os._exit(1)
    return x


def test_parallel_map_keeps_order_and_propagates_a_dead_worker():
    assert parallel_map(_square, [(i,) for i in range(7)], n_jobs=2) == [i * i for i in range(7)]
    assert parallel_map(_square, [(2,)], n_jobs=1, progress=True) == [4]
    from joblib.externals.loky.process_executor import TerminatedWorkerError
    with pytest.raises(TerminatedWorkerError):
        parallel_map(_die, [(i,) for i in range(6)], n_jobs=2)


def _rows(report):
    return [(r.name, r.method, r.value, r.standard_error, r.exact, r.z, r.status,
             r.interval, r.claimed, r.note) for r in report.rows]


def test_crosscheck_is_the_same_for_any_n_jobs_and_backend(dask_client):
    from divest import reference
    pair = reference.get_pair("mean-shift-d1")
    kw = dict(names=["kl", "js", "tv"], methods=["closed_form", "quadrature", "monte_carlo",
                                                   "knn", "ulsif"],
              n=2000, n_samples=400, rng=5)
    one = divest.crosscheck(pair.P, pair.Q, **kw)
    assert {r.method for r in one.rows} >= {"monte_carlo", "knn", "ulsif"}
    two = divest.crosscheck(pair.P, pair.Q, n_jobs=2, **kw)
    with parallel_config(backend="dask"):
        cluster = divest.crosscheck(pair.P, pair.Q, n_jobs=-1, **kw)
    assert _rows(two) == _rows(one) and _rows(cluster) == _rows(one)
    assert one.failures == two.failures == cluster.failures
    other = divest.crosscheck(pair.P, pair.Q, **{**kw, "rng": 6})
    assert _rows(other) != _rows(one)                   # the seed matters
