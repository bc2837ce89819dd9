# PPP reproduction workflow: tiles -> training checkpoints -> aligned PPP metrics -> tables, figures.
from snakemake.utils import min_version, validate

min_version("8.0")


configfile: "config.yaml"


validate(config, "config/config.schema.yaml")


include: "rules/common.smk"


wildcard_constraints:
    arch="|".join(ARCHS),
    padding="|".join(PADDINGS),
    seed=r"\d+",
    epoch=r"\d{3}",


include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/extract.smk"
include: "rules/figures.smk"


rule all:
    input:
        rules.table2.output,
        rules.fig2.output,
        rules.fig4.output,
        rules.fig5.output,
    default_target: True
