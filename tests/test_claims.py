"""Claims verdicts on synthetic result frames: holds, does not hold, not testable, not run; one row
per claim instance, judged under the primary reading and size and reported under every other."""

import math
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.patches import Rectangle

from pppcore.metrics import SNR_READINGS, ZERO_PPP_REL
from pppcore.repro.claims import (
    BHV_CLAIMS,
    COLUMNS,
    NA,
    VERDICTS,
    claim_row,
    claims_latex,
    claims_markdown,
    claims_rst,
    claims_table,
    learned,
    verdict_line,
)
from pppcore.repro.paper import paper_value
from pppcore.repro.verdict_matrix import STYLE, cell_codes, matrix_columns, row_notes, verdict_matrix

from helpers import frame

SCALE = "synthetic"
PAPER = Path(__file__).resolve().parents[2] / "shared" / "paper" / "ppp-paper.md"


def growing(arch, padding, seed, epoch):
    """A surge to the first checkpoint, then slower growth; none-padded models have zero PPP."""
    return 0.0 if padding == "none" else 0.1 + epoch * (0.2 if epoch <= 2 else 0.05)


def table(df, **kw):
    return claims_table(df, SCALE, **kw).set_index("id", drop=False)


def row(df, claim_id, **kw):
    return table(df, **kw).loc[claim_id]


# ---------------------------------------------------------------------------- 4.1: training strengthens PPP


def test_training_strengthens_ppp_holds_and_fails_per_seed():
    t = table(frame(growing))
    assert t.loc["train-snr/vgg19/zeros", "verdict"] == t.loc["train-mae/vgg19/circular", "verdict"] == "holds"
    assert t.loc["train-snr/vgg19/zeros", "seeds"] == "2/2 seeds"
    one_seed_down = frame(lambda a, p, s, e: 0.5 - 0.1 * e if s == 1 else 0.1 + 0.1 * e)
    r = row(one_seed_down, "train-mae/vgg19/zeros")
    assert r["verdict"] == "does not hold" and r["seeds"] == "1/2 seeds" and "on 1 of 2 seeds" in r["why"]
    assert r["reading"] == "mae_rel" and "MAE-PPP / mean|A|" in r["claim"]


def test_undefined_snr_is_left_out_never_read_as_zero():
    """Old code read a NaN init SNR as 0, so trained > init "held" on a seed with no SNR at all."""
    nan_init = frame(lambda a, p, s, e: math.nan if (e == 0 and p == "circular") else 0.2 + e)
    r = row(nan_init, "train-snr/vgg19/circular")
    assert r["verdict"] == "not testable at this scale" and "undefined" in r["why"] and r["seeds"] == NA
    one_nan = frame(lambda a, p, s, e: math.nan if (e == 0 and s == 0) else 0.2 + e)
    r = row(one_nan, "train-snr/vgg19/zeros")
    assert r["verdict"] == "holds" and r["seeds"] == "1/1 seeds" and "1 seed(s) left out" in r["why"]


def test_training_claims_only_where_the_papers_own_number_rises():
    ids = set(table(frame(growing, archs=("vgg16", "efficientnet_b0"), paddings=("zeros", "randn")))["id"])
    assert paper_value("vgg16", "zeros", "trained", "mae_ppp") < paper_value("vgg16", "zeros", "init", "mae_ppp")
    # MAE-PPP falls in the paper
    assert "train-mae/vgg16/zeros" not in ids and "train-mae/efficientnet_b0/randn" not in ids
    assert {"train-snr/vgg16/zeros", "train-snr/efficientnet_b0/randn", "train-mae/vgg16/randn"} <= ids
    assert not any(i.endswith("/none") for i in ids if i.startswith("train"))


