"""Grid detection and dequantisation (divest.estimators._resolution)."""

import numpy as np
import pytest

from divest.estimators._resolution import dequantize, grid_spacing, resolution


@pytest.mark.parametrize("h, offset", [(0.1, 0.0), (1.0, 0.0), (0.01, 3.0), (0.25, 1000.0),
                                       (7.0, -2.0), (1e-6, 0.5)])
def test_grid_spacing_finds_the_step_of_rounded_data(h, offset):
    rng = np.random.default_rng(0)
    x = offset + h * np.round(rng.standard_normal(3000) * 5)
    assert grid_spacing(x) == pytest.approx(h, rel=1e-9)


def test_grid_spacing_says_none_without_a_grid():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(1000)
    assert grid_spacing(x) is None                    # no ties
    x[:50] = 0.0
    assert grid_spacing(x) is None                    # an atom in continuous data
    assert grid_spacing(np.r_[x[:10], x[:10]]) is None  # duplicated continuous rows
    assert grid_spacing(np.ones(5)) is None           # a single value


def test_grid_spacing_divides_the_smallest_gap():
    # values 0.1, 0.3, 0.6 (and repeats): smallest gap 0.2, grid 0.1
    assert grid_spacing(np.array([0.1, 0.3, 0.3, 0.6, 0.6])) == pytest.approx(0.1)


def test_dequantize_stays_in_the_cells_and_keeps_other_columns():
    rng = np.random.default_rng(2)
    X = np.c_[np.round(rng.standard_normal(500), 1), rng.standard_normal(500)]
    Y = np.c_[np.round(rng.standard_normal(400) + 1, 1), rng.standard_normal(400)]
    spacing = resolution([X, Y])
    assert spacing == [[0.1, None], [0.1, None]]
    Xd, Yd = dequantize([X, Y], spacing, np.random.default_rng(3))
    for a, b in ((X, Xd), (Y, Yd)):
        assert np.all(np.abs(b[:, 0] - a[:, 0]) <= 0.05 + 1e-12)
        assert np.all(np.round(b[:, 0], 1) == a[:, 0])  # each point stays in its cell
        assert np.array_equal(b[:, 1], a[:, 1])
        assert np.unique(b[:, 0]).size == b.shape[0]
