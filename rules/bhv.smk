# BHV test (Kayhan & van Gemert 2020, Exp 2) revisited: one job per (split protocol,
# network), both backgrounds in it (one torch start-up per network; each background its own
# JSON). Wildcards bpad/conv are BHV-only names: the global padding constraint lists the PPP
# training paddings, which need not include every BHV padding. Split protocols (bhv.splits):
# original = the paper's (validation and similar test = the first training images),
# independent = one random stream per split (docs/protocols.md).
BHV = config["bhv"]
# (padding, conv type) per job; padding none runs once, as conv type valid (pppcore.repro.grid).
BHV_NETS = bhv_nets(BHV["paddings"], BHV["conv_types"])


rule bhv:
    output:
        [f"{R}/bhv/{{split}}/{bg}/{{bpad}}_{{conv}}.json" for bg in BHV["backgrounds"]],
    log:
        f"{R}/logs/bhv/{{split}}/{{bpad}}_{{conv}}.log",
    benchmark:
        f"{R}/benchmarks/bhv/{{split}}/{{bpad}}_{{conv}}.tsv"
    wildcard_constraints:
        split="original|independent",
        bpad="zeros|circular|reflect|replicate|randn|none",
        conv="same|full|valid",
    conda:
        TORCH_ENV
    threads: 1
    params:
        # The grid keys stay out: adding a padding or a split must not rerun the other jobs.
        bhv=canonical({k: v for k, v in BHV.items() if k not in ("paddings", "conv_types", "splits")}),
    script:
        "../workflow_scripts/bhv_run.py"


rule table1:
    input:
        # split outermost: Table 1 orders its splits as they come (the config's order)
        [f"{R}/bhv/{s}/{bg}/{p}_{c}.json" for s in BHV["splits"] for p, c in BHV_NETS for bg in BHV["backgrounds"]],
    output:
        csv=report(f"{R}/tables/table1.csv", caption="../report/table1.rst", category="Tables"),
        tex=f"{R}/tables/table1.tex",
    log:
        f"{R}/logs/table1.log",
    benchmark:
        f"{R}/benchmarks/table1.tsv"
    conda:
        "../envs/plot.yaml"
    script:
        "../workflow_scripts/table1.py"


rule fig3:
    output:
        png=report(f"{R}/figures/fig3_bhv_samples.png", caption="../report/fig3.rst", category="Figures"),
        pdf=f"{R}/figures/fig3_bhv_samples.pdf",
    log:
        f"{R}/logs/fig3.log",
    benchmark:
        f"{R}/benchmarks/fig3.tsv"
    conda:
        "../envs/plot.yaml"
    params:
        backgrounds=BHV["backgrounds"],
        seed=BHV["seed"],
        plots=canonical(config["plots"]),
    script:
        "../workflow_scripts/fig3.py"
