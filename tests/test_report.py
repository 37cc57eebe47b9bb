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


# -- a run folder written by hand: fast, and every shape of damage a user can make -----------------
def _png(value: int = 128) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (8, 8), value).save(buf, format="PNG")
    return buf.getvalue()


def _lines(path, rows) -> None:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


def _hand_run(tmp_path, n_stats: int = 200, n_epochs: int = 3):
    run = tmp_path / "hand"
    (run / "samples").mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": "tf-tutorial", "data": "mnist", "loss": "bce",
                                                 "arch": {"resolution": 28, "channels": 1}}))
    # steps around 1,360: what matplotlib would label "+1.36e3" with its default offset
    _lines(run / "stats.jsonl", [{"epoch": 1, "step": 1350 + i, "d_loss": 1.3 + 0.01 * (i % 7),
                                  "g_loss": 0.7, "d_x": 0.5, "d_g_z": 0.45, "g_grad_norm": 2.0 + i % 3,
                                  "d_grad_norm": 0.5, "elapsed_s": float(i)} for i in range(n_stats)])
    _lines(run / "metrics.jsonl", [{"epoch": e, "step": 1350 + e, "fid2k_classifier": 30.0 - e,
                                    "modes1k_classifier": 10, "n_modes": 10, "kl1k_classifier": 0.05}
                                   for e in range(1, 4)])
    _lines(run / "epochs.jsonl", [{"epoch": e, "step": 10 * e, "seconds": 1.5, "images_per_s": 40.0}
                                  for e in range(1, n_epochs + 1)])
    for e in range(1, n_epochs + 1):
        (run / "samples" / f"epoch_{e:04d}.png").write_bytes(_png(e % 256))
    return run


def _gallery_epochs(page: str) -> list[int]:
    part = page.split("<div class=gallery>", 1)[1].split("</div>", 1)[0]
    return [int(x) for x in re.findall(r"<figcaption>epoch (\d+)</figcaption>", part)]


def test_the_report_reads_as_a_person_would_want(tmp_path):
    pytest.importorskip("matplotlib")
    run = _hand_run(tmp_path, n_epochs=50)
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text()
    for heading in ("FID, 2,000 samples", "Modes covered, 1,000 samples", "KL to uniform, 1,000 samples",
                    "Losses", "Discriminator outputs", "Gradient norms"):
        assert f'alt="{heading}' in page, heading
    assert "fid2k_classifier" in page  # the protocol's own name stays findable, in the alt text
    # 50 grids: a gallery of the first, every 5th and the last, not a 50-image strip
    assert _gallery_epochs(page) == [1, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]
    assert "11 of 50 epochs" in page


def test_a_short_run_shows_every_grid(tmp_path):
    pytest.importorskip("matplotlib")
    run = _hand_run(tmp_path, n_stats=2, n_epochs=3)
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text()
    assert _gallery_epochs(page) == [1, 2, 3] and "every epoch" in page
    assert 'alt="Losses"' in page and 'alt="Gradient norms"' in page


def test_plot_axes_have_whole_steps_and_no_offset():
    pytest.importorskip("matplotlib")
    from dcgan import plots

    fig, ax = plots.figure()
    plots.curve(ax, [1360, 1361, 1362], [1360.1, 1360.2, 1360.3], "x")
    plots.style(ax)
    fig.canvas.draw()
    for axis in (ax.xaxis, ax.yaxis):
        assert axis.get_major_formatter().get_useOffset() is False
        assert axis.get_major_formatter().get_offset() == ""  # no "+1.36e3" by the axis
    ticks = [t for t in ax.get_xticks() if 1360 <= t <= 1362]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_a_long_curve_is_smoothed_over_faint_raw_points_and_a_short_one_is_markers():
    pytest.importorskip("matplotlib")
    from dcgan import plots

    fig, ax = plots.figure()
    plots.curve(ax, list(range(200)), [float(i % 2) for i in range(200)], "D loss")
    raw, smooth = ax.get_lines()
    assert raw.get_alpha() == plots.RAW_ALPHA and smooth.get_label() == "D loss (smoothed)"
    assert max(smooth.get_ydata()[50:]) - min(smooth.get_ydata()[50:]) < 0.3  # the 0/1 zigzag averaged
    fig, ax = plots.figure()
    plots.curve(ax, [1, 2], [0.5, float("nan")], "G loss")
    (line,) = ax.get_lines()
    assert line.get_marker() == "o"  # a handful of points still shows
    assert plots.smooth([1.0, float("nan"), 1.0]) == [1.0, 1.0, 1.0]


