# PPP reproduction workflow: tiles -> training checkpoints -> aligned PPP metrics -> tables, figures.
from snakemake.utils import min_version, validate

min_version("9.17")  # 9.17: priority as a function of the wildcards (rules/train.smk)


configfile: "config.yaml"


validate(config, "config/config.schema.yaml")


include: "rules/common.smk"


wildcard_constraints:
    arch="|".join(ARCHS),
    padding="|".join(PADDINGS),
    seed=r"\d+",
    epoch=r"\d{3}",
    name=r"[A-Za-z0-9][A-Za-z0-9_.-]*",


include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/ppp.smk"
include: "rules/posenet.smk"
include: "rules/bhv.smk"
include: "rules/claims.smk"
include: "rules/external.smk"


rule all:
    default_target: True
    input:
        rules.table2.output,
        rules.fig1.output,
        rules.fig2.output,
        rules.fig4.output,
        rules.fig5.output,
        rules.table1.output if WITH_BHV else [],
        rules.fig3.output if WITH_BHV else [],
        rules.readings.output,
        rules.reading_fit.output,
        rules.claims.output,
        rules.fig4_external.output if EXTERNAL else [],


# The run that decides Sec 4.1 (config/central.yaml): the claims, every reading, the reading
# fit, Table 2 and Fig 5, without the figures a CPU run need not draw.
rule central:
    input:
        rules.reading_fit.output,
        rules.readings.output,
        rules.claims.output,
        rules.table2.output,
        rules.fig5.output,


include: "rules/report.smk"


# The report opens with the claims table (rules/claims.smk) once the run has one.
report: report_front_page()


# Under a cluster executor (profiles/slurm) the data step (downloads need the internet) and
# the plot/table steps (seconds each) run on the submitting host; train, ppp,
# PosENet, BHV and Figs 1-2 (torch on a GPU) are submitted.
localrules:
    all,
    tiles,
    table1,
    table2,
    fig3,
    fig4,
    fig4_external,
    fig5,
    readings,
    reading_fit,
    claims,
    central,
    report,
