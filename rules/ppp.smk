# The measurement step: aligned PPP of every checkpoint at every ppp.input_sizes size. Under
# measure_jobs: per_run the same job also runs PosENet on epochs 0 and last (one process per
# training run: one start-up, the tiles decoded once; each step re-seeds its own streams, so the
# files are byte-identical to separate jobs', tests/test_workflow.py). per_checkpoint keeps
# PosENet in its own rule (rules/posenet.smk), so a cluster spreads the checkpoints over GPUs.


rule ppp_metrics:
    input:
        ckpts=measure_files("train", ".pt"),
        tiles=rules.tiles.output.manifest,
    output:
        json=measure_files("ppp", ".json"),
        npz=measure_files("ppp", ".npz"),
        posenet=measure_files("posenet", ".json", POSENET_EPOCHS) if POSENET_IN_MEASURE else [],
    log:
        measure_job("logs", "ppp"),
    benchmark:
        measure_job("benchmarks", "ppp")
    conda:
        TORCH_ENV
    threads: 1  # two small jobs side by side beat one on two threads (measured: 1.25x on 2 cores)
    params:
        ppp=ppp_params,
        posenet=canonical(config["posenet"]) if POSENET_IN_MEASURE else None,
    script:
        "../workflow_scripts/ppp_metrics.py"
