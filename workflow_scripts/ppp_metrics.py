"""Glue: rule ppp_metrics -> pppcore.extract (one checkpoint, or every checkpoint of a run, over
the tile set at every measurement size; each checkpoint and size keeps its own JSON and NPZ)."""
from pathlib import Path

from pppcore.extract import extract_sizes
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
    n = len(sm.input.ckpts)  # outputs: sizes outer, checkpoints inner (rules/common.smk)
    for i, ckpt in enumerate(sm.input.ckpts):
        outputs = list(zip(p["input_sizes"], sm.output.json[i::n], sm.output.npz[i::n], strict=True))
        extract_sizes(
            ckpt, Path(sm.input.tiles).parent, outputs, max_images=p["max_images"], batch_size=p["batch_size"],
            device=device, calibrate=hook,
        )