def test_learned_is_per_padding_with_a_bar_an_undertrained_model_misses():
    """Old code: 2 x chance (20 % on 10 classes), every padding's mean at once."""
    assert not learned(frame(growing, performance=0.3), "vgg19", "zeros", 4)[0]  # old: learned
    assert learned(frame(growing, performance=0.5), "vgg19", "zeros", 4)[0]
    saliency = frame(growing, archs=("vgg16",), metric="weighted_f", performance=0.4)
    assert not learned(saliency, "vgg16", "zeros", 4)[0]
    mixed = frame(growing, performance=lambda a, p, s: 0.8 if p == "zeros" else 0.31)
    t = table(mixed)
    assert t.loc["train-snr/vgg19/zeros", "verdict"] == "holds"
    circular = t.loc["train-snr/vgg19/circular"]
    assert circular["verdict"] == "not testable at this scale" and "did not learn: top-1 31 % < 50 %" in circular["why"]
    assert "50 %" in circular["claim"]


def test_efficientnet_that_did_not_learn_is_not_testable_with_its_accuracy():
    df = frame(growing, archs=("vgg19", "efficientnet_b0"),
               performance=lambda a, p, s: 0.12 if a == "efficientnet_b0" else 0.9)
    t = table(df)
    effnet = t[t["id"].str.contains("efficientnet_b0") & ~t["id"].str.startswith("spread")
               & ~t["id"].str.contains("reflect|replicate|randn")]
    assert len(effnet) == 6 and set(effnet["verdict"]) == {"not testable at this scale"}
    assert effnet["why"].str.contains("top-1 12 % < 50 %").all()
    assert t.loc["train-snr/vgg19/zeros", "verdict"] == "holds"


# ---------------------------------------------------------------------------- 4.2: VGG init, spread, no padding


def test_vgg_init_zero_uses_the_metrics_zero_ppp_test():
    """Old code: <= 1e-3 x zeros' MAE-PPP; a padding at 5e-4 of zeros passed while the metric
    still gave it a non-zero SNR."""
    small = frame(lambda a, p, s, e: 1.0 if p == "zeros" else 5e-4)
    small["zero_ppp"] = small["mae_ppp"] <= ZERO_PPP_REL * small["mean_abs"]
    r = row(small, "vgg-init-zero/vgg19")
    assert (r["verdict"] == "does not hold" and "circular 0/2 seeds zero" in r["ours"]
            and f"{ZERO_PPP_REL:g} x mean|A|" in r["claim"])
    zero = frame(lambda a, p, s, e: 1.0 if p == "zeros" else 0.0)
    assert row(zero, "vgg-init-zero/vgg19")["verdict"] == "holds"
    assert row(frame(growing, paddings=("zeros", "none")), "vgg-init-zero/vgg19")["verdict"] == "not run"
    assert "vgg-init-zero/vgg16" not in table(zero).index  # vgg16 is not in the run: all/vgg16 says so


def test_spread_claim_compares_ppp_and_posenet_dominance():
    df = frame(lambda a, p, s, e: (1.0 if p == "zeros" else 0.5) + 0.01 * s)
    noisy = pd.DataFrame([{"arch": "vgg19", "padding": p, "seed": s, "epoch": 4, "trial": t,
                           "spc": (-1) ** t * 0.3 + 0.01 * (p == "zeros")}
                          for p in ("zeros", "circular") for s in (0, 1) for t in (0, 1)])
    assert row(df, "spread/vgg19", posenet=noisy)["verdict"] == "holds"
    quiet = noisy.assign(spc=lambda d: (d["padding"] == "zeros") * 1.0 + 0.001 * d["trial"])
    noisy_ppp = frame(lambda a, p, s, e: (1.0 if p == "zeros" else 0.99) + s)
    assert row(noisy_ppp, "spread/vgg19", posenet=quiet)["verdict"] == "does not hold"
    assert row(df, "spread/vgg19")["verdict"] == "not run"
    assert row(frame(growing, seeds=(0,)), "spread/vgg19", posenet=noisy)["verdict"] == "not testable at this scale"


