"""--clusters K (a self-conditioned GAN): k-means on tiny examples, labels that follow the
clusters' shares, a tiny clustered run that resumes bit for bit and samples, evaluates and exports
as an unconditional generator, and the one-line refusals."""

from __future__ import annotations

import json

import pytest
import torch

import dcgan
from dcgan.errors import DcganError
from dcgan.generation.loading import load_generator
from dcgan.models.bounds import check_arch
from dcgan.models.lean import default_labels, prior_labels
from dcgan.training import clusters

from conftest import TINY_8, assert_same_run

CLUSTER_8 = {**TINY_8, "model": "lean", "data": "fake", "channels": 1, "eval_every": 0}


def _blobs(sizes=(40, 25, 15), seed=0) -> tuple[torch.Tensor, torch.Tensor]:
    """Points around three far-apart centres, ``sizes`` of each, and which centre each came from."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 5.0]])
    truth = torch.cat([torch.full((n,), i) for i, n in enumerate(sizes)])
    x = centres[truth] + 0.3 * torch.randn(len(truth), 3, generator=g)
    perm = torch.randperm(len(truth), generator=g)
    return x[perm], truth[perm]


def test_kmeans_finds_well_separated_groups_and_is_a_function_of_its_seed():
    x, truth = _blobs()
    labels, centres = clusters.kmeans(x, 3, seed=1)
    # the same partition as the truth, whatever the numbering: each cluster is exactly one group
    pairs = {(int(a), int(b)) for a, b in zip(labels, truth)}
    assert len(pairs) == 3 and len({a for a, _ in pairs}) == 3
    for j in range(3):
        torch.testing.assert_close(centres[j], x[labels == j].mean(0))
    again, _ = clusters.kmeans(x, 3, seed=1)
    assert torch.equal(labels, again)


def _rings(n=150, seed=0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two concentric rings in the plane (radii 1 and 4), ``n`` points each: k-means on the
    coordinates cuts both rings in half, their neighbour graph keeps each ring whole."""
    g = torch.Generator().manual_seed(seed)
    angle = 2 * torch.pi * torch.rand(2 * n, generator=g)
    truth = torch.arange(2 * n) // n
    radius = 1.0 + 3.0 * truth + 0.05 * torch.randn(2 * n, generator=g)
    x = torch.stack([radius * angle.cos(), radius * angle.sin()], 1)
    perm = torch.randperm(2 * n, generator=g)
    return x[perm], truth[perm]


def _same_partition(labels: torch.Tensor, truth: torch.Tensor) -> bool:
    pairs = {(int(a), int(b)) for a, b in zip(labels, truth)}
    return len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})


def test_spectral_clusters_follow_the_neighbour_graph_where_kmeans_cuts_across_it(monkeypatch):
    x, truth = _rings()
    assert not _same_partition(clusters.kmeans(x, 2, seed=0)[0], truth)   # why the graph is used
    labels = clusters.spectral(x, 2, seed=0)
    assert _same_partition(labels, truth)
    assert torch.equal(labels, clusters.spectral(x, 2, seed=0))           # a function of its seed
    blobs, groups = _blobs()
    assert _same_partition(clusters.spectral(blobs, 3, seed=2), groups)
    monkeypatch.setattr(clusters, "DENSE_MAX", 0)   # the iterated eigenvectors of a large set
    assert _same_partition(clusters.spectral(blobs, 3, seed=2), groups)


def test_spectral_over_its_graph_size_labels_the_rest_by_their_nearest_sampled_point():
    x, truth = _rings(n=300, seed=1)
    labels = clusters.spectral(x, 2, seed=0, max_graph=200)   # 200 in the graph, 400 by nearest
    assert _same_partition(labels, truth)
    idx = clusters.nearest(x[:5], x, 3, exclude_self=True)
    d = torch.cdist(x[:5], x)
    d[torch.arange(5), torch.arange(5)] = float("inf")
    assert torch.equal(idx.sort(1).values, d.topk(3, largest=False).indices.sort(1).values)


def test_features_pool_large_images_and_scale_to_unit():
    small = torch.full((2, 1, 28, 28), 255, dtype=torch.uint8)
    assert clusters.features(small).shape == (2, 784) and float(clusters.features(small).max()) == 1.0
    big = torch.zeros(3, 3, 64, 64, dtype=torch.uint8)
    big[:, :, :32] = 255  # top half white: the pooled image keeps that
    f = clusters.features(big).view(3, 3, clusters.MAX_SIDE, clusters.MAX_SIDE)
    assert float(f[:, :, :16].min()) == 1.0 and float(f[:, :, 16:].max()) == 0.0


