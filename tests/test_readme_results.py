"""The README's result blocks are what the committed artifacts render: no number typed by hand."""

import subprocess
import sys

import pytest

from helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import quote_results  # noqa: E402


def test_readme_blocks_match_the_committed_artifacts():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "quote_results.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_changed_number_is_caught():
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- BEGIN generated:init -->")[1].split("<!-- END generated:init -->")[0]
    tampered = text.replace(block, block.replace("paper pattern", "paper-pattern", 1))
    assert tampered != text and quote_results.render(tampered) == text


def test_a_missing_block_is_an_error():
    with pytest.raises(ValueError, match="README.md has no block .generated:"):
        quote_results.render("no blocks here")
