"""Peak resident memory (RSS) of a dcgan command, run as a child process.

    PYTHONPATH=src python benchmarks/peak_memory.py -- train --epochs 1 --limit 4096 --out /tmp/m1
    PYTHONPATH=src python benchmarks/peak_memory.py -- sample /tmp/m1 --n 50000 --out /tmp/x.npz

Prints the command, its wall time and the child's peak RSS (Linux ``ru_maxrss``, KiB).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    cmd = [sys.executable, "-m", "dcgan", *argv]
    t = time.perf_counter()
    rc = subprocess.call(cmd)
    secs = time.perf_counter() - t
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"dcgan {' '.join(argv)}: exit {rc}, {secs:.1f} s, peak RSS {peak_kib / 1024:.0f} MiB")
    return rc


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