def test_unasked_labels_follow_the_prior_and_do_not_depend_on_the_batch():
    prior = [0.5, 0.3, 0.2, 0.0]
    y = prior_labels(0, 1000, prior)
    counts = torch.bincount(y, minlength=4).tolist()
    assert counts[3] == 0 and all(abs(c - 1000 * p) <= 3 for c, p in zip(counts, prior))
    assert torch.equal(prior_labels(100, 50, prior), y[100:150])   # image i's label is a function of i
    for n in (10, 37):  # any window of consecutive images holds each share to within a few images
        window = torch.bincount(prior_labels(500, n, prior), minlength=4)
        assert all(abs(int(c) - n * p) <= 2 for c, p in zip(window, prior))
    assert torch.equal(default_labels(3, 5, 4), torch.tensor([3, 0, 1, 2, 3]))  # no prior: in turn


def test_a_clustered_run_resumes_bit_for_bit_and_records_its_clusters(tmp_path):
    whole = dcgan.train(out=str(tmp_path / "whole"), epochs=2, clusters=3, **CLUSTER_8)
    part = dcgan.train(out=str(tmp_path / "part"), epochs=2, max_steps=5, clusters=3, **CLUSTER_8)
    saved = (part / clusters.FILE).read_bytes()
    dcgan.train(resume=part, max_steps=10_000)
    assert_same_run(whole, part)
    assert (part / clusters.FILE).read_bytes() == saved            # read back on resume, not redone
    config = json.loads((whole / "config.json").read_text())
    assert config["clusters"] == 3 and config["cond"] == "projection"  # --clusters alone: projection
    G, meta = load_generator(whole)
    arch = meta["arch"]
    assert arch["class_source"] == "clusters" and arch["class_names"] == clusters.names(3)
    assert len(arch["class_prior"]) == 3 and abs(sum(arch["class_prior"]) - 1) < 1e-6
    from safetensors.torch import load_file

    sizes = load_file(str(whole / clusters.FILE))["sizes"]
    assert sizes.sum() == 64 and [round(float(s) / 64, 6) for s in sizes] == [round(p, 6) for p in arch["class_prior"]]
    # sampling without a class follows the prior; with one, draws that cluster
    assert G.class_prior == arch["class_prior"]
    torch.testing.assert_close(dcgan.sample(whole, n=6, seed=1).float(),
                               dcgan.sample(whole, n=6, seed=1).float())
    assert dcgan.sample(whole, n=2, seed=1, classes="cluster 2").shape == (2, 1, 8, 8)


