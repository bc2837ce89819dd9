"""Glue: rule ppp_metrics -> pppcore.extract (one checkpoint, or every checkpoint of a run, over
the tile set; each checkpoint keeps its own JSON and NPZ)."""
from pathlib import Path

from pppcore.extract import extract_ppp
from pppcore.io import log_to
from pppcore.repro.calibration import bn_calibrator
from pppcore.runtime import prepare_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.ppp
with log_to(sm.log[0]):
    device = prepare_job(sm.threads, sm.config["device"])  # errors land in the log
    hook = None
    if "calibration" in p:
        c = p["calibration"]
        train_cfg = {"data": {c["task"]: c["data"]}, "image_size": c["image_size"]}
        hook = bn_calibrator("calibrated", c["task"], train_cfg, c["images"])
    for ckpt, json_out, npz_out in zip(sm.input.ckpts, sm.output.json, sm.output.npz, strict=True):
        extract_ppp(
            ckpt, Path(sm.input.tiles).parent, p["input_size"], json_out, npz_out,
            max_images=p["max_images"], batch_size=p["batch_size"],
            device=device, calibrate=hook,
        )
