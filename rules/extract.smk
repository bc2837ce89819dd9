rule ppp_metrics:
    input:
        ckpt=f"{R}/train/{{arch}}/{{padding}}/seed{{seed}}/epoch_{{epoch}}.pt",
        tiles=rules.tiles.output.manifest,
    output:
        json=f"{R}/ppp/{{arch}}/{{padding}}/seed{{seed}}/epoch_{{epoch}}.json",
        npz=f"{R}/ppp/{{arch}}/{{padding}}/seed{{seed}}/epoch_{{epoch}}.npz",
    log:
        f"{R}/logs/ppp/{{arch}}_{{padding}}_seed{{seed}}_epoch{{epoch}}.log",
    benchmark:
        f"{R}/benchmarks/ppp/{{arch}}_{{padding}}_seed{{seed}}_epoch{{epoch}}.tsv"
    conda:
        TORCH_ENV
    threads: 1  # two small jobs side by side beat one on two threads (measured: 1.25x on 2 cores)
    params:
        ppp=ppp_params,
    script:
        "../workflow_scripts/ppp_metrics.py"
