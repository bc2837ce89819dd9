"""The paper's own Table 2 as data, so every comparison with it is computed, never typed.

``paper_table2.csv`` is transcribed from the paper's Table 2 (the markdown of
``shared/paper/ppp-paper.md``) by :func:`parse_table2`; a test re-parses the paper when
it is at hand and checks the committed file cell by cell.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import re
from importlib import resources

ARCHS = {"VGG-19": "vgg19", "VGG16-SOD": "vgg16", "ResNet50": "resnet50", "EfficientNet": "efficientnet_b0"}
PADDINGS = {"Zeros": "zeros", "Circular": "circular", "Reflect": "reflect", "Replicate": "replicate",
            "Randn": "randn", "No-padding": "none"}
# Table 2's columns after (model, padding, pretrained); each but the last holds "init<br/>trained".
METRICS = ("posenet_spc", "posenet_mae", "snr_ppp", "mae_ppp", "performance")
COLUMNS = ("arch", "padding", "stage", "metric", "value", "std", "nan_in_trials")
STAGES = ("init", "trained")


def _number(cell: str) -> tuple[float, float, bool]:
    """``'*0.027<math>\\pm</math>0.093'`` -> (0.027, 0.093, True); ``*`` marks a NaN trial."""
    text = re.sub(r"<[^>]+>", "", cell.replace("<math>\\pm</math>", "±")).strip()
    star = text.startswith("*")
    value, std = text.lstrip("*").split("±")
    return float(value), float(std), star


def parse_table2(markdown: str) -> list[dict]:
    """Table 2's cells from the paper's markdown, one dict per (arch, padding, stage, metric)."""
    start = markdown.index("<!-- VGG-19 -->")
    body = markdown[start: markdown.index("</table>", start)]
    rows, arch = [], None
    for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        if len(cells) == 8:
            arch = ARCHS[re.sub(r"<[^>]+>", "", cells[0]).strip()]
            cells = cells[1:]
        if len(cells) != 7 or arch is None:
            raise ValueError(f"Table 2 row with {len(cells)} cells, expected 7 or 8: {tr[:80]!r}")
        padding = PADDINGS[re.sub(r"<[^>]+>", "", cells[0]).strip()]
        for metric, cell in zip(METRICS, cells[2:], strict=True):
            parts = cell.split("<br/>")
            stages = STAGES if len(parts) == 2 else ("trained",)
            for stage, part in zip(stages, parts, strict=True):
                value, std, star = _number(part)
                rows.append({"arch": arch, "padding": padding, "stage": stage, "metric": metric,
                             "value": value, "std": std, "nan_in_trials": star})
    return rows


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({**r, "value": repr(r["value"]), "std": repr(r["std"]), "nan_in_trials": int(r["nan_in_trials"])})
    return out.getvalue()


@functools.cache
def paper_table2() -> tuple[dict, ...]:
    """The committed transcription (``pppcore/repro/paper_table2.csv``), typed."""
    text = resources.files(__package__).joinpath("paper_table2.csv").read_text()
    return tuple({**r, "value": float(r["value"]), "std": float(r["std"]), "nan_in_trials": r["nan_in_trials"] == "1"}
                 for r in csv.DictReader(io.StringIO(text)))


@functools.cache
def _index() -> dict[tuple[str, str, str, str], float]:
    return {(r["arch"], r["padding"], r["stage"], r["metric"]): r["value"] for r in paper_table2()}


def paper_value(arch: str, padding: str, stage: str, metric: str) -> float | None:
    """The paper's Table 2 mean for one cell, ``None`` where the paper has none.

    ``stage`` is ``init`` (the table's "x" rows) or ``trained`` (ImageNet / DUTS).
    """
    value = _index().get((arch, padding, stage, metric))
    return None if value is None or math.isnan(value) else value
