# PosENet baseline (Islam et al. 2020; paper Sec 3.1, Table 2): one job per checkpoint,
# features computed once, every trial trained on them. Threads: one per job, so two jobs
# share the 2 cores of the tiny run (the PEM's small convolutions gain little from more).


rule posenet:
    input:
        ckpt=f"{R}/train/{{arch}}/{{padding}}/seed{{seed}}/epoch_{{epoch}}.pt",
        tiles=rules.tiles.output.manifest,
    output:
        json=f"{R}/posenet/{{arch}}/{{padding}}/seed{{seed}}/epoch_{{epoch}}.json",
    log:
        f"{R}/logs/posenet/{{arch}}_{{padding}}_seed{{seed}}_epoch{{epoch}}.log",
    benchmark:
        f"{R}/benchmarks/posenet/{{arch}}_{{padding}}_seed{{seed}}_epoch{{epoch}}.tsv"
    conda:
        TORCH_ENV
    threads: 1
    params:
        posenet=canonical(config["posenet"]),
    script:
        "../workflow_scripts/posenet.py"
