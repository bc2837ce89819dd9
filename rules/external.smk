# Models the workflow does not train (config external): converted by pppcore.convert and
# measured like a checkpoint, for Table 2's "pretrained (external)" rows and their own maps.


rule external_ppp:
    input:
        files=external_files,
        tiles=rules.tiles.output.manifest,
    output:
        json=f"{R}/external/{{name}}/ppp.json",
        npz=f"{R}/external/{{name}}/ppp.npz",
    log:
        f"{R}/logs/external/{{name}}.log",
    benchmark:
        f"{R}/benchmarks/external/{{name}}.tsv"
    conda:
        TORCH_ENV
    threads: 1
    params:
        model=external_params,
    script:
        "../workflow_scripts/external_ppp.py"


rule fig4_external:
    input:
        external_metrics(".npz"),
    output:
        png=report(f"{R}/figures/fig4_external_ppp.png", caption="../report/fig4_external.rst", category="Figures"),
        pdf=f"{R}/figures/fig4_external_ppp.pdf",
    log:
        f"{R}/logs/fig4_external.log",
    benchmark:
        f"{R}/benchmarks/fig4_external.tsv"
    conda:
        "../envs/plot.yaml"
    params:
        panels=[(name, entry["padding"]) for name, entry in EXTERNAL.items()],
        plots=canonical(config["plots"]),
    script:
        "../workflow_scripts/fig4_external.py"
