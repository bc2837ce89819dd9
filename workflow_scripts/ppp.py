"""Glue: rule ppp -> pppcore.ppp (one checkpoint, or every checkpoint of a run, over
the tile set at every measurement size; each checkpoint and size keeps its own JSON and NPZ),
and per run also pppcore.repro.posenet on the checkpoints that have a PosENet output."""
from pathlib import Path

from pppcore.io import log_to
from pppcore.ppp import extract_sizes
from pppcore.repro.calibration import bn_calibrator
from pppcore.repro.config import PosENetConfig, PPPConfig
from pppcore.repro.posenet import posenet_checkpoint
from pppcore.runtime import prepare_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
tiles = Path(sm.input.tiles).parent
with log_to(sm.log[0]):
    device = prepare_job(sm.threads, sm.config["device"])  # errors land in the log
    # the config's ppp section for this arch; params.ppp is its record (PPPConfig.params), for reruns
    ppp = PPPConfig.from_config(sm.config["ppp"], sm.config["train"], sm.wildcards.arch)
    hook = bn_calibrator(ppp)
    n = len(sm.input.ckpts)  # outputs: sizes outer, checkpoints inner (rules/common.smk)
    for i, ckpt in enumerate(sm.input.ckpts):
        outputs = list(zip(ppp.input_sizes, sm.output.json[i::n], sm.output.npz[i::n], strict=True))
        extract_sizes(ckpt, tiles, outputs, max_images=ppp.max_images, batch_size=ppp.batch_size, device=device,
                      calibrate=hook)
    if sm.params.posenet is not None:  # measure_jobs: per_run; the same checkpoint files' epochs
        cfg = PosENetConfig.from_config(sm.params.posenet)
        ckpt_of = {Path(c).stem: c for c in sm.input.ckpts}
        for json_out in sm.output.posenet:
            ckpt = ckpt_of[Path(json_out).stem]
            result = posenet_checkpoint(ckpt, tiles, cfg, json_out, device=device)
            for t in result["trials"]:
                print(f"posenet {Path(ckpt).name} trial {t['trial']}: SPC {t['spc']} MAE {t['mae']} "
                      f"(train loss {t['train_loss']})")
