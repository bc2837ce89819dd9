"""Glue: rule fig4 -> pppcore.repro.plots (first seed, epoch 0 vs last epoch)."""
from pppcore.io import log_to
from pppcore.repro.plots import fig4_grid, load_maps, save

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    maps = {key: load_maps(path) for key, path in zip(sm.params.panels, sm.input, strict=True)}
    save(fig4_grid(maps), sm.output.png, sm.output.pdf, dpi=sm.params.plots["dpi"])
