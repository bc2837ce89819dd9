"""What a change of config plans on the finished micro run: the cases of
``tests/test_workflow.py::test_growing_the_grid_reruns_only_what_depends_on_it`` and the rows
of the docs' "Growing a run" table (``benchmarks/quote_results.py`` renders them), one list.

Micro (``tests/micro.yaml``): VGG19 x zeros, circular, none x 1 seed x 3 checkpoints; PosENet
on epochs 0 and 2. Each case: what the user changes, the config sections merged in, and the
dry run's job counts (``{}``: nothing reruns).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import yaml

MICRO = Path(__file__).with_name("micro.yaml")
AGGREGATES = {"table2", "fig4", "fig5", "readings", "reading_fit", "claims", "all"}
VGG19 = yaml.safe_load(MICRO.read_text())["train"]["archs"]["vgg19"]


class Growth(NamedTuple):
    what: str  # the change, as the docs table names it
    sections: dict[str, Any]  # merged into the micro config, one level deep
    plan: dict[str, int]  # rule -> jobs of `snakemake -n all`


GROWTH = {
    "seed": Growth("`train.seeds` += a seed", {"train": {"seeds": [0, 1]}},
                   {"train": 3, "ppp": 9, "posenet": 6, **dict.fromkeys(AGGREGATES - {"fig4"}, 1)}),
    # train.none_seeds: a second seed for the padded runs only (a none run's PPP is 0 by construction).
    "seed_but_not_for_none": Growth("`train.seeds` += a seed, `train.none_seeds` kept",
                                    {"train": {"seeds": [0, 1], "none_seeds": [0]}},
                                    {"train": 2, "ppp": 6, "posenet": 4, **dict.fromkeys(AGGREGATES - {"fig4"}, 1)}),
    "padding": Growth("`train.paddings` += a padding",
                      {"train": {"paddings": ["zeros", "circular", "none", "reflect"]}},
                      {"train": 1, "ppp": 3, "posenet": 2, **dict.fromkeys(AGGREGATES, 1)}),
    "arch": Growth("`train.archs` += an arch",
                   {"train": {"archs": {"vgg19": VGG19, "vgg16": {"width": 0.125, "batch_norm": True}}}},
                   {"train": 3, "ppp": 9, "posenet": 6, **dict.fromkeys(AGGREGATES, 1)}),
    # An arch leaving a padding out (train.archs.*.paddings) trains nothing: the tables shrink.
    "arch_paddings": Growth("an arch leaves a padding out (`train.archs.<arch>.paddings`)",
                            {"train": {"archs": {"vgg19": {**VGG19, "paddings": ["zeros", "circular"]}}}},
                            dict.fromkeys(AGGREGATES, 1)),
    "recipe": Growth("a recipe key (`train.lr`, `train.epochs`, ...)", {"train": {"lr": 0.02}},
                     {"train": 3, "ppp": 9, "posenet": 6, "fig1": 1, "fig2": 1, **dict.fromkeys(AGGREGATES, 1)}),
    "workers": Growth("`train.workers`, `device`", {"train": {"workers": 1}}, {}),
    "plot_only": Growth("`plots.dpi`", {"plots": {"dpi": 90}},
                        {"fig1": 1, "fig2": 1, "fig3": 1, "fig4": 1, "fig5": 1, "all": 1}),
    # A new primary size reruns the extractions (each measures every size) and Figs 1-2, which measure at it.
    "ppp_primary_size": Growth("`ppp.input_sizes`: a new first (primary) size", {"ppp": {"input_sizes": [72, 48]}},
                               {"ppp": 9, "fig1": 1, "fig2": 1, **dict.fromkeys(AGGREGATES, 1)}),
    "ppp_another_size": Growth("`ppp.input_sizes` += a size", {"ppp": {"input_sizes": [64, 48, 56]}},
                               {"ppp": 9, **dict.fromkeys(AGGREGATES, 1)}),
    "posenet_trials": Growth("`posenet.*`", {"posenet": {"trials": 3}},
                             {"posenet": 6, "table2": 1, "claims": 1, "all": 1}),
    # Calibrated BN statistics change what every extraction measures, and nothing else.
    "bn_stats": Growth("`ppp.bn_stats: calibrated`", {"ppp": {"bn_stats": "calibrated"}},
                       {"ppp": 9, **dict.fromkeys(AGGREGATES, 1)}),
}


# Rules with one job per run or checkpoint (counted), then the aggregates (named), in DAG order.
COUNTED = ("train", "ppp", "posenet", "bhv", "external_ppp")
ORDER = (*COUNTED, "fig1", "fig2", "fig3", "fig4", "fig5", "table1", "table2", "readings", "reading_fit", "claims")


def reruns(plan: dict[str, int]) -> str:
    """A plan in words: the counted jobs, then the aggregates (``all`` left out), in DAG order."""
    if not plan:
        return "nothing"
    unknown = set(plan) - set(ORDER) - {"all"}
    assert not unknown, f"add {sorted(unknown)} to growth.ORDER"
    counted = [f"{plan[r]} `{r}`" for r in COUNTED if r in plan]
    named = [f"`{r}`" for r in ORDER if r in plan and r not in COUNTED]
    return "; ".join(part for part in (", ".join(counted), ", ".join(named)) if part)


def growth_table() -> str:
    """The docs' "Growing a run" table, from :data:`GROWTH`."""
    rows = ["| you change | `snakemake -n all` plans |", "| --- | --- |"]
    rows += [f"| {case.what} | {reruns(case.plan)} |" for case in GROWTH.values()]
    return "\n".join(rows) + "\n"
