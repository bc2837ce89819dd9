"""The paper's Tables 1 and 2 as committed data: spot cells typed from the paper text, and a full re-parse."""

from pathlib import Path

import pytest

from pppcore.repro.paper import (
    T1_COLUMNS,
    paper_bhv,
    paper_table1,
    paper_table2,
    paper_value,
    parse_table1,
    parse_table2,
    to_csv,
)

PAPER = Path(__file__).resolve().parents[2] / "shared" / "paper" / "ppp-paper.md"


@pytest.mark.parametrize(
    "cell, expected",
    [
        (("vgg19", "zeros", "init", "snr_ppp"), 0.0665),
        (("vgg19", "zeros", "trained", "snr_ppp"), 1.2289),
        (("vgg19", "circular", "init", "mae_ppp"), 0.0),
        (("vgg19", "randn", "trained", "mae_ppp"), 0.0182),
        (("vgg16", "randn", "trained", "performance"), 0.2570),
        (("resnet50", "zeros", "init", "snr_ppp"), 0.0918),
        (("resnet50", "circular", "init", "posenet_spc"), 0.027),
        (("efficientnet_b0", "randn", "trained", "mae_ppp"), 0.0209),
        (("vgg19", "none", "trained", "posenet_spc"), 0.001),
    ],
)
def test_cells_match_the_paper_text(cell, expected):
    assert paper_value(*cell) == pytest.approx(expected, abs=0)


def test_missing_cells_are_none():
    assert paper_value("resnet50", "none", "trained", "mae_ppp") is None  # not in the paper
    assert paper_value("vgg19", "zeros", "init", "performance") is None  # trained only
    assert paper_value("convnext", "zeros", "init", "mae_ppp") is None


def test_the_table_is_complete_and_flags_nan_trials():
    rows = paper_table2()
    assert len(rows) == 22 * 9  # 22 (arch, padding) rows x (4 init/trained pairs + performance)
    starred = {(r["arch"], r["padding"]) for r in rows if r["nan_in_trials"]}
    assert starred == {("resnet50", p) for p in ("circular", "reflect", "replicate", "randn")}


@pytest.mark.skipif(not PAPER.exists(), reason="the paper's markdown is not in this checkout")
def test_committed_csv_is_the_papers_table():
    committed = Path(__file__).resolve().parents[1] / "pppcore" / "repro" / "paper_table2.csv"
    assert committed.read_text() == to_csv(parse_table2(PAPER.read_text()))


def test_parser_rejects_a_malformed_row():
    bad = "<!-- VGG-19 --><tr><td>VGG-19</td><td>Zeros</td></tr></table>"
    with pytest.raises(ValueError, match="expected 7 or 8"):
        parse_table2(bad)


@pytest.mark.parametrize(
    "cell, expected",
    [
        (("zeros", "full", "black", "dissimilar"), 89.24),
        (("zeros", "full", "grey", "dissimilar"), 4.77),
        (("replicate", "full", "grey", "dissimilar"), 94.99),
        (("circular", "full", "grey", "dissimilar"), 92.40),
        (("none", "valid", "black", "inconsistency"), 95.81),
        (("none", "valid", "grey", "inconsistency"), 81.30),
        (("randn", "same", "grey", "diff"), -64.50),
    ],
)
def test_table1_cells_match_the_paper_text(cell, expected):
    assert paper_bhv(*cell) == pytest.approx(expected, abs=0)


def test_table1_is_complete():
    rows = paper_table1()
    assert len(rows) == 11 * 2 * 4  # (5 paddings x same/F-Conv + none) x backgrounds x metrics
    assert min(r["value"] for r in rows if r["metric"] == "inconsistency") == 18.02
    with pytest.raises(KeyError, match="no cell"):
        paper_bhv("none", "full", "black", "similar")


@pytest.mark.skipif(not PAPER.exists(), reason="the paper's markdown is not in this checkout")
def test_committed_table1_csv_is_the_papers_table():
    committed = Path(__file__).resolve().parents[1] / "pppcore" / "repro" / "paper_table1.csv"
    assert committed.read_text() == to_csv(parse_table1(PAPER.read_text()), T1_COLUMNS)
