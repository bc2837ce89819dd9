# What the run concludes: every PPP reading beside the paper's numbers, which SNR reading fits the
# paper's init rows (the primary reading), and the paper's claims judged on this run (the report
# and the README open with the claims table).


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
    params:
        primary_size=PRIMARY_SIZE,
    script:
        "../workflow_scripts/readings.py"


# Init checkpoints only, at every size: the trained ones are what the claims judge.
rule reading_fit:
    input:
        ppp=all_metrics(epochs=[0]),
    output:
        csv=report(f"{R}/tables/reading_fit.csv", caption="../report/reading_fit.rst", category="Claims"),
        summary=report(
            f"{R}/tables/reading_fit_summary.csv", caption="../report/reading_fit_summary.rst", category="Claims"
        ),
        tex=f"{R}/tables/reading_fit.tex",
    log:
        f"{R}/logs/reading_fit.log",
    benchmark:
        f"{R}/benchmarks/reading_fit.tsv"
    conda:
        "../envs/plot.yaml"
    params:
        primary_size=PRIMARY_SIZE,
    script:
        "../workflow_scripts/reading_fit.py"


rule claims:
    input:
        ppp=all_metrics(),
        posenet=posenet_outputs(),
        table1=rules.table1.output.csv if WITH_BHV else [],
        fit=rules.reading_fit.output.summary,
    output:
        csv=f"{R}/tables/claims.csv",
        compact=report(f"{R}/tables/claims_compact.csv", caption="../report/claims.rst", category="Claims"),
        md=f"{R}/tables/claims.md",
        tex=f"{R}/tables/claims.tex",
        front=f"{R}/report/front.rst",
        matrix=report(f"{R}/figures/verdict_matrix.png", caption="../report/verdict_matrix.rst", category="Claims"),
        matrix_pdf=f"{R}/figures/verdict_matrix.pdf",
    log:
        f"{R}/logs/claims.log",
    benchmark:
        f"{R}/benchmarks/claims.tsv"
    conda:
        "../envs/plot.yaml"
    params:
        scale=SCALE,
        intro="report/workflow.rst",
        primary_size=PRIMARY_SIZE,
    script:
        "../workflow_scripts/claims.py"
