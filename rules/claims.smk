# What the run concludes: every PPP reading beside the paper's numbers, and the paper's claims
# judged on this run (the report and the README open with the claims table).


rule readings:
    input:
        ppp=all_metrics([0, TRAIN["epochs"]]),
    output:
        csv=report(f"{R}/tables/readings.csv", caption="../report/readings.rst", category="Tables"),
        tex=f"{R}/tables/readings.tex",
    log:
        f"{R}/logs/readings.log",
    benchmark:
        f"{R}/benchmarks/readings.tsv"
    conda:
        "../envs/plot.yaml"
    script:
        "../workflow_scripts/readings.py"


rule claims:
    input:
        ppp=all_metrics(),
        posenet=posenet_outputs(),
        table1=rules.table1.output.csv,
    output:
        csv=report(f"{R}/tables/claims.csv", caption="../report/claims.rst", category="Claims"),
        md=f"{R}/tables/claims.md",
        tex=f"{R}/tables/claims.tex",
        front=f"{R}/report/front.rst",
    log:
        f"{R}/logs/claims.log",
    benchmark:
        f"{R}/benchmarks/claims.tsv"
    conda:
        "../envs/plot.yaml"
    params:
        scale=SCALE,
        intro="report/workflow.rst",
    script:
        "../workflow_scripts/claims.py"
