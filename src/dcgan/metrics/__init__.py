"""``evaluate``: how good a generator is, measured against a data set's test split (or, for data
with one split, its held-out tenth: ``data.holdout``).

    from dcgan.metrics import evaluate
    result = evaluate("runs/0001-tf-tutorial-mnist", data="mnist", n=10000)

The target may be a run folder, a checkpoint, a generator ``.safetensors``, a folder of PNGs, an
``.npz``/``.npy`` array of uint8 images, or a grid PNG (with ``grid=(rows, cols)``). The result is
one JSON-able dict: the metrics (see ``registry``) and the protocol that produced them. Features
of the real reference split are cached under ``<data root>/eval-cache/``, keyed by the split's
sha256, the extractor's weights sha256 and n, with the cache file's own sha256 in a ``.sha256``
sidecar: a cache that does not match it (edited, damaged, or from before the sidecar) is computed
again, never trusted, since it would change the FID under the same protocol hashes.

``dcgan eval`` passes ``log`` (stage lines: generating, the reference features cached or computed,
the generated images' features, the metrics) and ``progress`` (a bar over images, where stderr is
a terminal); training's health checks pass neither and stay quiet.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.holdout import HELD_OUT, RULE as HELD_OUT_RULE
from ..version import __version__
from ..errors import DcganError
from .features import BATCH, check_images, default_kind, extractor
from . import perclass
from .classifiers import PROTOCOLS
from .registry import DC_K, DEFAULT, METRICS, PR_K, Sets, compute, frechet_distance, gaussian_stats

REFERENCE_SPLIT = "test"  # of data that has one; see data.reference
FAKE_SEED = 0
Log = Callable[[str], None] | None


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, what: str, progress: bool):
    """A tqdm bar over ``total`` images on stderr, where it is a terminal and ``progress`` is on."""
    if not (progress and sys.stderr.isatty()):
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=what, unit="img", dynamic_ncols=True, leave=False)


def extract(ext, images: torch.Tensor, what: str = "features", progress: bool = False):
    """``ext(images)`` in the extractor's own batches (``ext.batch``, else BATCH images, so the
    numbers are the same as one call), with a bar."""
    bar, parts = _bar(len(images), what, progress), []
    for chunk in images.split(getattr(ext, "batch", BATCH)):
        parts.append(ext(chunk))
        bar.update(len(chunk))
    bar.close()
    return tuple(None if parts[0][k] is None else np.concatenate([p[k] for p in parts]) for k in range(3))


def _say(log: Log, text: str) -> None:
    if log is not None:
        log(f"dcgan: {text}")


def real_features(data: str, ext, n: int, split: str | None = None,
                  data_dir: str | None = None, resolution: int | None = None, log: Log = None,
                  progress: bool = False) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Features of the first ``n`` images of a real split, from the cache when it is valid.
    ``split=None``: the data's reference split (``data.reference``: test, else held out)."""
    from safetensors.numpy import load_file, save

    from .. import data as datasets
    from ..fsutil import atomic_write, sha256_file
    from ..data.cache import canonical, data_root

    # -- which images: data.reference (test split, held-out tenth, or a folder's images) --
    ref = datasets.reference(data, split, data_dir, resolution)  # also verifies the split's hash
    images_set, split, split_hash = ref.images, ref.split, ref.sha256
    # -- end of which images --
    root = data_root(data_dir)
    n = min(n, len(images_set))
    key = f"{ref.label}-{split}-{n}-{ext.name}-{ext.weights_sha256[:16]}-{split_hash[:16]}"
    path = root / "eval-cache" / f"{key}.safetensors"
    info = {"split": split, "n": n, "split_sha256": split_hash, "cache": str(path)}
    sidecar = path.with_suffix(".sha256")
    if path.is_file():
        try:
            if sha256_file(path) != sidecar.read_text().strip():
                raise ValueError("its sha256 does not match its .sha256 sidecar")
            t = load_file(str(path))
            _say(log, f"features of {data} {split} ({n:,} images): cached in {path}")
            return t["features"], t.get("labels"), info
        except Exception as exc:  # edited or damaged: recomputed, never trusted
            print(f"dcgan: eval cache {path.name} cannot be trusted ({exc}); computing it again",
                  file=sys.stderr)
            path.unlink(missing_ok=True)
    _say(log, f"features of {data} {split} ({n:,} images): computing them once (then cached in {path})")
    feats, _, labels = extract(ext, images_set.images[:n], f"{data} {split}", progress)
    tensors = {"features": np.ascontiguousarray(feats)}
    if labels is not None:
        tensors["labels"] = np.ascontiguousarray(labels.astype(np.int64))
    atomic_write(path, canonical(save(tensors)))
    atomic_write(sidecar, sha256_file(path) + "\n")  # last: a cache without it is not trusted
    return feats, labels, info


