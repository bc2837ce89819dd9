"""The paper's own Tables 1 and 2 as data, so every comparison with them is computed, never typed.

``paper_table1.csv`` and ``paper_table2.csv`` are transcribed from the paper's tables (the
markdown of ``shared/paper/ppp-paper.md``) by :func:`parse_table1` and :func:`parse_table2`;
a test re-parses the paper when it is at hand and checks the committed files cell by cell.
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
# Table 1 (BHV): rows padding x F-Conv?, columns background x metric.
T1_PADDINGS = {**PADDINGS, "No-pad": "none"}
T1_FCONV = {"N": "same", "Y": "full", "-": "valid"}
T1_BACKGROUNDS = ("black", "grey")
T1_METRICS = ("similar", "dissimilar", "diff", "inconsistency")
T1_COLUMNS = ("padding", "conv_type", "background", "metric", "value", "std")


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


def parse_table1(markdown: str) -> list[dict]:
    """Table 1's cells (the BHV test) from the paper's markdown, one dict per (padding, conv
    type, background, metric); ``diff`` has no std (NaN)."""
    start = markdown.index("<tbody>", markdown.index("Background color as a critical confounding"))
    body = markdown[start: markdown.index("</tbody>", start)]
    rows, padding = [], None
    for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip()
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", re.sub(r"<math>\\pm</math>", "±", tr), re.S)]
        if len(cells) == 10:
            padding, cells = T1_PADDINGS[cells[0]], cells[1:]
        if len(cells) != 9 or padding is None:
            raise ValueError(f"Table 1 row with {len(cells)} cells, expected 9 or 10: {tr[:80]!r}")
        conv, values = T1_FCONV[cells[0]], cells[1:]
        for (background, metric), cell in zip(((b, m) for b in T1_BACKGROUNDS for m in T1_METRICS), values,
                                              strict=True):
            value, _, std = cell.partition("±")
            rows.append({"padding": padding, "conv_type": conv, "background": background, "metric": metric,
                         "value": float(value), "std": float(std) if std else math.nan})
    return rows


def to_csv(rows: list[dict], columns: tuple[str, ...] = COLUMNS) -> str:
    """Rows as CSV with exact floats (``repr``) and flags as 0 / 1."""
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: int(v) if isinstance(v, bool) else repr(v) if isinstance(v, float) else v for k, v in r.items()})
    return out.getvalue()


def _read(name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(resources.files(__package__).joinpath(name).read_text())))


@functools.cache
def paper_table2() -> tuple[dict, ...]:
    """The committed transcription (``pppcore/repro/paper_table2.csv``), typed."""
    return tuple({**r, "value": float(r["value"]), "std": float(r["std"]), "nan_in_trials": r["nan_in_trials"] == "1"}
                 for r in _read("paper_table2.csv"))


@functools.cache
def paper_table1() -> tuple[dict, ...]:
    """The committed transcription of Table 1 (``pppcore/repro/paper_table1.csv``), typed."""
    return tuple({**r, "value": float(r["value"]), "std": float(r["std"])} for r in _read("paper_table1.csv"))


def paper_bhv(padding: str, conv_type: str, background: str, metric: str) -> float:
    """The paper's Table 1 mean for one cell (``KeyError`` naming it when the paper has none)."""
    for r in paper_table1():
        if (r["padding"], r["conv_type"], r["background"], r["metric"]) == (padding, conv_type, background, metric):
            return r["value"]
    raise KeyError(f"the paper's Table 1 has no cell {(padding, conv_type, background, metric)}")


@functools.cache
def _index() -> dict[tuple[str, str, str, str], float]:
    return {(r["arch"], r["padding"], r["stage"], r["metric"]): r["value"] for r in paper_table2()}


def paper_value(arch: str, padding: str, stage: str, metric: str) -> float | None:
    """The paper's Table 2 mean for one cell, ``None`` where the paper has none.

    ``stage`` is ``init`` (the table's "x" rows) or ``trained`` (ImageNet / DUTS).
    """
    value = _index().get((arch, padding, stage, metric))
    return None if value is None or math.isnan(value) else value