def test_none_claim_and_the_papers_posenet_numbers_quoted():
    assert row(frame(growing, paddings=("zeros", "none")), "none")["verdict"] == "holds"
    assert row(frame(lambda a, p, s, e: 1e-9, paddings=("none",)), "none")["verdict"] == "does not hold"
    r = row(frame(growing), "none")
    assert r["verdict"] == "not run"
    # old text: "up to 0.2 +- 0.3"; the paper prints these
    assert ("vgg19 0.000 ± 0.091 -> 0.001 ± 0.220" in r["paper"] and "0.003 ± 0.252" in r["paper"]
            and "up to" not in r["paper"])


def test_sections_follow_the_paper():
    t = table(frame(growing, paddings=("zeros", "circular", "none")))
    section = {i.split("/")[0]: s for i, s in zip(t["id"], t["section"], strict=True)}
    assert section["train-snr"] == section["train-mae"] == "4.1, Table 2"
    assert section["spread"] == section["none"] == section["vgg-init-zero"] == "4.2, Table 2"
    assert section["fig5"] == section["fig5-mae"] == "4.3, Fig 5"


@pytest.mark.skipif(not PAPER.exists(), reason="the paper's markdown is not in this checkout")
def test_paper_sentences_are_quoted_verbatim():
    text = PAPER.read_text()
    t = table(frame(growing, paddings=("zeros", "circular", "none")))
    quoted = t.loc[~t["id"].str.startswith("all/"), "paper_sentence"]
    assert len(quoted) == len(t) - 3 and all(s in text for s in quoted)  # 3 archs not run
    assert all(s in text for _, s in BHV_CLAIMS.values())


# ---------------------------------------------------------------------------- 4.3: chronological PPP


@pytest.mark.parametrize("curve, verdict", [
    ({0: 0.1, 2: 0.5, 4: 0.6}, "holds"),  # surge then slower growth
    ({0: 0.1, 2: 0.2, 4: 0.6}, "does not hold"),  # growth without a surge
    ({0: 0.5, 2: 0.3, 4: 0.2}, "does not hold"),  # falls
])
def test_fig5_surge_then_growth(curve, verdict):
    t = table(frame(lambda a, p, s, e: curve[e]))
    assert t.loc["fig5/vgg19", "verdict"] == t.loc["fig5-mae/vgg19", "verdict"] == verdict


def test_fig5_is_paired_per_seed():
    """Old code judged the mean curve: one seed falling after the surge was hidden by the other."""
    df = frame(lambda a, p, s, e: {0: 0.1, 2: 0.5, 4: 1.0 if s == 0 else 0.45}[e])
    r = row(df, "fig5/vgg19")
    assert r["verdict"] == "does not hold" and r["seeds"] == "2/4 curves"


def test_fig5_leaves_out_paddings_that_did_not_learn():
    """Old code averaged every padding, learned or not."""
    df = frame(lambda a, p, s, e: {0: 0.1, 2: 0.5, 4: 0.6}[e] if p == "zeros" else 1.0 - 0.2 * e,
               performance=lambda a, p, s: 0.9 if p == "zeros" else 0.2)
    r = row(df, "fig5/vgg19")
    assert r["verdict"] == "holds" and "circular (top-1 20 % < 50 %)" in r["why"]
    nobody = row(frame(growing, performance=0.2), "fig5/vgg19")
    assert nobody["verdict"] == "not testable at this scale" and "did not learn" in nobody["why"]
    assert row(frame(growing, epochs=(0, 4)), "fig5-mae/vgg19")["verdict"] == "not testable at this scale"


def test_fig5_is_judged_scale_free_and_names_its_reading():
    t = table(frame(growing), primary_reading="snr_chw")
    snr, mae = t.loc["fig5/vgg19"], t.loc["fig5-mae/vgg19"]
    assert (snr["reading"], mae["reading"]) == ("snr_chw", "mae_rel")
    assert "snr_chw" in snr["claim"] and "mae_rel" in mae["claim"] and snr["claim"] != mae["claim"]
    assert "mae_ppp" not in set(t.loc[t["id"].str.startswith("fig5"), "reading"])


# ---------------------------------------------------------------------------- readings and sizes