def load_images(target: str | Path, n: int, channels: int, resolution: int,
                grid: tuple[int, int] | None = None, seed: int = FAKE_SEED,
                device: str = "cpu", bn: str | None = None,
                ema: bool | None = None, log: Log = None, progress: bool = False) -> tuple[torch.Tensor, dict]:
    """Generated images as uint8 (N, C, H, W) and a description of where they came from."""
    path = Path(target)
    if not path.exists():
        raise DcganError(f"{target} does not exist; give a run folder, checkpoint, .safetensors, "
                         "folder of PNGs, .npz/.npy file or a grid PNG with --grid")
    suffix = path.suffix.lower()
    if grid is not None:
        if suffix != ".png":
            raise DcganError("--grid reads one grid PNG; give a .png file")
        return read_grid(path, grid, channels, resolution), {"kind": "grid", "path": str(path)}
    if suffix in (".npz", ".npy"):
        return read_array(path, channels, resolution), {"kind": "array", "path": str(path)}
    if path.is_dir() and not (path / "config.json").exists() and not list(path.glob("*.safetensors")) \
            and not (path / "checkpoints").exists():
        return read_folder(path, channels, resolution, n), {"kind": "folder", "path": str(path)}
    if suffix == ".png":
        raise DcganError(f"{path} is one PNG; pass --grid ROWSxCOLS if it is a grid of samples")
    from ..checkpoint import G_FILE, resolve_weights
    from ..generation.loading import load_generator
    from ..generation.sampling import generate

    from ..generation.classes import names

    G, meta = load_generator(path, device, bn, ema)
    _say(log, f"generating {n:,} images from {path} (seed {seed}, on {device})")
    images = torch.cat(list(_counted(generate(G, n, seed), _bar(n, "generating", progress))))
    source = {"kind": "generator", "path": str(path), "weights": str(resolve_weights(path, G_FILE, ema)),
              "step": meta.get("step"), "seed": seed, "bn": meta.get("bn")}
    if (meta.get("arch") or {}).get("class_source") == "clusters":
        # --clusters: the classes are clusters of the images, drawn in proportion to their size, so the
        # images are measured as an unconditional generator's (no class for the classifier to read)
        source["clusters"] = len(names(meta))
    elif names(meta):  # a conditional generator: the class each image asked for (perclass.requested)
        source["classes"] = names(meta)
        if meta["arch"].get("class_prior"):  # drawn in the training labels' shares
            source["class_prior"] = meta["arch"]["class_prior"]
    return images, source


def _counted(batches: Iterable[torch.Tensor], bar) -> Iterable[torch.Tensor]:
    for batch in batches:
        bar.update(len(batch))
        yield batch
    bar.close()