def test_metric_titles_spell_out_the_protocol():
    from dcgan.plots import title

    assert title("fid2k_classifier") == "FID, 2,000 samples (classifier features)"
    assert title("modes1k_classifier") == "Modes covered, 1,000 samples (classifier features)"
    assert title("kl_uniform") == "KL to uniform, 2,000 samples"
    assert title("d_grad_norm") == "D gradient norm" and title("fid_test") == "FID test"


def _damage(kind: str, run) -> None:
    if kind == "non-numeric seconds":
        _lines(run / "epochs.jsonl", [{"epoch": 1, "seconds": "fast"}, {"epoch": 2, "seconds": 1.0}])
    elif kind == "truncated lines":
        with open(run / "stats.jsonl", "a") as fh:
            fh.write('{"epoch": 1, "step": 99, "d_lo\n[1, 2]\n"text"\n{"step": "ten", "d_loss": "x"}\n')
        with open(run / "metrics.jsonl", "a") as fh:
            fh.write('{"epoch": 2, "step": "late", "fid2k_classifier": "n/a"}\n{"epoch"\n')
    elif kind == "odd grid names":
        for name in ("epoch_final.png", "epoch_0002_copy.png", "epoch_.png"):
            (run / "samples" / name).write_bytes(_png())
        (run / "samples" / "epoch_0009.png").mkdir()
    elif kind == "binary stats":
        (run / "stats.jsonl").write_bytes(b"\xff\xfe\x00garbage\n")
    elif kind == "damaged best.json":
        (run / "checkpoints").mkdir()
        (run / "checkpoints" / "best.json").write_text('["not", "a", "record"]')
    elif kind == "odd config values":
        (run / "config.json").write_text(json.dumps({"model": ["x"], "arch": "big", "config": [1]}))


@pytest.mark.parametrize("kind", ["non-numeric seconds", "truncated lines", "odd grid names",
                                  "binary stats", "damaged best.json", "odd config values"])
def test_a_hand_edited_run_still_gets_a_report_with_a_note(tmp_path, kind, capsys):
    pytest.importorskip("matplotlib")
    run = _hand_run(tmp_path)
    _damage(kind, run)
    assert main(["report", str(run)]) == 0, capsys.readouterr().err
    page = (run / "report.html").read_text()
    assert "Traceback" not in capsys.readouterr().err
    if kind in ("non-numeric seconds", "truncated lines", "odd grid names", "binary stats"):
        assert "<h2>Notes</h2>" in page and "skipped" in page


@pytest.mark.parametrize("config", ["[1, 2, 3]", '{"model": "tf-tut', '"a string"', ""])
def test_an_unreadable_config_is_one_line(tmp_path, config, capsys):
    run = _hand_run(tmp_path)
    (run / "config.json").write_text(config)
    assert main(["report", str(run)]) == 2
    err = capsys.readouterr().err
    assert "config.json" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_run_stopped_mid_epoch_shows_where_it_stopped(tmp_path):
    pytest.importorskip("matplotlib")
    run = _hand_run(tmp_path, n_stats=3, n_epochs=0)
    (run / "samples" / "step_000000003.png").write_bytes(_png(7))
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text()
    assert "no epoch finished yet" in page and "final (step_000000003)" in page
