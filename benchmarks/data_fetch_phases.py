"""Time each phase of fetching emoji and fashion-mnist (needs npm, apt-get and the registries).

    PYTHONPATH=src npm_config_cache=/tmp/npmcold python benchmarks/data_fetch_phases.py
"""

import tempfile
import time
from pathlib import Path

from dcgan.data import cache, emoji, fashion, mnist, sources


def main() -> None:
    last = [time.perf_counter(), time.process_time()]

    def lap(name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        print(f"{name}: wall {wall - last[0]:.2f} s, cpu {cpu - last[1]:.2f} s", flush=True)
        last[:] = [time.perf_counter(), time.process_time()]

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tar = sources.npm_pack(emoji.PACKAGE, emoji.INTEGRITY, tmp)
        lap("npm pack + sha512")
        split = emoji.from_tarball(tar)["train"]
        lap(f"decode {len(split)} PNGs from the tarball")
        cache.save_split(tmp / "e.safetensors", split)
        lap("save_split emoji")
        split = cache.load_split(tmp / "e.safetensors")
        lap("load_split emoji")
        emoji.finish(split, None)
        lap("composite onto white")
        root = sources.apt_download(fashion.DEBIAN_PACKAGE, tmp)
        lap("apt-get download + dpkg-deb -x")
        folder = fashion.verify_folder(root / fashion.IN_PACKAGE)
        lap("verify the decompressed md5s")
        splits = mnist.idx_splits(folder, fashion.RAW_MD5, "fashion-mnist", fashion.CLASSES)
        lap("parse IDX")
        cache.save_split(tmp / "f.safetensors", splits["train"])
        lap("save_split fashion train")
        cache.load_split(tmp / "f.safetensors")
        lap("load_split fashion train")


if __name__ == "__main__":
    main()
