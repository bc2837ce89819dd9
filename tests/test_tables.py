"""Table 2: PPP + PosENet aggregation, NaN kept as ``*`` / NaN, colour marks, performance."""

import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from pppcore.repro.paper import paper_table2
from pppcore.repro.tables import collect, collect_posenet, marks, rows_not_run, table2, table2_latex

LAYERS = ("layer1", "layer2", "layer3", "layer4")


def write_run(root, arch, padding, seed, epoch, mae4, spc_trials, mae_trials, **meta):
    """One PPP extraction JSON and one PosENet JSON for a checkpoint, as the workflow writes them."""
    base = root / arch / padding / f"seed{seed}"
    base.mkdir(parents=True, exist_ok=True)
    layers = {name: {"mae_ppp": mae4 / (4 - i), "snr_ppp": 10 * mae4 / (4 - i), "degenerate": False, "n_images": 8}
              for i, name in enumerate(LAYERS)}
    cfg = {"arch": arch, "padding": padding}
    (base / f"ppp_epoch_{epoch:03d}.json").write_text(json.dumps({"config": cfg, "epoch": epoch, "layers": layers,
                                                                  **meta}))
    trials = [{"trial": i, "spc": s, "mae": m} for i, (s, m) in enumerate(zip(spc_trials, mae_trials, strict=True))]
    (base / f"posenet_epoch_{epoch:03d}.json").write_text(json.dumps({"config": cfg, "epoch": epoch, "trials": trials}))
    return base / f"ppp_epoch_{epoch:03d}.json", base / f"posenet_epoch_{epoch:03d}.json"


@pytest.fixture
def grid(tmp_path):
    """resnet50 x (zeros, circular, randn) x seeds 0, 1 x epochs 0, 4; a NaN trial in circular."""
    rng = np.random.default_rng(0)
    ppp, pn, spc = [], [], {}
    for padding, strength in (("zeros", 0.6), ("circular", 0.1), ("randn", 0.3)):
        for seed in (0, 1):
            for epoch in (0, 4):
                s = list(strength + 0.05 * rng.standard_normal(3))
                if padding == "circular" and seed == 1 and epoch == 4:
                    s[2] = None
                spc[padding, seed, epoch] = s
                paths = write_run(tmp_path, "resnet50", padding, seed, epoch, strength * (1 + epoch), s,
                                  [0.2 - 0.1 * strength] * 3, val_acc=0.5 + 0.1 * seed)
                ppp.append(paths[0])
                pn.append(paths[1])
    return ppp, pn, spc


def test_posenet_columns_keep_nan_and_show_a_star(grid):
    ppp, pn, spc = grid
    t = table2(collect(ppp), collect_posenet(pn))
    row = t[(t["padding"] == "circular") & (t["stage"] == "trained")].iloc[0]
    values = spc["circular", 0, 4] + spc["circular", 1, 4]
    finite = [v for v in values if v is not None]
    assert row["posenet_trials"] == 6 and row["posenet_spc_nan"] == 1 and math.isnan(row["posenet_spc_mean"])
    assert row["posenet_spc_finite_mean"] == pytest.approx(np.mean(finite))
    assert row["posenet_spc_finite_std"] == pytest.approx(np.std(finite))
    assert row["posenet_mae_nan"] == 0 and not math.isnan(row["posenet_mae_mean"])
    zeros = t[(t["padding"] == "zeros") & (t["stage"] == "init")].iloc[0]
    assert zeros["posenet_spc_mean"] == pytest.approx(np.mean(spc["zeros", 0, 0] + spc["zeros", 1, 0]))
    tex = table2_latex(t)
    assert f"*{np.mean(finite):.3f}$\\pm${np.std(finite):.3f}" in tex
    assert tex.count("*") - tex.count("% *") == 1  # only the NaN cell
    back = pd.read_csv(io.StringIO(t.to_csv(index=False)))
    assert math.isnan(back.loc[row.name, "posenet_spc_mean"]) and back.loc[row.name, "posenet_spc_nan"] == 1