def test_a_clustered_generator_is_evaluated_and_exported_as_an_unconditional_one(tmp_path):
    from dcgan.generation.sampling import generate

    run = dcgan.train(out=str(tmp_path / "run"), epochs=1, clusters=4, **CLUSTER_8)
    G, meta = load_generator(run)
    z = torch.randn(7, G.noise_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = G(z, prior_labels(0, 7, meta["arch"]["class_prior"]))
    from dcgan.images import to_uint8

    assert torch.equal(torch.cat(list(generate(G, 7, 0))), to_uint8(expected))  # unasked: the prior
    from dcgan.metrics import load_images

    images, source = load_images(run, 8, 1, 8)
    assert source["clusters"] == 4 and "classes" not in source  # no per-class metrics of clusters
    assert torch.equal(images, torch.cat(list(generate(G, 8, source["seed"]))))
    out = dcgan.export(run, out=tmp_path / "g.safetensors")
    card = next(tmp_path.glob("*.MODEL_CARD.md")).read_text()
    assert "clusters of the training images" in card and "class_prior" in card
    E, emeta = load_generator(out)
    assert E.class_prior == meta["arch"]["class_prior"]
    torch.testing.assert_close(dcgan.sample(out, n=5, seed=3).float(), dcgan.sample(run, n=5, seed=3).float(), atol=1, rtol=0)


def test_clusters_are_refused_in_one_line_when_they_cannot_work(tmp_path):
    for settings, words in (({"clusters": 1}, "from 2 to 1000"), ({"clusters": 5000}, "from 2 to 1000"),
                            ({"clusters": 3, "model": "tf-tutorial"}, "--clusters: preset 'tf-tutorial' takes no class label")):
        with pytest.raises(DcganError) as info:
            dcgan.train(out=str(tmp_path / "r"), dry_run=True, **{**CLUSTER_8, **settings})
        assert words in str(info.value) and "\n" not in str(info.value), settings
    dcgan.train(out=str(tmp_path / "packed"), dry_run=True, **{**CLUSTER_8, "clusters": 3, "pack": 2})  # combines
    with pytest.raises(DcganError, match="at most 32 clusters") as info:
        clusters.check(40, 64)
    assert "\n" not in str(info.value)


def test_a_dry_run_says_the_clusters_come_from_the_images(tmp_path, capsys):
    dcgan.train(out=str(tmp_path / "r"), dry_run=True, clusters=5, **CLUSTER_8)
    printed = json.loads(capsys.readouterr().out)
    assert printed["arch"]["class_source"] == "clusters" and printed["arch"]["classes"] == 5
    assert "found when training starts" in printed["arch"]["class_prior"]


def test_a_hostile_class_prior_in_a_file_is_refused_in_one_line():
    arch = {"model": "lean", "channels": 1, "resolution": 8, "noise_dim": 4, "cond": "projection",
            "classes": 2, "class_names": ["cluster 0", "cluster 1"], "class_source": "clusters"}
    assert check_arch({**arch, "class_prior": [0.25, 0.75]})
    for prior in ([0.5], [0.5, float("nan")], [2.0, -1.0], "0.5,0.5", [0.1, 0.1], [True, False]):
        with pytest.raises(DcganError, match="class_prior") as info:
            check_arch({**arch, "class_prior": prior})
        assert "\n" not in str(info.value)
    assert check_arch({**arch, "class_source": "labels", "class_prior": [0.5, 0.5]})  # a labelled run's
    with pytest.raises(DcganError, match="class_source"):
        check_arch({**arch, "class_source": "votes", "class_prior": [0.5, 0.5]})


def test_lean_clusters_a_large_set_by_itself_and_a_small_one_not(tmp_path, monkeypatch, capsys):
    from dcgan.cli import main

    dcgan.train(out=str(tmp_path / "d"), dry_run=True, model="lean")   # MNIST: 60,000 images
    printed = json.loads(capsys.readouterr().out)
    assert printed["clusters"] == "auto" and "--clusters auto: 50 clusters" in printed["arch"]["class_source"]
    monkeypatch.setattr(clusters, "AUTO_K", 3)
    monkeypatch.setattr(clusters, "AUTO_MIN_IMAGES", 64)     # the 64-image set counts as large here
    auto = {**CLUSTER_8, "epochs": 1}
    run = dcgan.train(out=str(tmp_path / "big"), **auto)
    config = json.loads((run / "config.json").read_text())
    assert config["clusters"] == 3 and config["cond"] == "projection"      # saved as the number it used
    assert config["arch"]["class_source"] == "clusters" and (run / clusters.FILE).is_file()
    explicit = dcgan.train(out=str(tmp_path / "explicit"), clusters=3, **auto)
    assert_same_run(run, explicit)                                          # auto is --clusters 3 here
    monkeypatch.setattr(clusters, "AUTO_MIN_IMAGES", 65)
    small = dcgan.train(out=str(tmp_path / "small"), **auto)
    config = json.loads((small / "config.json").read_text())
    assert config["clusters"] == 0 and config["cond"] == "none" and not (small / clusters.FILE).exists()
    for settings in ({"cond": "projection"}, {"pack": 2}, {"clusters": 0}):  # labels, packs, off: none
        monkeypatch.setattr(clusters, "AUTO_MIN_IMAGES", 64)
        run = dcgan.train(out=str(tmp_path / f"r{len(settings)}{sorted(settings)[0]}"), **{**auto, **settings})
        assert json.loads((run / "config.json").read_text())["clusters"] == 0, settings
    assert main(["train", "--model", "lean", "--data", "fake", "--channels", "1", "--resolution", "8",
                 "--limit", "64", "--batch-size", "8", "--max-steps", "1", "--eval-every", "0",
                 "--no-progress", "--clusters", "auto", "--out", str(tmp_path / "cli")]) == 0
    assert json.loads((tmp_path / "cli" / "config.json").read_text())["clusters"] == 3
    assert main(["train", "--model", "lean", "--clusters", "many", "--dry-run"]) == 2
    assert "'many': give a number of clusters, e.g. 50, or auto" in capsys.readouterr().err
