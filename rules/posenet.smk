# PosENet baseline (Islam et al. 2020; paper Sec 3.1, Table 2) under measure_jobs:
# per_checkpoint: one job per checkpoint, features computed once, every trial trained on them
# (per_run: the measurement job runs it, rules/ppp.smk). Threads: one per job, so two jobs
# share the 2 cores of a CPU run (the PEM's small convolutions gain little from more).


if not POSENET_IN_MEASURE:

    rule posenet:
        input:
            ckpts=measure_files("train", ".pt", POSENET_EPOCHS),
            tiles=rules.tiles.output.manifest,
        output:
            json=measure_files("posenet", ".json", POSENET_EPOCHS),
        log:
            measure_job("logs", "posenet"),
        benchmark:
            measure_job("benchmarks", "posenet")
        conda:
            TORCH_ENV
        threads: 1
        params:
            posenet=canonical(config["posenet"]),
        script:
            "../workflow_scripts/posenet.py"
