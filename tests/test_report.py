"""report.html: self-contained and telling the run's story, written at the end of training, for grey
and colour runs; without matplotlib a note, not a failure."""

from __future__ import annotations

import base64
import json
import re

import pytest

from dcgan.cli import main

from conftest import TRAIN


def test_report_is_self_contained_and_tells_the_story(tiny_run):
    pytest.importorskip("matplotlib")
    with open(tiny_run / "metrics.jsonl", "a") as fh:
        fh.write(json.dumps({"epoch": 1, "step": 2, "fid_test": 99.5, "best": True}) + "\n")
        fh.write(json.dumps({"epoch": 1, "step": 2, "event": "modes", "message": "modes fell"}) + "\n")
    with open(tiny_run / "stats.jsonl", "a") as fh:
        fh.write(json.dumps({"event": "nan_rollback", "step": 2, "problem": "d_loss non-finite"}) + "\n")
    assert main(["report", str(tiny_run)]) == 0
    page = (tiny_run / "report.html").read_text()
    # nothing fetched from elsewhere: no scripts, every src/href is inline
    assert "<script" not in page.lower()
    srcs = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert srcs and all(s.startswith("data:") for s in srcs)
    # plots (2 training curves + 1 metric), epoch grid strip + final grid, and the GIF
    assert len(re.findall(r'src="data:image/png;base64,', page)) >= 5
    assert 'src="data:image/gif;base64,' in page
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1))
    assert png.startswith(b"\x89PNG")
    assert "best checkpoint" in page and "step 2" in page
    assert "nan_rollback" in page and "modes fell" in page
    assert "Seconds per epoch" in page and "torch" in page and "fid_test" in page


def test_report_is_written_at_the_end_of_training(tiny_mnist, tmp_path):
    pytest.importorskip("matplotlib")
    run = tmp_path / "r"
    assert main([*TRAIN, "--out", str(run)]) == 0
    assert (run / "report.html").is_file()


def test_report_without_matplotlib_is_a_note_not_a_failure(tiny_run, monkeypatch, capsys):
    import dcgan.report as report

    monkeypatch.setattr(report, "have_matplotlib", lambda: False)
    assert report.after_training(tiny_run) is None
    assert "matplotlib" in capsys.readouterr().err
    assert main(["report", str(tiny_run)]) == 2
    assert "pip install" in capsys.readouterr().err


def test_report_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a dcgan run folder" in capsys.readouterr().err


def test_report_of_a_colour_run(colour_run):
    pytest.importorskip("matplotlib")
    assert main(["report", str(colour_run)]) == 0
    html = (colour_run / "report.html").read_text()
    assert "64×64×3" in html or "64x64x3" in html
    assert "<script src" not in html


def test_the_report_needs_nothing_beyond_the_plain_install():
    """The README's first command (`pip install -e .`, then train) promises report.html: what
    draws its plots must be a core dependency, not an extra."""
    import tomllib
    from pathlib import Path

    import dcgan

    pyproject = Path(dcgan.__file__).resolve().parents[2] / "pyproject.toml"
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    assert any(d.split(">")[0].split("=")[0].strip() == "matplotlib" for d in deps)
