rule report:
    input:
        rules.all.input,
    output:
        f"{R}/report.html",
    params:
        snakefile=workflow.main_snakefile,
    conda:
        "../envs/plot.yaml"
    log:
        f"{R}/logs/report.log",
    benchmark:
        f"{R}/benchmarks/report.tsv"
    script:
        "../workflow_scripts/report.py"