def test_columns_and_the_primary_cell_is_the_verdict():
    df = frame(growing, paddings=("zeros", "circular", "none"), sizes=(224, 64))
    t = claims_table(df, SCALE, bhv_rows=[bhv_row()], primary_reading="snr_pooled")
    cells = [f"{r}@{s}" for s in (224, 64) for r in SNR_READINGS]
    assert list(t.columns) == [*COLUMNS, *cells] and "scale" not in t.columns
    assert (t["snr_pooled@224"] == t["verdict"]).all() and t.attrs["primary"] == "snr_pooled@224"
    bhv = t.set_index("id").loc["bhv/x"]
    assert bhv["size"] == NA and [bhv[c] for c in cells if c != "snr_pooled@224"] == [NA] * (len(cells) - 1)
    fixed = t[t["reading"] == "mae_rel"]
    for size in (224, 64):
        assert fixed[[f"{r}@{size}" for r in SNR_READINGS]].nunique(axis=1).eq(1).all()
    assert set(t.loc[t["id"] != "bhv/x", "size"]) == {224}
    assert set(t[cells].to_numpy().ravel()) <= {*VERDICTS, NA}


def test_a_verdict_that_depends_on_the_reading_is_shown_under_every_reading():
    df = frame(growing)
    df.loc[df["epoch"] == 4, "snr_chw"] = 0.0  # under snr_chw, training weakens PPP
    t = table(df)
    r = t.loc["train-snr/vgg19/zeros"]
    assert r["verdict"] == "holds" and r["reading"] == "snr_ppp" and r["snr_chw@224"] == "does not hold"
    flipped = row(df, "train-snr/vgg19/zeros", primary_reading="snr_chw")
    assert flipped["verdict"] == "does not hold" and "snr_chw" in flipped["claim"] and flipped["snr_ppp@224"] == "holds"


def test_a_verdict_that_depends_on_the_size_is_shown_at_every_size():
    df = frame(lambda a, p, s, e, size: 0.1 + (e if size == 224 else -e) * 0.01 + 1, sizes=(224, 64))
    r = row(df, "train-mae/vgg19/zeros")
    assert (r["verdict"] == "holds" and r["size"] == 224 and r["snr_ppp@224"] == "holds"
            and r["snr_ppp@64"] == "does not hold")
    at64 = row(df, "train-mae/vgg19/zeros", primary_size=64)
    assert at64["verdict"] == "does not hold" and at64["size"] == 64


def test_missing_archs_and_paddings_are_not_run():
    t = table(frame(growing, archs=("vgg19", "resnet50")))
    assert t.loc["all/efficientnet_b0", "verdict"] == t.loc["all/vgg16", "verdict"] == "not run"
    assert t.loc["train-snr/vgg19/reflect", "verdict"] == "not run"  # the paper has it, the run does not


# ---------------------------------------------------------------------------- renderings


def bhv_row(verdict="holds"):
    return claim_row("bhv/x", "3.2, Table 1", "BHV claim", "A sentence.", "p", "mean|A| o", "BHV reading", NA, verdict,
                     NA, "w")


def test_renderings_state_the_scale_once_and_escape():
    t = claims_table(frame(growing, archs=("vgg19", "resnet50"), paddings=("zeros", "circular", "none")), SCALE, None,
                     [bhv_row()])
    md = claims_markdown(t, "Run: x.")
    assert md.count("\n| ") == len(t) + 1 and md.count("Run: x.") == 1 and "mean\\|A\\| o" in md
    rst = claims_rst(t, "Intro {{ x }}", "Run: {x} y_z.")
    body = rst.split("Intro {{ x }}")[1]
    assert "csv-table" in body and "{" not in body and "mean\\|A\\| o" in body and "y\\_z" in body
    assert ':header: "id", "verdict", "ours", "paper"' in body and body.count('\n   "') == len(t)
    tex = claims_latex(t, "Primary reading snr_ppp.")
    assert (tex.count(r"\\") >= len(t) + 1 and tex.count(f"% Scale: {SCALE}") == 1
            and "% Primary reading snr_ppp." in tex)


