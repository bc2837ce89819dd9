"""The generated blocks of the README and the docs are what the committed artifacts render: no
number typed by hand (benchmarks/quote_results.py, every file it writes)."""

import subprocess
import sys

import pytest

from helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import quote_results  # noqa: E402


def test_every_generated_block_matches_the_committed_artifacts():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "quote_results.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_readme_and_the_docs_pages_are_written():
    written = {p.relative_to(ROOT).as_posix() for p in quote_results.files()}
    assert {"README.md", "docs/results.md", "docs/performance.md", "docs/workflow.md", "docs/cluster.md",
            "docs/readings.md"} <= written


@pytest.mark.parametrize("path", sorted(quote_results.files(), key=str), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_changed_number_is_caught_in_every_file(path):
    blocks = quote_results.files()[path]
    text = path.read_text()
    name = next(iter(blocks))
    block = text.split(f"<!-- BEGIN generated:{name} -->")[1].split(f"<!-- END generated:{name} -->")[0]
    tampered = text.replace(block, block + "a typed line\n", 1)
    assert tampered != text and quote_results.render(tampered, blocks, path.name) == text


def test_a_missing_block_is_an_error():
    with pytest.raises(ValueError, match="README.md has no block .generated:"):
        quote_results.render("no blocks here", quote_results.files()[quote_results.README])


def test_a_block_nobody_builds_is_an_error():
    text = (ROOT / "README.md").read_text() + "\n<!-- BEGIN generated:typed -->\n1\n<!-- END generated:typed -->\n"
    with pytest.raises(ValueError, match="typed"):
        quote_results.render(text, quote_results.files()[quote_results.README])
