rule table2:
    input:
        all_metrics([0, TRAIN["epochs"]]),
    output:
        csv=f"{R}/tables/table2.csv",
        tex=f"{R}/tables/table2.tex",
    conda:
        "../envs/pppcore.yaml"
    log:
        f"{R}/logs/table2.log",
    benchmark:
        f"{R}/benchmarks/table2.tsv"
    script:
        "../workflow_scripts/table2.py"


rule fig5:
    input:
        all_metrics(),
    output:
        png=f"{R}/figures/fig5_chronological_ppp.png",
        pdf=f"{R}/figures/fig5_chronological_ppp.pdf",
    conda:
        "../envs/pppcore.yaml"
    log:
        f"{R}/logs/fig5.log",
    benchmark:
        f"{R}/benchmarks/fig5.tsv"
    script:
        "../workflow_scripts/fig5.py"

