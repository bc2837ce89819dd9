import json

from pppcore.repro.cli import main


def test_demo_writes_every_output(tmp_path, capsys):
    """The library demo (`python -m pppcore.repro demo`), on two images (the full run uses 16)."""
    assert main(["demo", "--out", str(tmp_path), "--n-images", "2"]) == 0
    rows = json.loads((tmp_path / "ppp_demo.json").read_text())["rows"]
    assert len(rows) == 3 * 5 * 4  # archs x paddings x LoIs
    assert all(r["n_images"] == 2 and r["mae_ppp"] > 0 for r in rows)
    assert (tmp_path / "ppp_demo.png").stat().st_size > 10_000
    assert (tmp_path / "ppp_demo.csv").read_text().count("\n") == len(rows) + 1
    assert "460x460" in capsys.readouterr().out  # the Appendix A table is printed
