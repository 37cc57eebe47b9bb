"""The metrics against closed-form cases: identical sets, shifted Gaussians, one-class sets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dcgan.metrics.registry import (DC_K, METRICS, Sets, classes, compute, density_coverage, fid,
                                    frechet_distance, kid, precision_recall)


def gauss(n, d, shift=0.0, scale=1.0, seed=0):
    return np.random.default_rng(seed).normal(shift, scale, (n, d))


def test_registry_names_every_metric():
    assert {"fid", "kid", "precision_recall", "density_coverage", "classes"} <= set(METRICS)


def test_frechet_distance_matches_the_closed_form_for_gaussians():
    # For diagonal covariances FID = |mu1 - mu2|² + Σ (σ1 - σ2)²; rotating both by the same
    # orthogonal matrix must not change it.
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, -1.0, 2.5])
    v1, v2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-9)
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    got = frechet_distance(q @ mu1, q @ np.diag(v1) @ q.T, q @ mu2, q @ np.diag(v2) @ q.T)
    assert got == pytest.approx(expected, rel=1e-7)


def test_fid_of_shifted_gaussian_samples_is_the_squared_shift():
    real, fake = gauss(20000, 8, seed=1), gauss(20000, 8, shift=0.5, seed=2)
    # closed form: 8 * 0.5² = 2.0; sampling error of the moments is ~1 %
    assert fid(Sets(real, fake))["fid"] == pytest.approx(2.0, rel=0.05)


def test_identical_sets_give_zero_distance_and_full_precision_recall():
    x = gauss(600, 16, seed=3)
    s = Sets(x, x.copy())
    out = compute(s, ["fid", "precision_recall", "density_coverage"])
    assert out["fid"] == pytest.approx(0.0, abs=1e-8)
    assert out["precision"] == 1.0 and out["recall"] == 1.0 and out["coverage"] == 1.0
    assert out["density"] == pytest.approx((DC_K + 1) / DC_K)  # each ball holds its centre + k


def test_kid_is_near_zero_for_one_distribution_and_large_for_two():
    same = kid(Sets(gauss(1500, 16, seed=4), gauss(1500, 16, seed=5), kid_subsets=10))["kid"]
    apart = kid(Sets(gauss(1500, 16, seed=4), gauss(1500, 16, shift=1.0, seed=5), kid_subsets=10))["kid"]
    assert abs(same) < 0.01
    assert apart > 1.0


def test_disjoint_sets_have_zero_precision_recall_and_coverage():
    real, fake = gauss(500, 4, seed=6), gauss(500, 4, shift=50.0, seed=7)
    pr = precision_recall(Sets(real, fake))
    dc = density_coverage(Sets(real, fake))
    assert pr == {"precision": 0.0, "recall": 0.0}
    assert dc == {"density": 0.0, "coverage": 0.0}


def test_a_fake_set_on_half_the_real_modes_has_full_precision_and_half_recall():
    rng = np.random.default_rng(8)
    centres = np.array([[0.0, 0.0], [100.0, 0.0]])
    real = np.concatenate([c + rng.normal(size=(400, 2)) for c in centres])
    fake = centres[0] + rng.normal(size=(400, 2))
    pr = precision_recall(Sets(real, fake))
    assert pr["precision"] > 0.95
    assert pr["recall"] == pytest.approx(0.5, abs=0.05)


def one_hot(labels, k=10):
    p = np.full((len(labels), k), 0.0)
    p[np.arange(len(labels)), labels] = 1.0
    return p


def test_one_class_set_covers_one_mode_with_kl_log_k():
    labels = np.zeros(1000, dtype=np.int64)
    out = classes(Sets(np.zeros((2, 1)), np.zeros((2, 1)), one_hot(labels), labels))
    assert out["modes"] == 1
    assert out["kl_uniform"] == pytest.approx(math.log(10))
    assert out["classifier_score"] == pytest.approx(1.0)
    assert out["mean_confidence"] == pytest.approx(1.0)
    assert out["histogram"] == [1000] + [0] * 9


def test_uniform_confident_classes_cover_all_modes_with_zero_kl_and_score_k():
    labels = np.arange(1000) % 10
    out = classes(Sets(np.zeros((2, 1)), np.zeros((2, 1)), one_hot(labels), labels))
    assert out["modes"] == 10
    assert out["kl_uniform"] == pytest.approx(0.0, abs=1e-12)
    assert out["classifier_score"] == pytest.approx(10.0)


def test_digit_tuples_split_their_kl_into_the_digits_shares_and_their_combination():
    # three digits always equal: each position uniform (no KL in the shares), all of the KL
    # (log 1000 / 10 used triples) in how they combine
    labels = np.repeat(np.arange(10) * 111, 30)
    out = classes(Sets(None, None, None, labels, n_classes=1000, mode_min_count=1, digits=3))
    assert out["kl_uniform"] == pytest.approx(math.log(100))
    assert out["kl_marginals"] == pytest.approx(0.0, abs=1e-12)
    assert out["kl_combination"] == pytest.approx(math.log(100))
    # independent positions, only the first one skewed (digit 0 half the time): all of the KL
    # in the shares, none in the combination
    first = np.array([0] * 9 + list(range(1, 10)))
    labels = (first[:, None, None] * 100 + np.arange(10)[None, :, None] * 10
              + np.arange(10)[None, None, :]).ravel()
    out = classes(Sets(None, None, None, labels, n_classes=1000, mode_min_count=1, digits=3))
    shares = np.array([0.5] + [1 / 18] * 9)
    assert out["kl_marginals"] == pytest.approx(float((shares * np.log(10 * shares)).sum()))
    assert out["kl_combination"] == pytest.approx(0.0, abs=1e-12)
    assert out["kl_marginals"] + out["kl_combination"] == pytest.approx(out["kl_uniform"])


def test_single_digit_classes_have_no_split():
    labels = np.arange(1000) % 10
    assert "kl_marginals" not in classes(Sets(None, None, None, labels))


def test_a_few_stray_predictions_do_not_count_as_a_mode():
    labels = np.array([3] * 995 + [7] * 5)
    out = classes(Sets(np.zeros((2, 1)), np.zeros((2, 1)), one_hot(labels), labels))
    assert out["modes"] == 1  # 5 < 10 % of the uniform share (100)
    out = classes(Sets(np.zeros((2, 1)), np.zeros((2, 1)), None, labels, mode_min_count=1))
    assert out["modes"] == 2  # the VEEGAN rule: one sample is enough
