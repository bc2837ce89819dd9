# BHV test (Kayhan & van Gemert 2020, Exp 2) revisited: one job per network, both
# backgrounds in it (one torch start-up per network; each background its own JSON).
# Wildcards bpad/conv are BHV-only names: the global padding constraint lists the PPP
# training paddings, which need not include every BHV padding.
BHV = config["bhv"]
# (padding, conv type) per job; padding none runs once, as conv type valid
# (same list as pppcore.repro.bhv.variants, not imported: parsing the workflow stays torch-free).
BHV_NETS = [(p, c) for p in BHV["paddings"] if p != "none" for c in BHV["conv_types"]]
BHV_NETS += [("none", "valid")] * ("none" in BHV["paddings"])


rule bhv:
    output:
        [f"{R}/bhv/{bg}/{{bpad}}_{{conv}}.json" for bg in BHV["backgrounds"]],
    log:
        f"{R}/logs/bhv/{{bpad}}_{{conv}}.log",
    benchmark:
        f"{R}/benchmarks/bhv/{{bpad}}_{{conv}}.tsv"
    wildcard_constraints:
        bpad="zeros|circular|reflect|replicate|randn|none",
        conv="same|full|valid",
    conda:
        TORCH_ENV
    threads: 1
    params:
        # The grid keys stay out: adding a padding must not rerun the other networks.
        bhv=canonical({k: v for k, v in BHV.items() if k not in ("paddings", "conv_types")}),
    script:
        "../workflow_scripts/bhv_run.py"


rule table1:
    input:
        [f"{R}/bhv/{bg}/{p}_{c}.json" for p, c in BHV_NETS for bg in BHV["backgrounds"]],
    output:
        csv=f"{R}/tables/table1.csv",
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
        png=f"{R}/figures/fig3_bhv_samples.png",
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
