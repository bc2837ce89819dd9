rule table2:
    input:
        all_metrics([0, TRAIN["epochs"]]),
    output:
        csv=f"{R}/tables/table2.csv",
        tex=f"{R}/tables/table2.tex",
    conda:
        "../envs/plot.yaml"
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
        "../envs/plot.yaml"
    log:
        f"{R}/logs/fig5.log",
    benchmark:
        f"{R}/benchmarks/fig5.tsv"
    script:
        "../workflow_scripts/fig5.py"



rule fig4:
    input:
        [fig4_npz(arch, padding, epoch) for arch, padding, _, epoch in fig4_panels()],
    output:
        png=f"{R}/figures/fig4_ppp_grid.png",
        pdf=f"{R}/figures/fig4_ppp_grid.pdf",
    params:
        panels=[(arch, padding, stage) for arch, padding, stage, _ in fig4_panels()],
    conda:
        "../envs/plot.yaml"
    log:
        f"{R}/logs/fig4.log",
    benchmark:
        f"{R}/benchmarks/fig4.tsv"
    script:
        "../workflow_scripts/fig4.py"


rule fig2:
    input:
        ckpt=f"{R}/train/{fig2_run()[0]}/{fig2_run()[1]}/seed{SEEDS[0]}/epoch_{TRAIN['epochs']:03d}.pt",
        tiles=rules.tiles.output.manifest,
    output:
        png=f"{R}/figures/fig2_principal_point_shift.png",
        pdf=f"{R}/figures/fig2_principal_point_shift.pdf",
        csv=f"{R}/figures/fig2_principal_point_shift.csv",
    params:
        ppp=config["ppp"],
    threads: 2
    conda:
        "../envs/torch.yaml"
    log:
        f"{R}/logs/fig2.log",
    benchmark:
        f"{R}/benchmarks/fig2.tsv"
    script:
        "../workflow_scripts/fig2.py"
