"""kill -9: a training run killed with SIGKILL at random moments, resumed each time, ends with the
same weights, bit for bit, as a run that was never interrupted.

The full version kills 20 times: ``DCGAN_KILL9_KILLS=20 pytest -m slow tests/reliability/test_kill9.py``.
By default (CI) it kills 5 times. ``DCGAN_KILL9_SEED`` picks the random moments (printed on failure).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dcgan import checkpoint as ckpt
from dcgan.fsutil import read_jsonl

from conftest import _env, assert_same_run

KILLS = int(os.environ.get("DCGAN_KILL9_KILLS", "5"))
SEED = int(os.environ.get("DCGAN_KILL9_SEED", str(random.SystemRandom().randrange(10**6))))
EVERY = 4                      # --ckpt-every-steps: the most a kill may lose
STEPS = 40 + 10 * KILLS        # long enough that every kill lands before the run ends
FLAGS = ["--resolution", "8", "--batch-size", "8", "--limit", "64", "--no-progress",
         "--log-every", "1", "--ckpt-every-steps", str(EVERY), "--max-steps", str(STEPS),
         "--epochs", "1000", "--keep", "2"]
TIMEOUT = 300


def _start(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dcgan", "train", *args], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=log.open("wb"))


def _wait_for(cond, proc: subprocess.Popen, what: str) -> bool:
    """Poll until ``cond()``; False if the process ended first."""
    deadline = time.monotonic() + TIMEOUT
    while not cond():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return True


def _last_logged(run: Path) -> int:
    rows = [r for r in read_jsonl(run / "stats.jsonl") if "step" in r and "event" not in r]
    return rows[-1]["step"] if rows else 0


def _check_folder(run: Path) -> None:
    """After any kill: every checkpoint under a real name is complete, config.json is whole."""
    json.loads((run / "config.json").read_text())
    for folder in ckpt.all_checkpoints(run / "checkpoints"):
        assert ckpt.verify(folder) is None, f"{folder} is incomplete under its real name"


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_at_most_one_interval_and_ends_bit_exact(tiny_mnist, tmp_path):
    rnd = random.Random(SEED)
    note = f"(DCGAN_KILL9_SEED={SEED}, DCGAN_KILL9_KILLS={KILLS})"
    straight = tmp_path / "straight"
    proc = _start([*FLAGS, "--out", str(straight)], tmp_path / "straight.log")
    assert proc.wait(TIMEOUT) == 0, (tmp_path / "straight.log").read_text()

    run, kills, segment, resumed_at = tmp_path / "killed", 0, 0, []
    args = [*FLAGS, "--out", str(run)]
    while True:
        log = tmp_path / f"segment{segment:02d}.log"
        proc = _start(args, log)
        if segment == 0:  # the first kill needs a checkpoint to come back to
            ready = _wait_for(lambda: ckpt.all_checkpoints(run / "checkpoints"), proc, "a checkpoint")
        elif kills % 4 == 3:  # now and then, anywhere in start-up, loading and resuming
            ready = True
        else:  # mostly a few steps into training, at a random point around a step or a save
            target = _last_logged(run) + rnd.randint(1, 2 * EVERY)
            ready = _wait_for(lambda: _last_logged(run) >= target, proc, f"step {target}")
        if kills < KILLS and ready:
            time.sleep(rnd.uniform(0.0, 3.0 if kills % 4 == 3 else 0.3))
        if kills < KILLS and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(TIMEOUT)
            lost_from = _last_logged(run)      # the last step it finished before it died
            kills += 1
            _check_folder(run)
            newest = ckpt.newest_good(run, quiet=True)
            assert newest is not None, note
            kept = int(newest.name.removeprefix(ckpt.PREFIX))
            assert lost_from - kept <= EVERY, f"kill {kills} lost {lost_from - kept} steps {note}"
        else:
            assert proc.wait(TIMEOUT) == 0, log.read_text() + note
        text = log.read_text()
        assert "damaged" not in text and "Traceback" not in text, text + note
        found = re.search(r"resuming .* from step_(\d+)", text)
        if found:
            resumed_at.append(int(found.group(1)))
        if proc.returncode == 0:
            break
        args, segment = ["--resume", str(run)], segment + 1

    assert kills == KILLS, f"the run ended after {kills} kills {note}"
    assert _last_logged(run) == STEPS
    final = f"{ckpt.PREFIX}{STEPS:09d}"
    assert ckpt.all_checkpoints(run / "checkpoints")[-1].name == final, note
    try:  # weights, Adam moments, random streams
        assert_same_run(straight, run)
    except AssertionError as exc:
        raise AssertionError(f"{exc} {note}") from exc
    print(f"kill9: {kills} kills, resumed from steps {resumed_at}, final step {STEPS} bit-exact {note}")
