"""The longest silence of each DVC stage: pipe `dvc repro` through it (both streams) and it prints, per stage, the
longest time without an output line (from the stage's start to its first line, between lines, and from its last
line to the next stage), then every line with the seconds since the previous one.

    dvc repro -f 2>&1 | python bench/silences.py
"""

import re
import sys
import time

STAGE = re.compile(r"Running stage '([^']+)'")

last = time.monotonic()
stage = "(before any stage)"
longest: dict[str, tuple[float, str]] = {}
for line in sys.stdin:
    now = time.monotonic()
    gap, last = now - last, now
    if gap > longest.get(stage, (0.0, ""))[0]:
        longest[stage] = (gap, line.strip())
    print(f"{gap:6.1f}s  {line.rstrip()}", flush=True)
    if found := STAGE.search(line):
        stage = found.group(1)
        longest.setdefault(stage, (0.0, ""))
print("\nlongest silence per stage (seconds, the line that ended it):")
for name, (gap, ended_by) in longest.items():
    print(f"  {name:20} {gap:6.1f}  {ended_by[:70]}")
