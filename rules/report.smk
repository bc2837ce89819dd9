rule report:
    input:
        rules.all.input,
    output:
        f"{R}/report.html",
    log:
        f"{R}/logs/report.log",
    benchmark:
        f"{R}/benchmarks/report.tsv"
    conda:
        "../envs/plot.yaml"
    params:
        snakefile=workflow.main_snakefile,
    script:
        "../workflow_scripts/report.py"
