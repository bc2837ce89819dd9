"""The HTML report (rule report, report/*.rst captions): captions that are clean reStructuredText, every
table and figure of the paper in it, and the compact claims table of its Claims page."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

import jinja2
import pandas as pd
import pytest
import yaml
from docutils.core import publish_parts

from pppcore.repro.claims import NA, claims_rst
from pppcore.repro.report import COMPACT_COLUMNS, claims_compact

from helpers import MICRO, ROOT

# What docutils says about a caption it cannot read ("<string>:3: (ERROR/3) Undefined substitution
# referenced: "A"."), in a log or as report.html's "System Message" boxes.
DOCUTILS_MESSAGE = re.compile(r"\((INFO/1|WARNING/2|ERROR/3|SEVERE/4)\)|Docutils|System Message|system-message")
# Snakemake's own call (snakemake.report) still names the writer so.
pytestmark = pytest.mark.filterwarnings("ignore:Argument \"writer_name\" will be removed:PendingDeprecationWarning")
SCALE = ("micro: vgg19; 1 seed(s); 2 epochs on 128 images at 64 px; PPP on 2 tiles at 64 and 48 px (primary 64), "
         "BN as_saved")


def render_rst(text: str) -> tuple[str, str]:
    """(HTML body, docutils messages) of a caption as Snakemake renders it: Jinja, then docutils."""
    params = SimpleNamespace(scale=SCALE, primary_size=64)
    fake = SimpleNamespace(config=yaml.safe_load(MICRO.read_text()), params=params)
    rst = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(text).render(snakemake=fake)
    messages = io.StringIO()
    settings = {"warning_stream": messages, "report_level": 1}
    body = publish_parts(rst, writer_name="html", settings_overrides=settings)["body"]
    return body, messages.getvalue()


@pytest.mark.parametrize("caption", sorted(p.name for p in (ROOT / "report").glob("*.rst")))
def test_every_caption_renders_without_a_docutils_message(caption):
    body, messages = render_rst((ROOT / "report" / caption).read_text())
    assert messages == "" and not DOCUTILS_MESSAGE.search(body), messages


def claims_frame() -> pd.DataFrame:
    """A claims table (claims.claims_table's columns) with rst-hostile text: |A|, *, _, braces."""
    cells = ["snr_ppp@64", "snr_chw@64", "snr_ppp@48", "snr_chw@48"]
    rows = [
        ("train-snr/vgg19/zeros", "holds", ["holds", "holds", "does not hold", "holds"], "MAE-PPP / |A| 0.1 -> 0.2"),
        ("none", "not testable at this scale", ["not testable at this scale"] * 4, "max |SPC| {0.03}"),
        ("bhv/inconsistent", "does not hold", ["does not hold", NA, NA, NA], "mean |O - A| *_x_*"),
    ]
    fixed = {"section": "4.1", "claim": "c", "paper_sentence": "s", "paper": "p", "reading": "snr_ppp", "size": 64}
    t = pd.DataFrame([{"id": i, **fixed, "seeds": "--", "ours": ours, "verdict": v, "why": f"why {ours}",
                       **dict(zip(cells, c, strict=True))} for i, v, c, ours in rows])
    t.attrs["primary"] = "snr_ppp@64"
    return t


def test_the_front_page_renders_without_a_docutils_message():
    intro = (ROOT / "report" / "workflow.rst").read_text()
    body, messages = render_rst(claims_rst(claims_frame(), intro, f"Run: {SCALE}."))
    assert messages == "" and not DOCUTILS_MESSAGE.search(body), messages
    assert "MAE-PPP / |A| 0.1 -&gt; 0.2" in body and "mean |O - A| *_x_*" in body


def test_the_compact_claims_table_counts_the_other_cells_that_agree_and_drops_them():
    compact = claims_compact(claims_frame())
    assert tuple(compact.columns) == COMPACT_COLUMNS and not any("@" in c for c in compact.columns)
    # the other cells (the primary one left out) with the primary verdict; none with a verdict: "--"
    assert list(compact["same_elsewhere"]) == ["2/3", "3/3", NA]
    assert list(compact["verdict"]) == ["holds", "not testable at this scale", "does not hold"]


def test_tables_1_2_figures_1_to_5_and_the_claims_page_are_report_items_with_a_caption():
    """Every report(...) annotation names a caption that exists; the paper's tables and figures,
    the verdict matrix and the compact claims table are among them (the full claims.csv is not:
    its reading@size columns are the matrix)."""
    text = "\n".join(p.read_text() for p in sorted((ROOT / "rules").glob("*.smk")))
    items = dict(re.findall(r'report\(\s*f"\{R\}/([^"]+)",\s*caption="\.\./(report/[^"]+)"', text))
    assert all((ROOT / caption).is_file() for caption in items.values()), items
    expected = {"tables/table1.csv", "tables/table2.csv", "figures/fig1_ppp_surfaces.png",
                "figures/fig2_principal_point_shift.png", "figures/fig3_bhv_samples.png", "figures/fig4_ppp_grid.png",
                "figures/fig5_chronological_ppp.png", "figures/verdict_matrix.png", "tables/claims_compact.csv"}
    assert expected <= set(items), expected - set(items)
    assert "tables/claims.csv" not in items


@pytest.mark.slow
@pytest.mark.xdist_group("micro")
def test_the_report_holds_table_1_fig_3_and_the_verdict_matrix_and_docutils_says_nothing(finished_micro):
    r = finished_micro / "results"
    html = (r / "report.html").read_text()
    for name in ("table1.csv", "fig3_bhv_samples.png", "verdict_matrix.png", "claims_compact.csv"):
        assert name in html, name
    captions = ("Table 1, the BHV test revisited", "Fig 3, BHV samples", "Verdict matrix",
                "Claims of the paper, judged on this run")
    for caption in captions:
        assert caption in html, caption
    assert "micro: vgg19" in html  # the scale, stated once in the Claims page's caption (and on the front page)
    assert not re.search(r"System Message|system-message", html)
    log = (r / "logs" / "report.log").read_text()
    assert "--report" in log and not DOCUTILS_MESSAGE.search(log), log[-3000:]
