# The measurement step: aligned PPP of every checkpoint at every ppp.input_sizes size. Under
# measure_jobs: per_run the same job also runs PosENet on epochs 0 and last (one process per
# training run: one start-up, the tiles decoded once; each step re-seeds its own streams, so the
# files are byte-identical to separate jobs', tests/test_workflow.py). per_checkpoint keeps
# PosENet in its own rule (rules/posenet.smk), so a cluster spreads the checkpoints over GPUs.


rule ppp:
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
        "../workflow_scripts/ppp.py"


# The PPP tables and figures (Table 2, Figs 1, 2, 4, 5) read what this stage measured.


rule table2:
    input:
        ppp=all_metrics([0, TRAIN["epochs"]], [PRIMARY_SIZE]),
        fit=f"{R}/tables/reading_fit_summary.csv",  # rules/claims.smk: the primary SNR reading
        posenet=posenet_outputs(),
        external=external_metrics(),
    output:
        csv=report(f"{R}/tables/table2.csv", caption="../report/table2.rst", category="Tables"),
        tex=f"{R}/tables/table2.tex",
    log:
        f"{R}/logs/table2.log",
    benchmark:
        f"{R}/benchmarks/table2.tsv"
    conda:
        "../envs/plot.yaml"
    script:
        "../workflow_scripts/table2.py"


rule fig5:
    input:
        all_metrics(sizes=[PRIMARY_SIZE]),
    output:
        png=report(f"{R}/figures/fig5_chronological_ppp.png", caption="../report/fig5.rst", category="Figures"),
        pdf=f"{R}/figures/fig5_chronological_ppp.pdf",
    log:
        f"{R}/logs/fig5.log",
    benchmark:
        f"{R}/benchmarks/fig5.tsv"
    conda:
        "../envs/plot.yaml"
    params:
        plots=canonical(config["plots"]),
    script:
        "../workflow_scripts/fig5.py"


rule fig4:
    input:
        [fig4_npz(arch, padding, epoch) for arch, padding, _, epoch in fig4_panels()],
    output:
        png=report(f"{R}/figures/fig4_ppp_grid.png", caption="../report/fig4.rst", category="Figures"),
        pdf=f"{R}/figures/fig4_ppp_grid.pdf",
    log:
        f"{R}/logs/fig4.log",
    benchmark:
        f"{R}/benchmarks/fig4.tsv"
    conda:
        "../envs/plot.yaml"
    params:
        panels=[(arch, padding, stage) for arch, padding, stage, _ in fig4_panels()],
        plots=canonical(config["plots"]),
    script:
        "../workflow_scripts/fig4.py"


rule fig2:
    input:
        ckpt=f"{R}/train/{fig2_run()[0]}/{fig2_run()[1]}/seed{SEEDS[0]}/epoch_{TRAIN['epochs']:03d}.pt",
        tiles=rules.tiles.output.manifest,
    output:
        png=report(f"{R}/figures/fig2_principal_point_shift.png", caption="../report/fig2.rst", category="Figures"),
        pdf=f"{R}/figures/fig2_principal_point_shift.pdf",
        csv=f"{R}/figures/fig2_principal_point_shift.csv",
    log:
        f"{R}/logs/fig2.log",
    benchmark:
        f"{R}/benchmarks/fig2.tsv"
    conda:
        TORCH_ENV
    threads: 2
    params:
        # What fig2 measures with (it measures the checkpoint as saved: no bn_stats).
        ppp=canonical({"input_size": PRIMARY_SIZE, "max_images": PPP["max_images"], "batch_size": PPP["batch_size"]}),
        plots=canonical(config["plots"]),
    script:
        "../workflow_scripts/fig2.py"


rule fig1:
    input:
        ckpt=f"{R}/train/{fig1_run()[0]}/{fig1_run()[1]}/seed{SEEDS[0]}/epoch_{TRAIN['epochs']:03d}.pt",
        tiles=rules.tiles.output.manifest,
    output:
        png=report(f"{R}/figures/fig1_ppp_surfaces.png", caption="../report/fig1.rst", category="Figures"),
        pdf=f"{R}/figures/fig1_ppp_surfaces.pdf",
    log:
        f"{R}/logs/fig1.log",
    benchmark:
        f"{R}/benchmarks/fig1.tsv"
    conda:
        TORCH_ENV
    threads: 2
    params:
        input_size=PRIMARY_SIZE,
        n_images=config["fig1"]["n_images"],
        plots=canonical(config["plots"]),
    script:
        "../workflow_scripts/fig1.py"