def test_rows_of_the_paper_not_run_are_named_under_the_table(grid):
    ppp, pn, _ = grid
    t = table2(collect(ppp), collect_posenet(pn))  # resnet50 only, some paddings
    missing = rows_not_run(t)
    assert "vgg19 none" in missing and "efficientnet_b0 reflect" in missing
    assert not any(m.startswith("resnet50 " + p) for m in missing for p in set(t["padding"]))
    assert table2_latex(t).rstrip().endswith("(config/paper.yaml runs every row).")
    paper = {(r["arch"], r["padding"]) for r in paper_table2()}
    full = pd.DataFrame([{"arch": a, "padding": p} for a, p in paper])
    assert rows_not_run(full) == [] and len(paper) == 22  # the paper's none rows: VGGs only


def test_all_trials_nan_is_a_bare_star(tmp_path):
    ppp, pn = write_run(tmp_path, "vgg19", "circular", 0, 0, 0.1, [None, None], [0.2, 0.2], val_acc=0.1)
    t = table2(collect([ppp]), collect_posenet([pn]), final_epoch=0)
    line = next(row for row in table2_latex(t).splitlines() if row.startswith("vgg19"))
    assert line.split(" & ")[3] == "*"


def test_strongest_red_weakest_blue_among_trained_rows(grid):
    ppp, pn, _ = grid
    t = table2(collect(ppp), collect_posenet(pn))
    m = marks(t)
    trained = t[t["stage"] == "trained"].set_index("padding")
    idx = {p: t.index[(t["padding"] == p) & (t["stage"] == "trained")][0] for p in trained.index}
    # MAE-PPP: zeros strongest (highest), circular weakest.
    assert m[idx["zeros"], "mae_ppp"] == "red" and m[idx["circular"], "mae_ppp"] == "blue"
    # PosENet MAE: lower is stronger.
    assert m[idx["zeros"], "posenet_mae"] == "red" and m[idx["circular"], "posenet_mae"] == "blue"
    # The NaN cell is not ranked: the weakest SPC among the other two is randn.
    assert (idx["circular"], "posenet_spc") not in m and m[idx["randn"], "posenet_spc"] == "blue"
    assert all(t.loc[i, "stage"] == "trained" for i, _ in m)
    tex = table2_latex(t)
    assert tex.count("\\textcolor{red}") == tex.count("\\textcolor{blue}") == 4
    assert "\\usepackage{xcolor}" in tex and "\\toprule" in tex and "\\bottomrule" in tex


def test_performance_prefers_the_task_metric(tmp_path):
    a = write_run(tmp_path, "vgg16", "zeros", 0, 3, 0.1, [0.5], [0.2], val_acc=0.9, performance=0.62,
                  performance_metric="weighted_f")
    b = write_run(tmp_path, "resnet50", "zeros", 0, 3, 0.1, [0.5], [0.2], val_acc=0.7)
    c = write_run(tmp_path, "resnet50", "zeros", 0, 0, 0.1, [0.5], [0.2], val_acc=0.1)
    d = write_run(tmp_path, "vgg16", "zeros", 0, 0, 0.1, [0.5], [0.2], val_acc=0.1, performance=0.1,
                  performance_metric="weighted_f")
    t = table2(collect([a[0], b[0], c[0], d[0]]), collect_posenet([a[1], b[1], c[1], d[1]]))
    trained = t[t["stage"] == "trained"].set_index("arch")
    assert trained.loc["vgg16", "performance_mean"] == pytest.approx(0.62)
    assert trained.loc["resnet50", "performance_mean"] == pytest.approx(70.0)
    tex = table2_latex(t)
    assert "Performance ($\\uparrow$)" in tex and "vgg16 ($F^w_\\beta$)" in tex and "resnet50 (Top-1 (\\%))" in tex
    only = table2(collect([b[0], c[0]]), collect_posenet([b[1], c[1]]))
    assert "Top-1 (\\%) ($\\uparrow$)" in table2_latex(only)


def test_bad_inputs_name_the_file(tmp_path):
    ppp, pn = write_run(tmp_path, "vgg19", "zeros", 0, 0, 0.1, [0.5], [0.2], performance=0.5, performance_metric="iou")
    with pytest.raises(ValueError, match="ppp_epoch_000.json: performance_metric 'iou'"):
        collect([ppp])
    pn.write_text(json.dumps({"config": {"arch": "vgg19", "padding": "zeros"}, "epoch": 0, "trials": []}))
    with pytest.raises(ValueError, match="posenet_epoch_000.json: no PosENet trials"):
        collect_posenet([pn])
