"""Checkpoints: folders that are complete or absent, verified before they are trusted.

A checkpoint is ``checkpoints/step_000001234/`` holding

* ``generator.safetensors`` / ``discriminator.safetensors`` — weights, with the architecture and
  the run's config as metadata, so the generator can be rebuilt with no flags;
* ``training_state.pt`` — optimisers, counters, RNG states and data position, loaded with
  ``torch.load(weights_only=True)`` (no code is ever unpickled from a checkpoint);
* ``manifest.json`` — the sha256 of each file above, written last.

It is assembled in a hidden temporary folder and renamed into place, so a crash never leaves a
half-written checkpoint under a real name, and a file damaged later fails its hash.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save
from torch import nn

from .version import __version__
from .errors import DcganError
from .fsutil import atomic_write, sha256_file, write_json

G_FILE, D_FILE, STATE_FILE, MANIFEST = ("generator.safetensors", "discriminator.safetensors",
                                        "training_state.pt", "manifest.json")
EMA_FILE = "generator_ema.safetensors"  # --ema: the moving average of G's weights, when kept
PREFIX = "step_"
BEST = "best.json"   # checkpoints/best.json: which checkpoint is the best so far, never pruned


def weights_blob(module: nn.Module, meta: dict[str, Any]) -> bytes:
    """A plain module's weights (unwrap compile/DDP first) as safetensors bytes with ``meta``."""
    sd = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
    return st_save(sd, metadata={k: json.dumps(v) for k, v in meta.items()})


