"""Claims verdicts on synthetic result frames: holds, does not hold, not testable, not run."""

import math

import pandas as pd
import pytest

from pppcore.repro.claims import (
    COLUMNS,
    VERDICTS,
    claims_latex,
    claims_markdown,
    claims_rst,
    claims_table,
    fig5_claims,
    learned,
    none_claims,
    spread_claims,
    training_claims,
    vgg_init_claims,
)

from helpers import frame

SCALE = "synthetic"


def verdicts(rows):
    return [r["verdict"] for r in rows]


def growing(arch, padding, seed, epoch):
    return 0.0 if padding == "none" else 0.1 + epoch * (0.2 if epoch <= 2 else 0.05)


def test_training_strengthens_ppp_holds_and_fails_per_seed():
    assert set(verdicts(training_claims(frame(growing), SCALE, "snr_ppp", 4))) == {"holds"}
    one_seed_down = frame(lambda a, p, s, e: 0.5 - 0.1 * e if s == 1 else 0.1 * e)
    rows = training_claims(one_seed_down, SCALE, "mae_rel", 4)
    assert verdicts(rows) == ["does not hold"] * 2
    assert "on 1 of 2 seeds" in rows[0]["why"]


def test_training_claim_not_testable_when_the_model_did_not_learn():
    rows = training_claims(frame(growing, performance=0.15), SCALE, "snr_ppp", 4)  # 10 classes: chance 0.1
    assert verdicts(rows) == ["not testable at this scale"] * 2
    assert "did not learn" in rows[0]["why"]
    assert learned(frame(growing, performance=0.2), "vgg19", 4)[0]  # 2 x chance is enough
    saliency = frame(growing, archs=("vgg16",), metric="weighted_f", performance=0.4)
    assert not learned(saliency, "vgg16", 4)[0]


def test_degenerate_init_snr_reads_as_zero_and_is_said():
    df = frame(lambda a, p, s, e: math.nan if (e == 0 and p == "circular") else 0.2 + e)
    rows = training_claims(df, SCALE, "snr_ppp", 4)
    circ = next(r for r in rows if "circular" in r["claim"])
    assert circ["verdict"] == "holds"
    assert "undefined" in circ["why"]


def test_vgg_init_claim_uses_the_ratio_to_zeros():
    tiny = frame(lambda a, p, s, e: 1.0 if p == "zeros" else 1e-5)
    assert verdicts(vgg_init_claims(tiny, SCALE)) == ["holds", "not run"]  # vgg16 absent
    big = frame(lambda a, p, s, e: 1.0 if p == "zeros" else 0.3)
    assert verdicts(vgg_init_claims(big, SCALE))[0] == "does not hold"
    assert verdicts(vgg_init_claims(frame(growing, paddings=("zeros",)), SCALE))[0] == "not run"


@pytest.mark.parametrize("curve, verdict", [
    ({0: 0.1, 2: 0.5, 4: 0.6}, "holds"),  # surge then slower growth
    ({0: 0.1, 2: 0.2, 4: 0.6}, "does not hold"),  # growth without a surge
    ({0: 0.5, 2: 0.3, 4: 0.2}, "does not hold"),  # falls
])
def test_fig5_surge_then_growth(curve, verdict):
    assert verdicts(fig5_claims(frame(lambda a, p, s, e: curve[e]), SCALE, "mae_rel")) == [verdict]


def test_fig5_not_testable_with_two_checkpoints():
    rows = fig5_claims(frame(growing, epochs=(0, 4)), SCALE, "mae_ppp")
    assert verdicts(rows) == ["not testable at this scale"]


def test_spread_claim_compares_ppp_and_posenet_dominance():
    df = frame(lambda a, p, s, e: (1.0 if p == "zeros" else 0.5) + 0.01 * s)
    noisy = pd.DataFrame([{"arch": "vgg19", "padding": p, "seed": s, "epoch": 4, "trial": t, "spc": (-1) ** t * 0.3 + 0.01 * (p == "zeros")}
                          for p in ("zeros", "circular") for s in (0, 1) for t in (0, 1)])
    assert verdicts(spread_claims(df, noisy, SCALE, 4)) == ["holds"]
    quiet = noisy.assign(spc=lambda d: (d["padding"] == "zeros") * 1.0 + 0.001 * d["trial"])
    noisy_ppp = frame(lambda a, p, s, e: (1.0 if p == "zeros" else 0.99) + s)
    assert verdicts(spread_claims(noisy_ppp, quiet, SCALE, 4)) == ["does not hold"]
    assert verdicts(spread_claims(df, None, SCALE, 4)) == ["not run"]
    assert verdicts(spread_claims(frame(growing, seeds=(0,)), noisy, SCALE, 4)) == ["not testable at this scale"]


def test_none_claim():
    df = frame(growing, paddings=("zeros", "none"))
    assert verdicts(none_claims(df, None, SCALE)) == ["holds"]
    leaky = frame(lambda a, p, s, e: 1e-9, paddings=("none",))
    assert verdicts(none_claims(leaky, None, SCALE)) == ["does not hold"]
    assert verdicts(none_claims(frame(growing), None, SCALE)) == ["not run"]


def test_claims_table_every_verdict_valid_and_renderings():
    bhv = [dict(zip(COLUMNS, ("BHV claim", "3.2", "p", "o", "r", SCALE, "not run", "w"), strict=True))]
    t = claims_table(frame(growing, archs=("vgg19", "resnet50"), paddings=("zeros", "circular", "none")), SCALE, None, bhv)
    assert list(t.columns) == list(COLUMNS)
    assert set(t["verdict"]) <= set(VERDICTS)
    assert {"holds", "not run"} <= set(t["verdict"])
    assert t["claim"].str.contains("efficientnet_b0").any()  # missing archs are listed as not run
    md = claims_markdown(t, "Run: x.")
    assert md.count("\n| ") == len(t) + 1 and "Run: x." in md
    rst = claims_rst(t, "Intro {{ x }}")
    assert "csv-table" in rst and "{" not in rst.split("csv-table")[1]
    assert claims_latex(t).count(r"\\") >= len(t) + 1


def test_unknown_verdict_is_refused():
    bad = [dict(zip(COLUMNS, ("c", "s", "p", "o", "r", SCALE, "maybe", ""), strict=True))]
    with pytest.raises(ValueError, match="unknown verdict"):
        claims_table(frame(growing), SCALE, None, bad)
