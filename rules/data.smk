rule tiles:
    output:
        manifest=f"{R}/tiles/manifest.json",
    params:
        tiles=canonical(config["tiles"]),
    conda:
        "../envs/data.yaml"
    log:
        f"{R}/logs/tiles.log",
    benchmark:
        f"{R}/benchmarks/tiles.tsv"
    script:
        "../workflow_scripts/tiles.py"