def _fix(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Grey images saved as RGB (three equal channels) become one channel; anything else is kept
    and checked against the data set later."""
    if channels == 1 and images.shape[1] == 3 and bool((images[:, :1] == images).all()):
        return images[:, :1].contiguous()
    return images


def read_array(path: Path, channels: int, resolution: int) -> torch.Tensor:
    from ..limits import load_array

    arr = load_array(path)  # its header's shape checked before a byte is inflated
    if arr.dtype != np.uint8:
        raise DcganError(f"{path} holds {arr.dtype}; save uint8 images in [0, 255] (e.g. `dcgan sample "
                         "--out x.npz`)")
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim == 4 and arr.shape[-1] in (1, 3) and arr.shape[1] not in (1, 3):
        arr = arr.transpose(0, 3, 1, 2)  # NHWC -> NCHW
    if arr.ndim != 4:
        raise DcganError(f"{path} holds an array of shape {arr.shape}; expected N x C x H x W")
    return _fix(torch.from_numpy(np.ascontiguousarray(arr)), channels)


def _read_png(path: Path, channels: int) -> np.ndarray:
    from ..images import convert, open_image

    with open_image(path) as img:
        arr = np.asarray(convert(img, "L" if channels == 1 else "RGB"), dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr


def read_folder(path: Path, channels: int, resolution: int, n: int | None = None) -> torch.Tensor:
    """The first ``n`` images (by name) of a folder, each checked by pixel count before decoding."""
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))[:n]
    if not files:
        raise DcganError(f"{path} holds no images (.png/.jpg/.webp) and no checkpoint")
    arrs = [_read_png(f, channels) for f in files]
    shapes = {a.shape for a in arrs}
    if len(shapes) != 1:
        raise DcganError(f"the images in {path} have different sizes {sorted(shapes)[:3]}")
    return torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2).contiguous()


def read_grid(path: Path, grid: tuple[int, int], channels: int, resolution: int) -> torch.Tensor:
    """Cut a rows x cols grid (as ``make_grid`` writes it, any uniform padding, any integer
    upscale) into images."""
    rows, cols = grid
    arr = _read_png(path, channels)
    h, w = arr.shape[:2]
    for scale in (1, 2, 3, 4, 8):
        res = resolution * scale
        pad_w, pad_h = (w - cols * res), (h - rows * res)
        if pad_w < 0 or pad_h < 0 or pad_w % (cols + 1) or pad_h % (rows + 1):
            continue
        pw, ph = pad_w // (cols + 1), pad_h // (rows + 1)
        if pw != ph:
            continue
        tiles = [arr[ph + r * (res + ph): ph + r * (res + ph) + res,
                     pw + c * (res + pw): pw + c * (res + pw) + res][::scale, ::scale]
                 for r in range(rows) for c in range(cols)]
        return torch.from_numpy(np.stack(tiles)).permute(0, 3, 1, 2).contiguous()
    raise DcganError(f"{path} is {w}x{h} pixels, which is not a {rows}x{cols} grid of {resolution}x"
                     f"{resolution} images with uniform padding; check --grid")


def parse_grid(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        r, c = (int(v) for v in text.lower().split("x"))
        assert r > 0 and c > 0
        return r, c
    except (ValueError, AssertionError):
        raise DcganError(f"--grid {text!r}: write ROWSxCOLS, e.g. 8x8") from None


FID_MIN_N = 2000  # below this FID's bias swamps the differences between runs
FOLDER_RESOLUTION = 64  # a folder reference read for a grid or image target: load_any's default


def run_data(target: str | Path | torch.Tensor) -> str:
    """The data set a run, checkpoint, weights file or export was trained on; ``mnist`` when the
    target does not say (images, arrays, grids)."""
    if isinstance(target, (str, Path)):
        path = Path(target)
        try:
            if (path / "config.json").is_file():
                return json.loads((path / "config.json").read_text())["data"]
            if path.suffix.lower() == ".safetensors" or (path / "generator.safetensors").is_file():
                from ..checkpoint import read_meta, resolve_weights

                meta = read_meta(resolve_weights(path))
                return (meta.get("config") or {}).get("data") or meta.get("data") or "mnist"
        except (OSError, ValueError, KeyError, TypeError, DcganError):
            pass
    return "mnist"


def evaluate(target: str | Path | torch.Tensor, data: str | None = None, n: int = 10000,
             features: str = "auto", grid: tuple[int, int] | str | None = None,
             seed: int = FAKE_SEED, data_dir: str | None = None, device: str = "cpu",
             metrics: tuple[str, ...] = DEFAULT, split: str | None = None,
             bn: str | None = None, ema: bool | None = None, log: Log = None,
             progress: bool = False) -> dict[str, Any]:
    """Every metric for ``target`` against ``data``'s reference split; see the module docstring.

    ``features="auto"``: the shipped classifier where one reads ``data``, else Inception-v3.
    ``split=None``: the test split, else the held-out tenth of one-split data (``data.holdout``).
    ``data`` may be a folder of images, measured at the generated images' resolution.
    ``log``: a callable for one line per stage; ``progress``: bars where stderr is a terminal."""
    from .. import data as datasets

    if not isinstance(n, int) or n <= DC_K:
        raise DcganError(f"--n {n}: give more than {DC_K} images (density and coverage compare each "
                         f"with its {DC_K} nearest neighbours; FID wants {FID_MIN_N:,} or more)")
    from ..devices import pick_device

    device = str(pick_device(device))  # "auto" from the command line: the best device here
    data = data or run_data(target)
    if data.partition(":")[0] in datasets.DATASETS or not Path(data).expanduser().is_dir():
        spec = datasets.get_spec(data)  # a name, or the "unknown data set" error
        channels, resolution = spec.channels, spec.resolution
    else:
        channels, resolution = 3, FOLDER_RESOLUTION  # a folder of images, read as training reads it
    from ..limits import MAX_IMAGES_BYTES, mib

    if n * channels * resolution ** 2 > MAX_IMAGES_BYTES:
        most = MAX_IMAGES_BYTES // (channels * resolution ** 2)
        raise DcganError(f"--n {n}: {channels}x{resolution}x{resolution} images take more than the "
                         f"{mib(MAX_IMAGES_BYTES)} dcgan holds at once; give at most {most:,}")
    if isinstance(grid, str):
        grid = parse_grid(grid)
    t0 = time.perf_counter()
    features = default_kind(data) if features == "auto" else features
    ext = extractor(data, features, device)
    if isinstance(target, torch.Tensor):
        fake, source = target, {"kind": "tensor"}
    else:
        fake, source = load_images(target, n, channels, resolution, grid, seed, device, bn, ema,
                                   log, progress)
    fake = fake[:n]
    if features == "classifier":
        check_images(fake, channels, resolution, data)
    if len(fake) < 2:
        raise DcganError(f"{target} holds {len(fake)} image(s); metrics need at least 2")
    # Inception compares at the generator's resolution: the real images resized as training did
    real, _, ref = real_features(data, ext, n, split, data_dir,
                                 None if features == "classifier" else fake.shape[-1],
                                 log=log, progress=progress)
    if len(fake) < FID_MIN_N:
        print(f"dcgan: note: FID and KID from {len(fake)} < {FID_MIN_N:,} samples are biased upward; "
              "compare runs only at the same --n (10,000 is the protocol of BENCHMARKS.md)", file=sys.stderr)
    _say(log, f"features of the {len(fake):,} {'generated' if source['kind'] == 'generator' else 'given'} images")
    fake_feats, fake_probs, fake_labels = extract(ext, fake, "features", progress)
    proto = PROTOCOLS.get(data)  # how its modes are counted (a folder of images has no classes)
    sets = Sets(real, fake_feats, fake_probs, fake_labels, n_classes=ext.n_classes, seed=seed,
                **(proto.counting() if proto else {}))
    _say(log, f"metrics: {', '.join(metrics)}")
    values = compute(sets, metrics)
    if source.get("classes"):  # a conditional generator: class accuracy and intra-FID beside these
        ref_set = datasets.reference(data, split, data_dir, None if features == "classifier" else fake.shape[-1])
        labels = None if ref_set.images.labels is None else ref_set.images.labels[:len(real)].numpy()
        values.update(perclass.measure(source["classes"], real, labels, fake_feats, fake_labels, ext.n_classes,
                                       source.get("class_prior")))
    return {
        "data": data, "source": source, "metrics": values,
        "protocol": {"n_real": len(real), "n_generated": len(fake), "reference_split": ref["split"],
                     "reference_sha256": ref["split_sha256"], "extractor": ext.name,
                     "extractor_sha256": ext.weights_sha256, "feature_dim": int(real.shape[1]),
                     **({"held_out_rule": HELD_OUT_RULE} if ref["split"] == HELD_OUT else {}),
                     "precision_recall_k": PR_K, "density_coverage_k": DC_K,
                     "mode_rule": ((proto.mode_rule if proto else
                                    "a class is covered with >= 10 % of its uniform share")
                                   if "modes" in values else None),  # Inception: no classes
                     **({"per_class_rule": perclass.RULE} if source.get("classes") else {}),
                     "dcgan_version": __version__},
        "seconds": round(time.perf_counter() - t0, 2),
    }


ROWS = [("fid", "FID", "{:.3f}"), ("kid", "KID", "{:.5f}"), ("precision", "precision", "{:.4f}"),
        ("recall", "recall", "{:.4f}"), ("density", "density", "{:.4f}"), ("coverage", "coverage", "{:.4f}"),
        ("modes", "modes covered", "{}"), ("kl_uniform", "KL(gen || uniform)", "{:.4f}"),
        ("kl_marginals", "  in digit shares", "{:.4f}"), ("kl_combination", "  in combination", "{:.4f}"),
        ("mean_confidence", "mean confidence", "{:.4f}"), ("classifier_score", "classifier score", "{:.3f}")]


def format_table(result: dict[str, Any]) -> str:
    m, p = result["metrics"], result["protocol"]
    lines = [f"{'metric':<20} value"]
    for key, label, fmt in ROWS:
        if key in m:
            value = fmt.format(m[key])
            if key == "kid":
                value += f" ± {m['kid_std']:.5f}"
            if key == "modes":
                value += f" / {m['n_modes']}"
            lines.append(f"{label:<20} {value}")
    if "histogram" in m and len(m["histogram"]) <= 10:
        lines.append(f"{'class histogram':<20} {m['histogram']}")
    lines += perclass.format_rows(m)
    lines.append(f"protocol: {p['n_generated']} generated vs {p['n_real']} real ({result['data']} "
                 f"{p['reference_split']}), {p['extractor']} features "
                 f"(sha256 {p['extractor_sha256'][:12]}), dcgan {p['dcgan_version']}")
    return "\n".join(lines)


__all__ = ["evaluate", "format_table", "real_features", "METRICS", "Sets", "compute",
           "frechet_distance", "gaussian_stats"]
