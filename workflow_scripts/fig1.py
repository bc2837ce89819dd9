"""Glue: rule fig1 -> pppcore.repro.surfaces on random crops of the tiles, plotted by pppcore.repro.plots."""
from pathlib import Path

from pppcore.checkpoint import load_checkpoint
from pppcore.images import list_images
from pppcore.io import log_to
from pppcore.repro.plots import fig1_surfaces, save
from pppcore.repro.surfaces import channel_surfaces
from pppcore.runtime import prepare_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    device = prepare_job(sm.threads, sm.config["device"])  # errors land in the log
    model = load_checkpoint(sm.input.ckpt)
    tiles = list_images(Path(sm.input.tiles).parent)
    s = channel_surfaces(model, tiles, sm.params.input_size, loi_index=3, n=sm.params.n_images, device=device)
    print(f"{s.loi} channel {s.channel}: PPP max {s.ppp().max():.4g} over {len(s.twin)} crops", flush=True)
    caption = f"{model.arch} {model.padding}, {Path(sm.input.ckpt).stem}, {sm.params.input_size} px"
    save(fig1_surfaces(s, caption=caption), sm.output.png, sm.output.pdf, dpi=sm.params.plots["dpi"])
