"""Glue: rule external_ppp -> pppcore.external (build, load the weights file, convert) and
pppcore.ppp (measure over the tile set, as a checkpoint is)."""
from pathlib import Path

from pppcore.external import build_external
from pppcore.io import log_to
from pppcore.ppp import measure_folder
from pppcore.repro.tables import EXTERNAL_STAGE
from pppcore.runtime import prepare_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.model
with log_to(sm.log[0]):
    device = prepare_job(sm.threads, sm.config["device"])  # errors land in the log
    model = build_external(torchvision=p.get("torchvision"), module=p.get("module"), weights=p["weights"],
                           padding=p["padding"], taps=p["taps"] or None, probe_size=p["probe_size"])
    measure_folder(
        model, Path(sm.input.tiles).parent, p["input_size"], sm.output.json, sm.output.npz,
        checkpoint=p["weights"], max_images=p["max_images"], batch_size=p["batch_size"], device=device,
        meta={"external": sm.wildcards.name, "stage": EXTERNAL_STAGE, "seed": 0, "epoch": None},
    )