def save(ckpt_root: Path, step: int, G: nn.Module, D: nn.Module, state: dict[str, Any],
         meta: dict[str, Any], keep: int = 3, protect: set[str] | None = None,
         G_ema: nn.Module | None = None) -> Path:
    """Write one checkpoint atomically, then prune all but the newest ``keep`` (and ``protect``).
    ``G_ema``: the EMA generator (--ema), written beside G with the same metadata."""
    final = ckpt_root / f"{PREFIX}{step:09d}"
    tmp = ckpt_root / f".tmp-{PREFIX}{step:09d}-{os.getpid()}"
    meta = {**meta, "step": step, "dcgan_version": __version__}
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        atomic_write(tmp / G_FILE, weights_blob(G, {**meta, "format": "dcgan-generator"}))
        atomic_write(tmp / D_FILE, weights_blob(D, {**meta, "format": "dcgan-discriminator"}))
        files = [G_FILE, D_FILE, STATE_FILE]
        if G_ema is not None:
            atomic_write(tmp / EMA_FILE, weights_blob(G_ema, {**meta, "format": "dcgan-generator", "ema": True}))
            files.append(EMA_FILE)
        atomic_write(tmp / STATE_FILE, lambda fh: _torch_save(state, fh))
        write_json(tmp / MANIFEST, {"step": step, "epoch": state.get("epoch"),
                                    "files": {f: sha256_file(tmp / f) for f in files}})
        if final.exists():  # same step saved twice (e.g. Ctrl-C right after a periodic save)
            shutil.rmtree(final)
        os.replace(tmp, final)
    except (OSError, DcganError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        cause = exc if isinstance(exc, OSError) else exc.__cause__  # atomic_open's DcganError
        if not isinstance(cause, OSError):
            raise
        raise DcganError(_write_failed(final, cause)) from None
    except BaseException:  # anything else (a bug, Ctrl-C): still no half-written folder left behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    prune(ckpt_root, keep, protect or set())
    return final


class _Sink:
    """A file handle that remembers the OSError its ``write`` raised: torch's zip writer turns a
    failed write (ENOSPC on a full disk) into a RuntimeError that no longer says why."""

    def __init__(self, fh):
        self.fh, self.error = fh, None

    def write(self, data) -> int:
        try:
            return self.fh.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.fh.flush()


def _torch_save(obj: Any, fh) -> None:
    sink = _Sink(fh)
    try:
        torch.save(obj, sink)
    except RuntimeError:
        if sink.error is None:
            raise
        raise sink.error from None


def _write_failed(final: Path, exc: OSError) -> str:
    """One line for a checkpoint that could not be written: why, where, and how to go on."""
    run = final.parent.parent
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        try:
            free = f"{shutil.disk_usage(final.parent).free / 2**20:.1f} MiB free"
        except OSError:
            free = "free space unknown"
        return (f"No space left on device for checkpoint {final.name} in {final.parent} ({free}); "
                f"free some space, then `dcgan train --resume {run}` continues from the last "
                "checkpoint (earlier checkpoints are intact)")
    return (f"could not write checkpoint {final}: {exc.strerror or exc}; fix that, then `dcgan train "
            f"--resume {run}` continues from the last checkpoint (earlier checkpoints are intact)")


def all_checkpoints(ckpt_root: Path) -> list[Path]:
    """Checkpoint folders, oldest first (temporary folders of interrupted saves are ignored)."""
    if not ckpt_root.is_dir():
        return []
    return sorted(p for p in ckpt_root.iterdir() if p.is_dir() and p.name.startswith(PREFIX))


def prune(ckpt_root: Path, keep: int, protect: set[str]) -> None:
    """Remove interrupted saves and all but the newest ``keep`` checkpoints, sparing the best one."""
    for stale in ckpt_root.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    if keep <= 0:
        return
    best_name = (read_best(ckpt_root.parent) or {}).get("checkpoint")
    protect = protect | ({best_name} if best_name else set())
    ckpts = all_checkpoints(ckpt_root)
    for old in ckpts[:-keep]:
        if old.name not in protect:
            # Rename first, so a crash mid-delete leaves a .tmp- folder (ignored), never a half checkpoint.
            doomed = ckpt_root / f".tmp-pruned-{old.name}"
            try:
                os.replace(old, doomed)
            except OSError:
                continue
            shutil.rmtree(doomed, ignore_errors=True)


def checkpoint_area(path: str | Path) -> Path | None:
    """The checkpoint folder that writing ``path`` would write into, or None. ``path`` is resolved
    first (symlinks followed), then it and each folder above it is checked: a run's ``checkpoints/``
    (its parent holds config.json, or it holds step_* folders or best.json) or a checkpoint folder
    (``step_*`` with a manifest). A user's own folder that is merely named ``checkpoints`` is not one."""
    try:
        resolved = Path(path).expanduser().resolve()
    except (OSError, RuntimeError):  # a symlink loop: the write itself will fail and say so
        return None
    for folder in (resolved, *resolved.parents):
        try:
            if folder.name == "checkpoints" and ((folder.parent / "config.json").is_file()
                                                 or (folder / BEST).is_file()
                                                 or (folder.is_dir() and any(
                                                     p.name.startswith(PREFIX) and p.is_dir()
                                                     for p in folder.iterdir()))):
                return folder
            if folder.name.startswith((PREFIX, ".tmp-")) and (folder / MANIFEST).is_file():
                return folder
        except OSError:
            continue
    return None


def refuse_checkpoint_output(path: str | Path, flag: str = "--out") -> None:
    """Refuse an output inside a run's checkpoint folder: only training writes there (an export over
    a checkpoint's generator would silently end the run's resume and sampling)."""
    area = checkpoint_area(path)
    if area is not None:
        named = f"{flag} {path}" if flag else str(path)
        raise DcganError(f"{named} is inside {area}, a run's checkpoint folder, which only training "
                         "writes; choose a path outside it")


def verify(ckpt: Path) -> str | None:
    """None if every file matches the manifest, else what is wrong."""
    try:
        manifest = json.loads((ckpt / MANIFEST).read_text())
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return "no readable manifest"
    if not isinstance(files, dict):
        return "no readable manifest"
    if EMA_FILE not in files and (ckpt / EMA_FILE).exists():
        return f"{EMA_FILE} is not in the manifest"
    for name in (G_FILE, D_FILE, STATE_FILE):
        if name not in files:
            return f"manifest lists no {name}"
    for name in files:
        if name not in (G_FILE, D_FILE, STATE_FILE, EMA_FILE):
            return f"manifest lists an unknown file {name!r}"
        try:
            if sha256_file(ckpt / name) != files[name]:
                return f"{name} does not match its recorded sha256"
        except OSError:
            return f"{name} is missing"
    return None


def newest_good(run_dir: Path, quiet: bool = False) -> Path | None:
    """The newest checkpoint that verifies; damaged ones are reported and skipped."""
    for ckpt in reversed(all_checkpoints(run_dir / "checkpoints")):
        problem = verify(ckpt)
        if problem is None:
            return ckpt
        if not quiet:
            print(f"dcgan: checkpoint {ckpt.name} is damaged ({problem}); falling back to the "
                  "previous one", file=sys.stderr)
    return None


def d_output(record: dict[str, Any]) -> str:
    """What D's output means, from a run's config.json or a weights file's metadata:
    ``probability`` (sigmoid(D) is P(real)) or ``score``. Runs saved before dcgan recorded it
    trained with BCE exactly when it was a probability."""
    if record.get("d_output") in ("probability", "score"):
        return record["d_output"]
    loss = record.get("loss") or (record.get("config") or {}).get("loss") or "bce"
    return "probability" if loss == "bce" else "score"


def read_meta(path: Path) -> dict[str, Any]:
    try:
        with safe_open(str(path), "pt") as fh:
            raw = fh.metadata() or {}
        return {k: json.loads(v) for k, v in raw.items()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise DcganError(f"{path} is not a dcgan weights file ({exc})") from None


def load_weights(module: nn.Module, path: Path) -> None:
    from safetensors.torch import load_file

    try:
        sd = load_file(str(path))
        module.load_state_dict(sd)
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise DcganError(f"{path} does not fit this model ({str(exc).splitlines()[0]}); was it "
                         "saved by a different architecture?") from None


def resolve_weights(target: str | Path, file: str = G_FILE, ema: bool | None = None) -> Path:
    """A run folder, a checkpoint folder or a weights file -> the weights file to load.

    For G, ``ema``: True wants the EMA generator, False the raw one, None the EMA one when the run
    kept one (--ema)."""
    target = Path(target)
    if target.is_file():
        return target
    if file == G_FILE and ema is not False:
        folder = target if (target / G_FILE).is_file() else None
        if folder is None and target.is_dir():
            folder = newest_good(target)
        if folder is not None and (folder / EMA_FILE).is_file():
            return resolve_weights(folder, EMA_FILE)
        if ema:
            raise DcganError(f"{target} holds no EMA generator; it was trained without --ema")
    if (target / file).is_file():
        problem = verify(target) if (target / MANIFEST).exists() else None
        if problem:
            raise DcganError(f"checkpoint {target} is damaged ({problem}); use an earlier one")
        return target / file
    if target.is_dir():
        ckpt = newest_good(target)
        if ckpt is not None:
            return ckpt / file
        raise DcganError(f"{target} holds no usable checkpoint; train longer or point at a "
                         "checkpoint folder or a .safetensors file")
    raise DcganError(f"{target} does not exist; give a run folder, a checkpoint folder or a "
                     ".safetensors file")


def load_state(ckpt: Path) -> Any:
    """training_state.pt, unpickling no code (``weights_only``) and allocating no more than the
    file holds: the zip's members are checked stored and sized before torch.load reads them, and
    every tensor's shape against its storage after (``limits``). Its schema: training/state.py."""
    from .limits import check_tensor_storage, check_torch_zip

    path = ckpt / STATE_FILE
    check_torch_zip(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refusals and corrupt zips raise various types
        raise DcganError(f"{path} cannot be loaded safely ({type(exc).__name__}); "
                         "it was not written by dcgan or is damaged") from None
    check_tensor_storage(state, path)
    return state


def mark_best(run_dir: Path, ckpt: Path | str, metric: str | None = None,
              value: float | None = None, **extra: Any) -> Path:
    """Record ``ckpt`` as the run's best checkpoint (atomically); pruning never removes it.

    The run's one best record: ``--eval-every`` writes it, pruning spares it, the report marks it
    and a resumed run's health checks read it back. ``ckpt`` is a checkpoint folder or its name;
    ``metric``/``value`` (e.g. ``"fid2k_classifier"``, 12.3) are kept beside it so a later
    evaluation can decide whether it found a better one; ``extra``: more JSON-able facts (modes).
    """
    run_dir = Path(run_dir)
    name = Path(ckpt).name
    folder = run_dir / "checkpoints" / name
    if not name.startswith(PREFIX) or not folder.is_dir():
        raise DcganError(f"{folder} is not a checkpoint of {run_dir}; give one of "
                         f"{[p.name for p in all_checkpoints(run_dir / 'checkpoints')]}")
    problem = verify(folder)
    if problem:
        raise DcganError(f"checkpoint {folder} is damaged ({problem}); it cannot be the best one")
    return write_json(run_dir / "checkpoints" / BEST,
                      {"checkpoint": name, "metric": metric, "value": value, **extra})


def read_best(run_dir: Path) -> dict[str, Any] | None:
    """The best-checkpoint record (``{"checkpoint", "metric", "value"}``), or None if none is set."""
    try:
        record = json.loads((Path(run_dir) / "checkpoints" / BEST).read_text())
    except (OSError, ValueError):
        return None
    name = record.get("checkpoint") if isinstance(record, dict) else None
    if not isinstance(name, str) or not name.startswith(PREFIX) or Path(name).name != name:
        return None  # hand-edited or damaged: no checkpoint is protected, nothing outside is touched
    return record


def best(run_dir: Path) -> Path | None:
    """The best checkpoint folder if one is marked, still present and verified, else None."""
    record = read_best(run_dir)
    if record is None:
        return None
    folder = Path(run_dir) / "checkpoints" / record["checkpoint"]
    return folder if folder.is_dir() and verify(folder) is None else None
