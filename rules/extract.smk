rule ppp_metrics:
    input:
        ckpts=measure_files("train", ".pt"),
        tiles=rules.tiles.output.manifest,
    output:
        json=measure_files("ppp", ".json"),
        npz=measure_files("ppp", ".npz"),
    log:
        measure_job("logs", "ppp"),
    benchmark:
        measure_job("benchmarks", "ppp")
    conda:
        TORCH_ENV
    threads: 1  # two small jobs side by side beat one on two threads (measured: 1.25x on 2 cores)
    params:
        ppp=ppp_params,
    script:
        "../workflow_scripts/ppp_metrics.py"
