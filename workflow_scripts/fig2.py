"""Glue: rule fig2 -> one trained checkpoint measured with the exact and the naive alignment."""
from pathlib import Path

import pandas as pd

from pppcore import align
from pppcore.checkpoint import load_checkpoint
from pppcore.extract import measure_folder
from pppcore.io import log_to, write_text
from pppcore.repro.plots import fig2_principal_shift, save
from pppcore.runtime import prepare_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.ppp
with log_to(sm.log[0]):
    device = prepare_job(sm.threads, sm.config["device"])  # errors land in the log
    model = load_checkpoint(sm.input.ckpt)
    exact = align(model, p["input_size"])
    print(exact.table(), "\nnaive centred crop: input margins", exact.centred().input_margins, flush=True)
    kw = dict(max_images=p["max_images"], batch_size=p["batch_size"], device=device)
    tiles = Path(sm.input.tiles).parent
    results = {how: measure_folder(model, tiles, p["input_size"], alignment=a, **kw) for how, a in (("exact", exact), ("naive", exact.centred()))}
    rows = [{"alignment": how, "layer": k, "mae_ppp": r.mae_ppp, "snr_ppp": r.snr_ppp} for how, res in results.items() for k, r in res.items()]
    write_text(sm.output.csv, pd.DataFrame(rows).to_csv(index=False))
    caption = f"{model.arch} {model.padding}, {Path(sm.input.ckpt).stem}, {p['input_size']} px"
    save(fig2_principal_shift(results["exact"], results["naive"], caption), sm.output.png, sm.output.pdf, dpi=sm.params.plots["dpi"])
