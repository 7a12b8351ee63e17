"""What a benchmark row was measured on: the CPU model and the divest commit.

Speed rows of different machines are not comparable (this project's 2-core machines have
been an Intel and an AMD EPYC whose per-core speeds differ about twofold), so the timing
scripts record both with every row.  Imported by the scripts as ``from _machine import
...`` (they run with ``benchmarks/`` first on the path).
"""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; the platform's processor elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def divest_commit() -> str:
    """The short commit of the imported divest, ``+changes`` when its files differ from it."""
    import divest
    here = Path(divest.__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=here,
                               capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + ("+changes" if dirty else "")
