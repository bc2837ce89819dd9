"""The readings table: every reading, init vs trained, per measurement size, beside the paper's numbers."""

import math

import pytest

from pppcore.metrics import READINGS, SIGMAS
from pppcore.repro.paper import paper_value
from pppcore.repro.readings import MEANING, readings_latex, readings_table

from helpers import frame


def test_one_row_per_reading_and_stage_with_seed_statistics():
    df = frame(lambda a, p, s, e: 1.0 + s + e, paddings=("zeros", "circular"))
    t = readings_table(df)
    assert len(t) == 2 * 2 * len(READINGS)
    assert set(MEANING) == set(READINGS)
    row = t[(t["padding"] == "zeros") & (t["stage"] == "trained") & (t["reading"] == "mae_rel")].iloc[0]
    assert row["mean"] == pytest.approx(5.5) and row["std"] == pytest.approx(0.5) and row["seeds"] == 2


def test_each_size_gets_its_own_rows():
    df = frame(lambda a, p, s, e, size: size + e, paddings=("zeros",), sizes=(224, 64))
    t = readings_table(df)
    assert len(t) == 2 * 2 * len(READINGS) and list(dict.fromkeys(t["size"])) == [224, 64]
    trained = t[(t["stage"] == "trained") & (t["reading"] == "snr_ppp")].set_index("size")["mean"]
    assert trained[224] == pytest.approx(228) and trained[64] == pytest.approx(68)


def test_meanings_say_what_is_computed():
    assert "E_n|O_n - A_n|" in MEANING["mae_ppp"] and "mean absolute difference" in MEANING["mae_ppp"]
    assert "|E_n[" not in MEANING["mae_ppp"]  # the signed average is signed_mae, not MAE-PPP
    for reading, (sigma, what) in SIGMAS.items():
        assert what in MEANING[reading]
        assert sigma == "sigma" or what in MEANING[sigma]


def test_paper_column_comes_from_table2():
    t = readings_table(frame(lambda a, p, s, e: 1.0, paddings=("zeros",))).set_index(["stage", "reading"])
    assert t.loc[("init", "snr_ppp"), "paper"] == paper_value("vgg19", "zeros", "init", "snr_ppp")
    assert t.loc[("init", "snr_chw"), "paper"] == paper_value("vgg19", "zeros", "init", "snr_ppp")
    assert t.loc[("trained", "mae_ppp"), "paper"] == paper_value("vgg19", "zeros", "trained", "mae_ppp")
    implied = paper_value("vgg19", "zeros", "trained", "mae_ppp") / paper_value("vgg19", "zeros", "trained", "snr_ppp")
    assert t.loc[("trained", "sigma_chw"), "paper"] == pytest.approx(implied)
    assert math.isnan(t.loc[("init", "mae_rel"), "paper"])  # the paper has no such number


def test_latex_has_a_block_per_reading_and_the_primary_size_first():
    tex = readings_latex(readings_table(frame(lambda a, p, s, e: 0.5)))
    assert tex.count(r"\multicolumn{7}{l}") == len(READINGS)
    assert r"\bottomrule" in tex and "0.0665" in tex  # the paper's VGG19 zeros init SNR-PPP
    two = readings_table(frame(lambda a, p, s, e: 0.5, paddings=("zeros",), sizes=(64, 224)))
    rows = [line for line in readings_latex(two, primary_size=224).splitlines() if line.startswith("vgg19 & zeros")]
    assert (len(rows) == 2 * len(READINGS) and rows[0].startswith("vgg19 & zeros & 224")
            and rows[1].startswith("vgg19 & zeros & 64"))