def test_unknown_verdict_is_refused():
    with pytest.raises(ValueError, match="verdict 'maybe'"):
        claim_row("c", "s", "c", "q", "p", "o", "r", NA, "maybe")
    bad = {**bhv_row(), "verdict": "maybe"}
    with pytest.raises(ValueError, match="unknown verdict"):
        claims_table(frame(growing), SCALE, None, [bad])


# ---------------------------------------------------------------------------- the verdict matrix


def test_verdict_matrix_cells_outline_and_reasons():
    df = frame(growing, performance=lambda a, p, s: 0.9 if p == "zeros" else 0.3, sizes=(224, 64))
    t = claims_table(df, SCALE, bhv_rows=[bhv_row("does not hold")], primary_reading="snr_chw")
    columns = matrix_columns(t)
    codes = cell_codes(t, columns)
    order = list(STYLE)
    i = list(t["id"]).index("train-snr/vgg19/zeros")
    assert codes.shape == (len(t), 2 * len(SNR_READINGS)) and order[codes[i, 0]] == "holds"
    j = list(t["id"]).index("train-snr/vgg19/circular")
    assert (order[codes[j, 0]] == "not testable at this scale"
            and order[codes[-1, columns.index("snr_chw@224")]] == "does not hold")

    assert order[codes[-1, 0]] == NA
    notes = row_notes(t, t.attrs["reasons"])
    assert "did not learn: top-1 30 % < 50 %" in notes[j] and notes[i] == ""
    fig = verdict_matrix(t)
    ax = fig.axes[0]
    outline = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_linewidth() == 2.5]
    assert [p.get_x() for p in outline] == [columns.index("snr_chw@224") - 0.5]
    assert any("did not learn" in x.get_text() for x in ax.texts)
    assert len(ax.get_legend().get_texts()) == len(STYLE) + 1
    small = verdict_matrix(t.head(5).copy().__finalize__(t))
    assert fig.get_figheight() > small.get_figheight()
    with pytest.raises(ValueError, match="primary column"):
        verdict_matrix(t, primary="mae_ppp@224")


def test_front_page_renders_without_docutils_complaints():
    """``|A|`` in a cell would be an undefined substitution, ``*x*`` emphasis, ``a_`` a reference."""
    core = pytest.importorskip("docutils.core")
    odd = "mean|A| *x* `y` a_ b"
    t = claims_table(frame(growing), SCALE, None, [{**bhv_row(), "ours": odd}])
    html = core.publish_string(claims_rst(t, "Intro.", "Run: x_y |z|."), writer="html",
                               settings_overrides={"report_level": 2, "halt_level": 5}).decode()
    assert "System Message" not in html and odd in html.replace("&quot;", '"')


def test_verdict_line_sums_up_the_central_claim(tmp_path):
    df = frame(growing, archs=("vgg19", "resnet50", "vgg16"), paddings=("zeros", "circular"), sizes=(224, 64))
    df.loc[(df["arch"] == "resnet50") & (df["padding"] == "circular") & (df["epoch"] == 4), "snr_chw"] = 0.0
    claims_table(df, SCALE, primary_reading="snr_chw").to_csv(tmp_path / "claims.csv", index=False)
    line = verdict_line(tmp_path)
    assert line.startswith(f"**{tmp_path.name}**: SNR-PPP trained > init (Sec 4.1) under the primary reading snr_chw "
                           "at 224 px: 3 holds, 1 does not hold, 6 not run of 10 (arch, padding) cells.")
    assert "resnet50/circular does not hold (" in line and "vgg16" not in line  # the sentence names VGG19 and ResNet50
    assert "vgg19/reflect" not in line  # a padding the run lacks is counted, not listed
    # resnet50/circular: snr_chw@64 agrees, the 10 other readings hold
    assert "same verdict in 100 of 110 cells" in line
    pd.DataFrame({"claim": ["c"], "verdict": ["holds"]}).to_csv(tmp_path / "claims.csv", index=False)
    assert "predates claim ids" in verdict_line(tmp_path)
