"""mode_metrics as PacGAN's code defines it (hand-computed cases), with its labelled
variants."""

import math

import numpy as np
import pytest

pytest.importorskip("torch")

from divest.torch import mode_metrics  # noqa: E402

C2 = np.array([[0.0, 0.0], [4.0, 0.0]])


def test_hand_computed_case():
    pts = np.array([[0, 0], [0.05, 0], [0, -0.1], [4, 0.2], [100, 0]], float)
    mm = mode_metrics(pts, C2, 0.1)
    assert list(mm["counts"]) == [3, 1]
    assert mm["modes_captured"] == 2 and mm["modes_captured_20"] == 0
    assert mm["high_quality"] == pytest.approx(4 / 5)
    assert mm["reverse_kl_hq"] == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5))
    assert mm["reverse_kl_all"] == pytest.approx(0.6 * math.log(1.2) + 0.4 * math.log(0.8))
    assert mm["mode_kl"] == mm["reverse_kl_all"] and mm["collapsed"] == ""


def test_threshold_is_strict_and_nearest_is_in_standard_deviations():
    # exactly 3 sigma away is not high quality (PacGAN: min_dis < dis_thre)
    assert mode_metrics(np.array([[0.75, 0.0]]), C2, 0.25)["high_quality"] == 0.0
    assert mode_metrics(np.array([[0.74, 0.0]]), C2, 0.25)["high_quality"] == 1.0
    # modes of std 1 at 0 and 0.1 at 2: x = 1.2 is 1.2 sd from the first, 8 from the second
    centers, std = np.array([[0.0], [2.0]]), [1.0, 0.1]
    mm = mode_metrics(np.array([[1.2]]), centers, std)
    assert list(mm["counts"]) == [1, 0] and mm["high_quality"] == 1.0


def test_twenty_sample_variant_and_collapse_labels():
    pts = np.vstack([np.zeros((25, 2)), np.tile([4.0, 0.0], (5, 1))])
    mm = mode_metrics(pts, C2, 0.1)
    assert (mm["modes_captured"], mm["modes_captured_20"]) == (2, 1)
    one = mode_metrics(np.zeros((10, 2)), C2, 0.1)
    assert (one["modes_captured"], one["high_quality"]) == (1, 1.0)
    assert one["collapsed"] == "all HQ samples on one mode"
    assert one["reverse_kl_hq"] == pytest.approx(math.log(2))
    none = mode_metrics(np.full((10, 2), 50.0), C2, 0.1)
    assert none["collapsed"] == "no HQ sample" and math.isnan(none["reverse_kl_hq"])
    assert none["reverse_kl_all"] == pytest.approx(math.log(2))   # all nearest to mode 1


def test_exactly_twenty_counts_and_non_uniform_weights():
    # a mode with exactly 20 HQ samples counts for the >= 20 variant, 19 does not
    pts = np.vstack([np.zeros((20, 2)), np.tile([4.0, 0.0], (19, 1))])
    assert mode_metrics(pts, C2, 0.1)["modes_captured_20"] == 1
    # HQ histogram (3/4, 1/4) against weights (3/4, 1/4): reverse KL 0; against uniform
    # weights 3/4 log(3/2) + 1/4 log(1/2); against (1/4, 3/4) 3/4 log 3 + 1/4 log(1/3)
    pts = np.vstack([np.zeros((3, 2)), [[4.0, 0.0]]])
    assert mode_metrics(pts, C2, 0.1, weights=[0.75, 0.25])["reverse_kl_hq"] == \
        pytest.approx(0.0, abs=1e-15)
    assert mode_metrics(pts, C2, 0.1)["reverse_kl_hq"] == \
        pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5))
    assert mode_metrics(pts, C2, 0.1, weights=[0.25, 0.75])["reverse_kl_hq"] == \
        pytest.approx(0.75 * math.log(3) + 0.25 * math.log(1 / 3))
