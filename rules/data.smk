rule tiles:
    output:
        manifest=f"{R}/tiles/manifest.json",
    log:
        f"{R}/logs/tiles.log",
    benchmark:
        f"{R}/benchmarks/tiles.tsv"
    conda:
        "../envs/data.yaml"
    params:
        tiles=canonical(config["tiles"]),
    script:
        "../workflow_scripts/tiles.py"
