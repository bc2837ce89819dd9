"""Glue: rule fig4_external -> pppcore.repro.plots (one row per external model)."""
from pppcore.io import log_to
from pppcore.repro.plots import external_grid, load_maps, save

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    maps = {tuple(key): load_maps(path) for key, path in zip(sm.params.panels, sm.input, strict=True)}
    save(external_grid(maps), sm.output.png, sm.output.pdf, dpi=sm.params.plots["dpi"])
