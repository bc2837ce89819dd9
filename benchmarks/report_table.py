"""Shared by the benchmark scripts: print the rows as a table, write them as CSV atomically."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pppcore.io import write_text


def print_and_write(rows: list[dict], out: str | Path) -> None:
    """A Markdown-style table on stdout and ``out`` as CSV (a reader never sees half a table)."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    print()
    print(" | ".join(keys))
    print(" | ".join("---" for _ in keys))
    for row in rows:
        print(" | ".join(str(row.get(k, "")) for k in keys))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys, restval="")
    writer.writeheader()
    writer.writerows(rows)
    write_text(out, buf.getvalue())
    print(f"\nwrote {out}")
