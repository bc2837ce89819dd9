"""Glue: rule train -> pppcore.repro.train, with the resume state outside the declared outputs."""
import os
import shutil
from pathlib import Path

from pppcore import build_model
from pppcore.alignment import min_input_size
from pppcore.repro.data.resized import Resized
from pppcore.repro.data.training_sets import training_sets
from pppcore.io import log_to
from pppcore.runtime import prepare_job
from pppcore.repro.train import TrainConfig, train

sm = snakemake  # noqa: F821 (injected by Snakemake)
t = sm.params.train
arch_cfg = dict(t["archs"][sm.wildcards.arch])
width = arch_cfg.pop("width", 1.0)
task = arch_cfg.pop("task", "classification")
zero_init = arch_cfg.pop("zero_init_residual", False)
state_dir = Path(sm.params.state_dir)


def publish(src: Path, dst: str) -> None:
    """Hard-link (no second copy of every checkpoint at paper scale), else copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


with log_to(sm.log[0]):
    device = prepare_job(sm.threads, sm.config.get("device", "auto"))  # errors land in the log
    train_set, val_set, num_classes = training_sets(task, t)
    if sm.wildcards.padding == "none":  # a padless net cannot see the configured size: same images, more pixels
        need = min_input_size(build_model(sm.wildcards.arch, "none", num_classes=num_classes, width=width))
        if t.get("image_size", 64) < need:
            print(f"padding none: training on the images resized to {need} px, the smallest input {sm.wildcards.arch} can see", flush=True)
            train_set, val_set = Resized(train_set, need), Resized(val_set, need)
    cfg = TrainConfig(
        arch=sm.wildcards.arch, padding=sm.wildcards.padding, seed=int(sm.wildcards.seed), width=width, num_classes=num_classes,
        epochs=t["epochs"], ckpt_every=t["ckpt_every"], batch_size=t.get("batch_size", 32), lr=t.get("lr", 0.05),
        warmup_epochs=t.get("warmup_epochs", 1.0), nesterov=t.get("nesterov", True), zero_init_residual=zero_init, task=task, model_kwargs=arch_cfg or None,
    )
    train(cfg, train_set, val_set, state_dir, state_dir / "state.pt", device=device, workers=t.get("workers", 0))
    for src, dst in zip(sorted(state_dir.glob("epoch_*.pt")), sm.output.ckpts):
        assert Path(dst).name == src.name, f"{src} does not match declared output {dst}"
        publish(src, dst)
    shutil.copyfile(state_dir / "log.csv", sm.output.log_csv)  # rewritten every epoch: a copy
