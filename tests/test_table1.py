"""Table 1 (pppcore.repro.table1): aggregation, row order and the paper's green/red marks."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from pppcore.io import write_json
from pppcore.repro.table1 import PREAMBLE, collect, marks, table1, table1_latex

# (padding, conv type) -> per background: two trials of (similar, dissimilar, inconsistency)
TRIALS = {
    ("zeros", "same"): {"black": [(100, 10, 90), (98, 20, 80)], "grey": [(100, 5, 95), (100, 15, 85)]},
    ("zeros", "full"): {"black": [(90, 90, 20), (90, 88, 16)], "grey": [(100, 4, 96), (100, 6, 94)]},
    ("circular", "full"): {"black": [(99, 93, 18), (99, 93, 18)], "grey": [(98, 92, 28), (98, 92, 30)]},
    ("none", "valid"): {"black": [(100, 3, 96), (100, 3, 94)], "grey": [(100, 30, 80), (100, 30, 82)]},
}


def frame() -> pd.DataFrame:
    rows = []
    for (padding, conv), per_bg in TRIALS.items():
        for bg, trials in per_bg.items():
            for t, (s, d, i) in enumerate(trials):
                rows.append({"padding": padding, "conv_type": conv, "background": bg, "trial": t,
                             "similar": float(s), "dissimilar": float(d), "diff": float(d - s), "inconsistency": float(i)})
    return pd.DataFrame(rows).sample(frac=1, random_state=0)  # order must not matter


def test_table1_aggregates_trials_in_the_papers_row_order():
    t = table1(frame())
    assert list(zip(t["padding"], t["fconv"], strict=True)) == [("zeros", "N"), ("zeros", "Y"), ("circular", "Y"), ("none", "-")]
    zs = t.iloc[0]
    assert zs["black_similar_mean"] == 99 and zs["black_similar_std"] == 1  # population std, as the original
    assert zs["black_dissimilar_mean"] == 15 and zs["black_diff"] == -84
    assert zs["grey_inconsistency_mean"] == 90 and zs["grey_inconsistency_std"] == 5
    assert zs["black_trials"] == zs["grey_trials"] == 2


def test_marks_best_green_worst_two_red():
    assert marks(pd.Series([10.0, 90.0, 50.0, 5.0]), "high") == ["red", "green", "", "red"]
    assert marks(pd.Series([10.0, 90.0, 50.0, 5.0]), "low") == ["", "red", "red", "green"]
    assert marks(pd.Series([-80.0, 0.0, -6.0, 3.0]), "zero") == ["red", "green", "red", ""]
    # ties: every best row is green; rows at the second-worst printed value are red
    assert marks(pd.Series([100.0, 100.0, 80.0, 90.0, 99.999]), "high") == ["green", "green", "red", "red", "green"]
    assert marks(pd.Series([7.0, 7.0, 7.0]), "high") == ["", "", ""]
    assert marks(pd.Series([7.0, math.nan, 3.0]), "high") == ["green", "", "red"]


def test_latex_marks_the_papers_cells():
    t = table1(frame())
    tex = table1_latex(t)
    assert tex.startswith(PREAMBLE) and "xcolor" in PREAMBLE and "booktabs" in PREAMBLE
    assert "\\toprule" in tex and "\\bottomrule" in tex and tex.count("\\cmidrule") == 2
    body = tex.split("\\midrule\n")[1].split("\\bottomrule")[0].strip().splitlines()
    assert len(body) == 4
    cells = [row.rstrip(" \\").split(" & ") for row in body]
    assert [c[0] for c in cells] == ["Zeros", "", "Circular", "No-pad"]
    green, red = "\\textcolor{green!60!black}", "\\textcolor{red}"
    # black dissimilar (column 3): best circular F-Conv (93), worst two no-pad (3) and zeros same (15)
    assert cells[2][3].startswith(green) and "93.00$\\pm$0.00" in cells[2][3]
    assert cells[3][3].startswith(red) and cells[0][3].startswith(red) and not cells[1][3].startswith(("\\textcolor",))
    # black inconsistency (column 5): lowest is best
    assert cells[1][5].startswith(green) and cells[3][5].startswith(red) and cells[0][5].startswith(red)
    # grey diff (column 8): closest to zero is best, no +-
    assert cells[2][8] == f"{green}{{-6.00}}" and cells[1][8] == f"{red}{{-95.00}}"


def test_collect_reads_job_jsons_and_names_a_bad_file(tmp_path):
    good = tmp_path / "zeros_full.json"
    write_json(good, {"padding": "zeros", "conv_type": "full", "background": "grey",
                      "trials": [{"trial": 0, "similar": 99.0, "dissimilar": 60.0, "diff": -39.0, "inconsistency": 40.0, "seconds": 1}]})
    df = collect([good])
    assert df.iloc[0].to_dict() == {"padding": "zeros", "conv_type": "full", "background": "grey", "trial": 0,
                                    "similar": 99.0, "dissimilar": 60.0, "diff": -39.0, "inconsistency": 40.0}
    bad = tmp_path / "broken.json"
    bad.write_text(json.dumps({"padding": "zeros", "trials": [{"trial": 0}]}))
    with pytest.raises(ValueError, match="broken.json: BHV result lacks key 'conv_type'"):
        collect([good, bad])
    with pytest.raises(ValueError, match="no BHV results"):
        collect([])
    empty = tmp_path / "empty.json"
    write_json(empty, {"padding": "zeros", "conv_type": "full", "background": "grey", "trials": []})
    with pytest.raises(ValueError, match="empty.json: BHV result has no trials"):
        collect([empty])
    missing_metric = tmp_path / "partial.json"
    write_json(missing_metric, {"padding": "zeros", "conv_type": "full", "background": "grey", "trials": [{"trial": 0, "similar": 1.0}]})
    with pytest.raises(ValueError, match="partial.json: BHV result lacks key 'dissimilar'"):
        collect([missing_metric])
