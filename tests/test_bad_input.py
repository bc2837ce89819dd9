"""Bad-input inventory: every entry point refuses bad input clearly.

Each case in :data:`CASES` gives one bad input to one entry point and asserts three things:
(1) the error names the offending key, file or value (every substring in ``message``);
(2) a CLI or Snakemake run exits non-zero; (3) no result file is left changed (the watched
output folder or file is byte-identical to before, which is "still absent" for most).
:data:`FINDINGS` are bad inputs that are *not* refused yet: strict xfails, so fixing one
fails its test until it moves to :data:`CASES`.

tests/README.md is generated from both lists (a test fails when it is stale):

    .venv/bin/python tests/test_bad_input.py --write
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `python tests/test_bad_input.py --write`

from pppcore import build_model  # noqa: E402

from helpers import MICRO, ROOT, frame, small_model, snakemake, workflow_copy, write_images  # noqa: E402

README = ROOT / "tests" / "README.md"

ENTRY_POINTS = {
    "config": "config.yaml through `snakemake -n all` (the schema, then rules/common.smk)",
    "slurm": "profiles/slurm through `snakemake --profile` (fake SLURM commands on PATH; no cluster)",
    "cli": "`python -m pppcore {align,measure,extract}` and `python -m pppcore.repro train`",
    "convert": "pppcore.convert / pppcore.external and a converted model's measurement (library)",
    "checkpoint": "pppcore.checkpoint.load_checkpoint (library)",
    "tiles": "pppcore.repro.data.tiles / tile_set / folder (library; HTTP on 127.0.0.1)",
    "tables": "pppcore.repro.tables (library)",
}


@dataclass
class Attempt:
    """A prepared bad call: ``run()`` -> (exit status, None for a library call; the error text).
    ``watched``: the result folder or file it must leave as it was. ``empty_logs``: Snakemake
    may leave empty job logs under ``watched/logs`` (it creates them before submitting)."""

    run: Callable[[], tuple[int | None, str]]
    watched: Path
    empty_logs: bool = False


@dataclass(frozen=True)
class Case:
    id: str
    entry: str  # a key of ENTRY_POINTS
    wrong: str  # the bad input, for the README
    message: tuple[str, ...]  # substrings of the error, all required
    act: Callable[[Path], Attempt] = field(repr=False)  # prepares the case in a scratch folder


def raises(fn: Callable[[], Any]) -> Callable[[], tuple[None, str]]:
    """A library call as an attempt: the text of the exception it raises."""

    def run() -> tuple[None, str]:
        try:
            fn()
        except Exception as err:  # any exception: its text is what is checked
            return None, f"{type(err).__name__}: {err}"
        pytest.fail("no error raised")

    return run


def process(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Callable[[], tuple[int, str]]:
    def run() -> tuple[int, str]:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        return proc.returncode, proc.stdout + proc.stderr

    return run


def snapshot(path: Path, empty_logs: bool = False) -> dict[str, bytes] | None:
    """Every file under ``path`` (or the file itself) -> its bytes; None when absent."""
    if not path.exists():
        return None
    if path.is_file():
        return {"": path.read_bytes()}
    files = {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    if empty_logs:
        files = {k: v for k, v in files.items() if not (k.startswith("logs/") and not v)} or None
    return files


# ---------------------------------------------------------------------------- config (snakemake -n)

DELETE = object()


def _set(config: dict, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = config
    for key in parents:
        node = node.setdefault(key, {})
    if value is DELETE:
        del node[last]
    else:
        node[last] = value


def config_case(id: str, wrong: str, patch: dict[str, Any], *message: str) -> Case:
    """The micro config with ``patch`` ({dotted key: value or DELETE}) as config.yaml (so a
    deleted key stays deleted) and as --configfile; ``snakemake -n all`` must refuse it."""

    def act(tmp: Path) -> Attempt:
        wf = workflow_copy(tmp)
        config = yaml.safe_load(MICRO.read_text())
        for key, value in patch.items():
            _set(config, key, value)
        for name in ("config.yaml", "bad.yaml"):
            (wf / name).write_text(yaml.safe_dump(config, sort_keys=False))

        def run() -> tuple[int, str]:
            proc = snakemake(wf, "-n", "all", config=wf / "bad.yaml", check=False)
            return proc.returncode, proc.stdout + proc.stderr

        return Attempt(run, wf / "results")

    shown = ", ".join(f"`{k}`: {'(deleted)' if v is DELETE else f'`{v!r}`'}" for k, v in patch.items())
    return Case(id, "config", f"{wrong} ({shown})", message, act)


def at(*keys: str) -> str:
    """The schema error's pointer to the offending key: On instance['train']['paddings']."""
    return "On instance" + "".join(f"[{k!r}]" for k in keys)


CONFIG_CASES = [
    config_case("top-level-unknown-key", "unknown key at the top level", {"epochs": 3}, "'epochs' was unexpected",
                "Failed validating 'additionalProperties' in schema:"),
    config_case("train-unknown-key", "unknown key in train", {"train.foo": 1}, "'foo' was unexpected", at("train")),
    config_case("posenet-unknown-key", "unknown key in posenet", {"posenet.bar": 1}, "'bar' was unexpected",
                at("posenet")),
    config_case("arch-entry-unknown-key", "unknown key in one arch's entry", {"train.archs.vgg19.depth": 19},
                "'depth' was unexpected", at("train", "archs", "vgg19")),
    config_case("xyz-unknown-key", "misspelt key in tiles.xyz", {"tiles.xyz": {"zoomm": 17}}, "'zoomm' was unexpected",
                at("tiles", "xyz")),
    config_case("epochs-wrong-type", "a string for an integer", {"train.epochs": "ten"},
                "'ten' is not of type 'integer'", at("train", "epochs")),
    config_case("seeds-wrong-type", "a number for a list", {"train.seeds": 0}, "0 is not of type 'array'",
                at("train", "seeds")),
    config_case("dpi-wrong-type", "a float for an integer", {"plots.dpi": 99.5}, "99.5 is not of type 'integer'",
                at("plots", "dpi")),
    config_case("epochs-negative", "negative epochs", {"train.epochs": -1}, "-1 is less than the minimum of 1",
                at("train", "epochs")),
    config_case("max-images-negative", "ppp.max_images < 0", {"ppp.max_images": -1}, "-1 is less than the minimum of 0",
                at("ppp", "max_images")),
    config_case("lr-zero", "learning rate 0", {"train.lr": 0}, "0 is less than or equal to the minimum of 0",
                at("train", "lr")),
    config_case("tiles-size-too-small", "tiles below the schema's minimum", {"tiles.size": 32},
                "32 is less than the minimum of 64", at("tiles", "size")),
    config_case("bhv-rho-out-of-range", "Adadelta rho = 1", {"bhv.rho": 1},
                "1 is greater than or equal to the maximum of 1", at("bhv", "rho")),
    config_case("unknown-arch", "an arch the project does not build", {"train.archs": {"alexnet": {}}},
                "'alexnet' is not one of", at("train", "archs")),
    config_case("unknown-padding", "an unknown padding in the grid", {"train.paddings": ["zeros", "mirror"]},
                "'mirror' is not one of", at("train", "paddings", 1)),
    config_case("unknown-arch-padding", "an unknown padding in an arch's own list",
                {"train.archs.vgg19.paddings": ["mirror"]},
                "'mirror' is not one of", at("train", "archs", "vgg19", "paddings", 0)),
    config_case("unknown-device", "a device name that is not auto / cpu / cuda[:N]", {"device": "gpu"},
                "'gpu' does not match", at("device")),
    config_case("unknown-tiles-source", "an unknown tiles source", {"tiles.source": "wms"},
                "'wms' is not one of ['synthetic', 'xyz', 'folder']", at("tiles", "source")),
    config_case("unknown-baseline", "baselines with an unknown entry", {"baselines": ["posenet", "pose_net"]},
                "'pose_net' is not one of ['posenet', 'bhv']", at("baselines", 1)),
    config_case("unknown-split", "an unknown BHV split", {"bhv.splits": ["original", "random"]},
                "'random' is not one of ['original', 'independent']", at("bhv", "splits", 1)),
    config_case("size-below-arch-minimum", "a measurement size below the arch's smallest input",
                {"ppp.input_sizes": [64, 16]},
                "ppp.input_sizes: 16 px is below the smallest input vgg19 can see with padding zeros (32 px)"),
    config_case("empty-paddings", "an empty grid: no paddings", {"train.paddings": []}, "[] should be non-empty",
                at("train", "paddings")),
    config_case("empty-seeds", "an empty grid: no seeds", {"train.seeds": []}, "[] should be non-empty",
                at("train", "seeds")),
    config_case("empty-archs", "an empty grid: no archs", {"train.archs": {}}, "{} should be non-empty",
                at("train", "archs")),
    config_case("empty-input-sizes", "no measurement size", {"ppp.input_sizes": []}, "[] should be non-empty",
                at("ppp", "input_sizes")),
    config_case("duplicate-seeds", "a seed twice", {"train.seeds": [0, 0]}, "[0, 0] has non-unique elements",
                at("train", "seeds")),
    config_case("missing-required-key", "a required key left out", {"train.seeds": DELETE},
                "'seeds' is a required property", at("train")),
    config_case("empty-results", "an empty results folder name (it used to pass: every output under /)",
                {"results": ""}, "'' should be non-empty", at("results")),
    config_case("none-seeds-not-subset", "train.none_seeds not a subset of train.seeds", {"train.none_seeds": [3]},
                "train.none_seeds: [3] must be a subset of train.seeds [0]"),
    config_case("run-archs-not-in-archs", "train.run_archs naming an arch without an entry",
                {"train.run_archs": ["resnet50"]},
                "train.run_archs ['resnet50']: each must have an entry in train.archs (vgg19)"),
    config_case("arch-paddings-not-subset", "an arch's paddings outside train.paddings",
                {"train.archs.vgg19.paddings": ["reflect"]},
                "train.archs.vgg19.paddings ['reflect'] must be a subset of train.paddings ['zeros', 'circular', "
                "'none']"),
    config_case("folder-source-without-folder",
                "tiles.source folder without tiles.folder (it used to pass the dry run)", {"tiles.source": "folder"},
                "tiles.folder is required for tiles.source folder"),
    config_case("imagefolder-without-root", "train.data imagefolder without its root (it used to pass the dry run)",
                {"train.data": {"classification": {"source": "imagefolder"}}},
                "train.data.classification.root is required for source 'imagefolder'"),
    config_case("external-both-sources", "an external model with torchvision and module",
                {"external": [{"name": "x", "torchvision": "resnet18", "module": "a:b"}]},
                "is valid under each of", at("external", 0)),
    config_case("external-duplicate-name", "two external models with one name",
                {"external": [{"name": "x", "torchvision": "resnet18"}, {"name": "x", "torchvision": "resnet50"}]},
                "external: the name 'x' is used twice"),
    config_case("external-missing-weights", "an external weights file that is not there",
                {"external": [{"name": "x", "torchvision": "resnet18", "weights": "nope.pth"}]},
                "Missing input files for rule external_ppp", "nope.pth"),
]


# ---------------------------------------------------------------------------- SLURM profile

FAKE_SLURM = {
    # a cluster that needs an account: sbatch refuses a job without -A (the plugin passes -A ACCOUNT)
    "sbatch": 'case " $* " in *" -A "*) echo 4242;; *) echo "sbatch: error: Batch job submission failed: '
              'Invalid account or account/partition combination specified" >&2; exit 1;; esac',
    # no account to guess
    "sacct": 'echo "sacct: error: Problem talking to the database: Connection refused" >&2; exit 1',
    "sacctmgr": 'printf "  proj_a\\n  proj_b\\n"',  # the user's accounts
    "sshare": 'printf "  proj_a\\n  proj_b\\n"',
    "scontrol": 'echo "MaxArraySize = 1001"',
    "sinfo": "exit 0",
    "squeue": "exit 0",
    "scancel": "exit 0",
}
TRAIN_TARGET = "results/train/vgg19/zeros/seed0/log.csv"  # a SLURM job with no local job before it


def slurm_case(id: str, wrong: str, profile_patch: dict[str, Any], *message: str, dry: bool = False) -> Case:
    """profiles/slurm (``profile_patch`` merged: {key: value}, dicts one level deep) on the micro
    workflow, targeting one training job. Not ``dry``: a real run (retries off, the first
    status check after 1 s) against the fake SLURM commands above."""

    def act(tmp: Path) -> Attempt:
        wf = workflow_copy(tmp)
        shutil.copytree(ROOT / "profiles", wf / "profiles")  # profiles/default applies too, as in a checkout
        profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
        for key, value in profile_patch.items():
            profile[key] = {**profile[key], **value} if isinstance(value, dict) else value
        (tmp / "profile").mkdir()
        (tmp / "profile" / "config.yaml").write_text(yaml.safe_dump(profile))
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        for name, body in FAKE_SLURM.items():
            (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
            (bin_dir / name).chmod(0o755)
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
        cmd = [sys.executable, "-m", "snakemake", *(["-n"] if dry else []), TRAIN_TARGET,
               "--profile", str(tmp / "profile"),
               "--configfile",
 str(MICRO), "--retries", "0", "--slurm-init-seconds-before-status-checks", "1"]
        return Attempt(process(cmd, wf, env), wf / "results", empty_logs=not dry)

    shown = ", ".join(f"`{k}: {v}`" for k, v in profile_patch.items()) or "the profile as shipped"
    return Case(id, "slurm", f"{wrong} ({shown})", message, act)


SLURM_CASES = [
    slurm_case("slurm-no-account",
               "no slurm_account on a cluster whose sbatch needs one, and none to guess from sacct (a dry run passes: "
               "unset means guessed, by design)", {},
               "No SLURM account given, trying to guess", "Unable to guess SLURM account",
               "SLURM sbatch failed. The error message was "
               "'sbatch: error: Batch job submission failed: Invalid account"),
    slurm_case("slurm-unknown-account", "a slurm_account the user does not have (the profile's CHANGE_ME placeholder)",
               {"default-resources": {"slurm_account": "CHANGE_ME"}},
               "The given account CHANGE_ME appears to be invalid", "proj_a"),
    slurm_case("slurm-misspelt-key", "a misspelt profile key", {"slurm-acount": "proj_a"},
               "unrecognized arguments: --slurm-acount=proj_a", dry=True),
]


# ---------------------------------------------------------------------------- command lines

NETS = '''
from torch import nn


class Branchy(nn.Module):
    """Control flow on a tensor's value: torch.fx cannot trace it."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 4, 3, stride=2, padding=1)

    def forward(self, x):
        x = self.a(x)
        if x.mean() > 0:
            x = x * 2
        return self.b(x)


def branchy():
    return Branchy()


def tiny():
    return nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(),
                         nn.Conv2d(4, 4, 3, stride=2, padding=1), nn.ReLU(),
                         nn.Conv2d(4, 4, 3, stride=2, padding=1))


def pooled():
    """A 4-px pool without padding: inputs below 8 px leave it nothing."""
    return nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(4),
                         nn.Conv2d(4, 4, 3, padding=1))
'''


def images(tmp: Path, n: int = 2, size: int = 320, bad: str | None = None) -> Path:
    """A folder of ``n`` images; ``bad``: also a file of that name holding text, not an image."""
    folder = write_images(tmp / "images", n, size, seed=1)
    if bad:
        (folder / bad).write_text("these are my notes, not a picture\n")
    return folder


def vgg_checkpoint(path: Path, arch: str = "vgg19") -> Path:
    from pppcore.checkpoint import save_checkpoint

    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, small_model(arch, calibrate=False))
    return path


def cli_case(id: str, wrong: str, args: Callable[[Path], list[str]], *message: str, module: str = "pppcore") -> Case:
    """``python -m MODULE ARGS`` in the scratch folder; ``args(tmp)`` prepares the files. The
    command's outputs all go to ``tmp/out``, which must stay absent."""

    def act(tmp: Path) -> Attempt:
        (tmp / "nets.py").write_text(NETS)
        return Attempt(process([sys.executable, "-m", module, *args(tmp)], tmp), tmp / "out")

    return Case(id, "cli", f"`{module}`: {wrong}", message, act)


VGG = ["--arch", "vgg19", "--width", "0.125", "--num-classes", "10"]


def measure(tmp: Path, *extra: str, folder: Path | None = None) -> list[str]:
    folder = folder or images(tmp)
    return ["measure", *VGG, "--images", str(folder), "--input-size", "64", "--out", str(tmp / "out" / "m.json"),
            *extra]


def train(*extra: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["train", "--arch", "vgg19", "--width", "0.125", "--n-train", "8", "--n-val", "8",
                        "--batch-size", "8", "--epochs", "1", "--out", str(tmp / "out"), *extra]


CLI_CASES = [
    cli_case("cli-missing-checkpoint", "measure with a checkpoint that is not there",
             lambda t: measure(t, "--checkpoint", str(t / "nope.pt")),
             "error: checkpoint", "nope.pt: cannot be read ([Errno 2] No such file or directory"),
    cli_case("cli-truncated-checkpoint", "extract a truncated checkpoint",
             lambda t: ["extract", "--checkpoint", str(truncated(vgg_checkpoint(t / "ckpt" / "cut.pt"))), "--images",
                        str(images(t)), "--input-size", "64",
                        "--json", str(t / "out" / "x.json"), "--npz", str(t / "out" / "x.npz")],
             "cut.pt: cannot be read (PytorchStreamReader failed"),
    cli_case("cli-non-image-file", "an image folder holding a .png that is not an image",
             lambda t: measure(t, folder=images(t, bad="notes.png")), "notes.png: cannot be read as an image"),
    cli_case("cli-images-is-a-file", "--images naming a file (it used to say 'does not exist')",
             lambda t: measure(t, folder=images(t) / "tile_0.png"), "tile_0.png is a file, not a folder"),
    cli_case("cli-input-size-too-small", "an input size the net cannot see (the size used to go unnamed)",
             lambda t: measure(t, "--input-size", "8"),
             "input size 8x8 px: layer features.27 (kernel 2, stride 2, pad 0) gets a 1-px map"),
    cli_case("cli-images-too-small", "images smaller than the big crop",
             lambda t: measure(t, folder=images(t, size=128)),
             "tile_0.png is 128x128 px but the big crop needs at least"),
    cli_case("cli-negative-limit", "--limit -1 (it used to drop the last image silently)",
             lambda t: measure(t, "--limit", "-1"),
             "max_images must be >= 0 (0: every image) and batch_size >= 1, got -1 and 8"),
    cli_case("cli-unknown-arch", "an unknown --arch", lambda t: ["align", "--arch", "alexnet"],
             "argument --arch: invalid choice: 'alexnet'"),
    cli_case("cli-untraceable-model", "a model torch.fx cannot trace",
             lambda t: ["align", "--module", "nets:branchy", "--input-size", "32"],
             "Branchy: torch.fx cannot trace it"),
    cli_case("cli-missing-weights", "a --weights file that is not there",
             lambda t: ["align", "--torchvision", "resnet18", "--weights", str(t / "nope.pth")],
             "weights", "nope.pth: no such file"),
    cli_case("cli-train-negative-epochs", "train --epochs -1 (it used to finish 'done: 0 epochs')",
             train("--epochs", "-1"), "epochs must be >= 1, got -1", module="pppcore.repro"),
    cli_case("cli-train-ckpt-every-zero", "train --ckpt-every 0 (it used to die in a ZeroDivisionError)",
             train("--ckpt-every", "0"), "ckpt_every must be >= 1, got 0", module="pppcore.repro"),
]


def truncated(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[:1000])
    return path


# ---------------------------------------------------------------------------- conversion (library)


def library_case(id: str, entry: str, wrong: str, act: Callable[[Path], Callable[[], Any]], *message: str,
                 watched: str = "out") -> Case:
    """``act(tmp)`` prepares the files and returns the bad call; ``tmp/watched`` must not change."""
    return Case(id, entry, wrong, message, lambda tmp: Attempt(raises(act(tmp)), tmp / watched))


def _convert(*layers: Callable[[], nn.Module], padding: str = "zeros") -> Callable[[Path], Callable[[], Any]]:
    """convert() of an nn.Sequential of ``layers`` (built in the case, not at import)."""
    from pppcore import convert

    return lambda tmp: lambda: convert(nn.Sequential(*(layer() for layer in layers)), padding)


def _external(**kwargs) -> Callable[[Path], Callable[[], Any]]:
    from pppcore.external import build_external

    def act(tmp: Path) -> Callable[[], Any]:
        (tmp / "nets.py").write_text(NETS)
        return lambda: build_external(**{k: v.replace("TMP", str(tmp)) if isinstance(v, str) else v
                                         for k, v in kwargs.items()})

    return act


def _wrong_shape_weights(tmp: Path) -> Callable[[], Any]:
    from pppcore.external import build_external, load_factory

    (tmp / "nets.py").write_text(NETS)
    state = load_factory(f"{tmp}/nets.py:tiny")().state_dict()
    state["0.weight"] = torch.zeros(8, 3, 3, 3)  # 8 channels where tiny has 4
    torch.save(state, tmp / "w.pth")
    return lambda: build_external(module=f"{tmp}/nets.py:tiny", weights=str(tmp / "w.pth"))


def _converted_too_small(tmp: Path) -> Callable[[], Any]:
    from pppcore import align
    from pppcore.external import build_external

    (tmp / "nets.py").write_text(NETS)
    model = build_external(module=f"{tmp}/nets.py:pooled", taps={"pool": "2"})
    return lambda: align(model, 4)


def _converted_non_image(tmp: Path) -> Callable[[], Any]:
    from pppcore.external import build_external
    from pppcore.ppp import measure_folder

    (tmp / "nets.py").write_text(NETS)
    model = build_external(module=f"{tmp}/nets.py:tiny")
    folder = images(tmp, size=96, bad="b_notes.png")
    return lambda: measure_folder(model, folder, 32, tmp / "out" / "m.json", tmp / "out" / "m.npz", progress=False)


CONVERT_CASES = [
    library_case("convert-untraceable", "convert", "a model with control flow on a tensor's value",
                 _external(module="TMP/nets.py:branchy"), "Branchy: torch.fx cannot trace it"),
    library_case("convert-padding-none", "convert", "padding 'none' asked of convert",
                 _convert(lambda: nn.Conv2d(3, 4, 3, padding=1), padding="none"),
                 "convert: padding 'none' is the twin itself"),
    library_case("convert-unknown-padding", "convert", "an unknown padding scheme",
                 _convert(lambda: nn.Conv2d(3, 4, 3, padding=1), padding="mirror"),
                 "unknown padding 'mirror'; allowed: zeros"),
    library_case("convert-avg-pool-pads", "convert", "an average pool that pads",
                 _convert(lambda: nn.Conv2d(3, 4, 3, padding=1), lambda: nn.AvgPool2d(3, 2, padding=1)),
                 "1: an average pool that pads (1 px)"),
    library_case("convert-unequal-padding", "convert", "a conv padded unequally per axis",
                 _convert(lambda: nn.Conv2d(3, 4, 3, stride=2, padding=(1, 2))),
                 "0: padding (1, 2) differs between the axes"),
    library_case("convert-unknown-tap", "convert", "a tap naming no module or node",
                 _external(module="TMP/nets.py:tiny", taps={"c": "layer9"}), "tap 'c': no node or module 'layer9'"),
    library_case("convert-wrong-input-size", "convert", "a converted model aligned at an input size it cannot see",
                 _converted_too_small, "input size 4x4 px:"),
    library_case("convert-wrong-weights", "convert", "a weights file whose shapes do not fit", _wrong_shape_weights,
                 "w.pth: '0.weight' has shape (8, 3, 3, 3)"),
    library_case("convert-not-a-module", "convert", "a factory that is not there",
                 _external(module="TMP/nets.py:nosuch"), "nets.py has no attribute nosuch"),
    library_case("convert-unknown-torchvision", "convert", "a torchvision name that is not a classification model",
                 _external(torchvision="resnet5"), "torchvision 'resnet5': not a torchvision classification model"),
    library_case("convert-non-image-file", "convert", "a converted model measured on a folder holding a non-image .png",
                 _converted_non_image, "b_notes.png: cannot be read as an image"),
]


# ---------------------------------------------------------------------------- checkpoints (library)


def _load(make: Callable[[Path], Path], model: Callable[[], nn.Module] | None = None,
          **kwargs) -> Callable[[Path], Callable[[], Any]]:
    """load_checkpoint of the file ``make(folder)`` writes, into ``model()`` if given."""
    from pppcore.checkpoint import load_checkpoint

    def act(tmp: Path) -> Callable[[], Any]:
        (tmp / "ckpt").mkdir()
        path = make(tmp / "ckpt")
        into = model() if model else None
        return lambda: load_checkpoint(path, into, **kwargs)

    return act


def _saved(blob: Callable[[], Any], name: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        torch.save(blob(), folder / name)
        return folder / name

    return make


def _written(data: bytes, name: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        (folder / name).write_bytes(data)
        return folder / name

    return make


class _RunsCode:
    """Unpickling this would call ``os.system``: what a checkpoint must never make happen."""

    def __reduce__(self):
        return (os.system, ("true",))


def _vgg_state() -> dict:
    model = small_model("vgg19", calibrate=False)
    return {"config": dict(model.config), "state_dict": model.state_dict()}


CHECKPOINT_CASES = [
    library_case("ckpt-missing", "checkpoint", "a path with no file", _load(lambda f: f / "nope.pt"),
                 "checkpoint", "nope.pt: cannot be read ([Errno 2] No such file or directory", watched="ckpt"),
    library_case("ckpt-truncated", "checkpoint", "a checkpoint cut short",
                 _load(lambda f: truncated(vgg_checkpoint(f / "cut.pt"))),
                 "cut.pt: cannot be read (PytorchStreamReader failed", watched="ckpt"),
    library_case("ckpt-not-torch", "checkpoint", "a text file named .pt (it used to say '(101)')",
                 _load(_written(b"hello, not a checkpoint\n", "notes.pt")),
                 "notes.pt: cannot be read (not a torch file, or an empty or truncated one); if a workflow job wrote "
                 "it, delete it", watched="ckpt"),
    library_case("ckpt-empty", "checkpoint", "an empty file (it used to say '()')", _load(_written(b"", "empty.pt")),
                 "empty.pt: cannot be read (not a torch file, or an empty or truncated one); if a workflow job wrote "
                 "it, delete it", watched="ckpt"),
    library_case("ckpt-other-arch", "checkpoint", "a ResNet50 checkpoint loaded with arch='vgg19'",
                 _load(lambda f: vgg_checkpoint(f / "r.pt", "resnet50"), arch="vgg19"),
                 "r.pt holds a resnet50 but the model is a vgg19", watched="ckpt"),
    library_case("ckpt-other-width", "checkpoint", "a width-0.125 checkpoint loaded into a width-1 model",
                 _load(lambda f: vgg_checkpoint(f / "narrow.pt"), model=lambda: build_model("vgg19", num_classes=10)),
                 "narrow.pt does not fit vgg19 (width 1.0)", watched="ckpt"),
    library_case("ckpt-no-config", "checkpoint", "a bare state_dict (no config: nothing says what to build)",
                 _load(_saved(lambda: _vgg_state()["state_dict"], "bare.pt")),
                 "bare.pt: a bare state_dict; pass the model (or arch)", watched="ckpt"),
    library_case("ckpt-newer-config", "checkpoint",
                 "a config key this version does not know (there is no format field: a newer writer shows up so; "
                 "named, not a bare TypeError)",
                 _load(_saved(lambda: {**_vgg_state(), "config": {**_vgg_state()["config"], "stem": "patchify"}},
                              "new.pt")),
                 "new.pt: its config", "unexpected keyword argument 'stem'", "written by another pppcore version?",
                 watched="ckpt"),
    library_case("ckpt-unknown-arch", "checkpoint",
                 "a config naming an arch this version does not build (the file used to go unnamed)",
                 _load(_saved(lambda: {**_vgg_state(), "config": {**_vgg_state()["config"], "arch": "vgg99"}},
                              "v99.pt")),
                 "v99.pt: its config", "unknown arch 'vgg99'", watched="ckpt"),
    library_case("ckpt-runs-code", "checkpoint", "a file that would run code when unpickled",
                 _load(_saved(lambda: {**_vgg_state(), "payload": _RunsCode()}, "evil.pt")),
                 "evil.pt: cannot be read (it holds Python objects beyond tensors and plain data", watched="ckpt"),
]


# ---------------------------------------------------------------------------- tiles (library, local HTTP)


def _png(size: int = 256, flat: bool = False) -> bytes:
    rng = np.random.default_rng(size)
    arr = np.full((size, size, 3), 170, np.uint8) if flat else rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format="PNG")
    return buf.getvalue()


SERVED = {  # path -> (status, body, seconds to stall before answering)
    "/404.png": (404, b"not found", 0.0),
    "/slow.png": (200, b"", 1.0),
    "/html.png": (200, b"<html><body>Access denied</body></html>", 0.0),
    "/cut.png": (200, None, 0.0),  # a consistent but truncated PNG
    "/small.png": (200, None, 0.0),
    "/blank.png": (200, None, 0.0),
}


@pytest.fixture(scope="module")
def tile_server():
    """Serves SERVED on 127.0.0.1 (the fault is the path: one URL template per fault)."""
    bodies = {"/cut.png": _png()[: len(_png()) // 2], "/small.png": _png(128), "/blank.png": _png(flat=True),
              "/slow.png": _png()}
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            path = self.path.split("?")[0]
            status, body, stall = SERVED.get(path, (404, b"", 0.0))
            body = bodies.get(path, body)
            stop.wait(stall)
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client timed out
                pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    stop.set()
    httpd.shutdown()
    httpd.server_close()


_SERVER: dict[str, str] = {}  # the running tile_server's base URL, set by the test


def _download(fault: str) -> Callable[[Path], Callable[[], Any]]:
    """One 256-px mosaic (one tile) from a server that answers every tile with ``fault``."""
    from pppcore.repro.data.tiles import MosaicSpec, download_tiles

    def act(tmp: Path) -> Callable[[], Any]:
        template = f"{_SERVER['base']}/{fault}.png?{{z}}/{{x}}/{{y}}"
        return lambda: download_tiles([template], [MosaicSpec(3, 1, 2, 256)], tmp / "out", tmp / "cache",
                                      progress=False,
                                      timeout=(1.0, 0.3), retries=1, backoff=0.01, backoff_max=0.02, min_interval=0.0)

    return act


def _tile_set(tmp: Path) -> Path:
    from pppcore.repro.config import TilesConfig
    from pppcore.repro.data.tile_set import build_tile_set

    build_tile_set(TilesConfig.from_config({"source": "synthetic", "n": 2, "size": 64, "seed": 0}), tmp / "out")
    return tmp / "out"


def _verify(spoil: Callable[[Path], None]) -> Callable[[Path], Callable[[], Any]]:
    from pppcore.repro.data.manifest import verify_manifest

    def act(tmp: Path) -> Callable[[], Any]:
        out = _tile_set(tmp)
        spoil(out)
        return lambda: verify_manifest(out)

    return act


def _flip_a_byte(out: Path) -> None:
    path = out / "synthetic_0001.png"
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF  # inside the image data: still a file, another hash
    path.write_bytes(bytes(data))


def _folder(n: int, size: int, bad: str | None = None, ask: int = 2,
            need: int = 100) -> Callable[[Path], Callable[[], Any]]:
    from pppcore.repro.config import TilesConfig
    from pppcore.repro.data.tile_set import build_tile_set

    def act(tmp: Path) -> Callable[[], Any]:
        folder = images(tmp, n, size, bad)
        return lambda: build_tile_set(TilesConfig.from_config({"source": "folder", "n": ask, "size": need, "seed": 0,
                                                               "folder": str(folder)}),
                                      tmp / "out")

    return act


def _xyz_without_urls(tmp: Path) -> Callable[[], Any]:
    from pppcore.repro.config import TilesConfig
    from pppcore.repro.data.tile_set import build_tile_set

    xyz = {"boxes": [[4.8, 52.3, 4.9, 52.4]]}  # url_templates left [] (config/paper.yaml ships it so, to be filled in)
    return lambda: build_tile_set(TilesConfig.from_config({"source": "xyz", "n": 1, "size": 256, "seed": 0,
                                                           "xyz": xyz}), tmp / "out")


def _manifest_entry_without_hash(tmp: Path) -> Callable[[], Any]:
    from pppcore.repro.data.manifest import write_manifest

    return lambda: write_manifest(tmp / "out", [{"file": "a.png", "width": 64, "height": 64}])


def _boxes_too_small(tmp: Path) -> Callable[[], Any]:
    from pppcore.repro.data.tiles import mosaic_specs

    return lambda: mosaic_specs([[4.89, 52.37, 4.891, 52.371]], 17, 512, 3)


TILE_CASES = [
    library_case("tiles-404", "tiles", "a tile the server does not have", _download("404"),
                 "tile 3/1/2 failed on every mirror", "HTTP 404 (permanent)"),
    library_case("tiles-timeout", "tiles", "a server slower than the read timeout", _download("slow"),
                 "tile 3/1/2 failed", "Read timed out", "(after 2 attempts)"),
    library_case("tiles-not-an-image", "tiles", "an HTML error page served as 200", _download("html"), "not an image (",
                 "starting '<html><body>Access denied"),
    library_case("tiles-corrupt-png", "tiles", "a truncated PNG", _download("cut"), "truncated or corrupt image",
                 "(after 2 attempts)"),
    library_case("tiles-wrong-size", "tiles", "a 128-px tile where 256 px are expected", _download("small"),
                 "image is 128x128, expected 256x256"),
    library_case("tiles-blank", "tiles", "a one-colour 'no data' tile", _download("blank"),
                 "blank tile (every pixel is (170, 170, 170))"),
    library_case("tiles-hash-mismatch", "tiles", "a mosaic changed after its manifest was written",
                 _verify(_flip_a_byte), "synthetic_0001.png: sha256", "does not match the manifest's"),
    library_case("tiles-missing-file", "tiles", "a mosaic the manifest lists but the folder lacks",
                 _verify(lambda out: (out / "synthetic_0000.png").unlink()),
                 "synthetic_0000.png: listed in manifest.json but missing"),
    library_case("tiles-no-manifest", "tiles", "a tile folder without its manifest",
                 _verify(lambda out: (out / "manifest.json").unlink()), "manifest.json: manifest missing"),
    library_case("tiles-xyz-without-urls", "tiles",
                 "tiles.source xyz without URL templates (it used to say 'mirrors must be a non-empty list')",
                 _xyz_without_urls, "tiles.xyz.url_templates must not be empty for tiles.source xyz"),
    library_case("tiles-entry-without-hash", "tiles", "a manifest entry without its sha256",
                 _manifest_entry_without_hash, "manifest entry 'a.png' lacks ['sha256']"),
    library_case("tiles-folder-too-few", "tiles", "tiles.folder with fewer images than tiles.n", _folder(1, 128),
                 "holds 1 images, tiles.n asks for 2"),
    library_case("tiles-folder-too-small", "tiles", "tiles.folder images smaller than tiles.size", _folder(2, 64),
                 "tile_0.png is 64x64 px; tiles.size asks for at least 100x100"),
    library_case("tiles-folder-non-image", "tiles", "tiles.folder holding a .png that is not an image",
                 _folder(1, 128, bad="a_notes.png"), "a_notes.png: cannot be read as an image"),
    library_case("tiles-boxes-too-small", "tiles", "xyz boxes too small for tiles.n mosaics", _boxes_too_small,
                 "the lat/lon boxes hold only 0 mosaics of 512 px at zoom 17, 3 requested"),
]


# ---------------------------------------------------------------------------- tables (library)

def _table2(reading: str) -> Callable[[Path], Callable[[], Any]]:
    from pppcore.repro.tables import table2

    return lambda tmp: lambda: table2(frame(lambda *key: 1.0), reading=reading)


TABLE_CASES = [
    library_case("tables-unknown-reading", "tables", "an SNR reading that does not exist (Table 2's reading)",
                 _table2("snr_bogus"), "unknown SNR reading 'snr_bogus'; allowed: snr_ppp"),
]

CASES = CONFIG_CASES + SLURM_CASES + CLI_CASES + CONVERT_CASES + CHECKPOINT_CASES + TILE_CASES + TABLE_CASES


# ---------------------------------------------------------------------------- the test


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_by_name_and_changes_nothing(case, tmp_path, request):
    if case.entry == "tiles":
        _SERVER["base"] = request.getfixturevalue("tile_server")
    attempt = case.act(tmp_path)
    before = snapshot(attempt.watched, attempt.empty_logs)
    status, text = attempt.run()
    missing = [m for m in case.message if m not in text]
    assert not missing, f"{case.id}: {missing} not in the error:\n{text[-4000:]}"
    if status is not None:
        assert status != 0, f"{case.id}: exit status 0:\n{text[-2000:]}"
    assert snapshot(attempt.watched, attempt.empty_logs) == before, f"{case.id}: {attempt.watched} changed"


def test_the_inventory_is_complete_and_ids_are_unique():
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.entry for c in CASES} == set(ENTRY_POINTS)
    assert len(CASES) >= 40


# ---------------------------------------------------------------------------- not refused yet


@dataclass(frozen=True)
class Finding:
    id: str
    entry: str
    wrong: str
    happens: str  # what happens now
    test: Callable[[Path], None] = field(repr=False)  # asserts the behaviour a fix should give


def _stale_tiles_are_not_measured(tmp: Path) -> None:
    from pppcore.images import list_images
    from pppcore.repro.config import TilesConfig
    from pppcore.repro.data.manifest import read_manifest
    from pppcore.repro.data.tile_set import build_tile_set

    build_tile_set(TilesConfig.from_config({"source": "synthetic", "n": 3, "size": 64, "seed": 0}), tmp)
    # tiles.n lowered: the tiles rule reruns
    build_tile_set(TilesConfig.from_config({"source": "synthetic", "n": 2, "size": 64, "seed": 0}), tmp)
    assert [p.name for p in list_images(tmp)] == [m["file"] for m in read_manifest(tmp)["mosaics"]]


def _padding_mode_is_kept_or_refused(tmp: Path) -> None:
    from pppcore import convert

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect")).eval()
    try:
        converted = convert(model, "zeros")
    except ValueError:
        return
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(converted(x), model(x))  # the module docstring: zeros keeps the outputs


def _padless_model_is_refused(tmp: Path) -> None:
    from pppcore import convert

    with pytest.raises(ValueError):
        convert(nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(), nn.Conv2d(4, 4, 3, stride=2), nn.ReLU(),
                              nn.Conv2d(4, 4, 3, stride=2)))


def _tiles_smaller_than_the_big_crop_fail_the_dry_run(tmp: Path) -> None:
    wf = workflow_copy(tmp)
    config = yaml.safe_load(MICRO.read_text())
    config["tiles"]["size"] = 64  # vgg19's big crop at 64 px is 300 px
    (wf / "small_tiles.yaml").write_text(yaml.safe_dump(config))
    assert snakemake(wf, "-n", "all", config=wf / "small_tiles.yaml", check=False).returncode != 0


FINDINGS = [
    Finding("stale-tiles-measured", "tiles", "tiles.n lowered (or a stray image put in results/tiles) after a run",
            "the tiles rule rewrites the manifest, but the older mosaics stay in the folder and every measurement "
            "(list_images) reads them: PPP over 3 tiles where the config and manifest say 2",
            _stale_tiles_are_not_measured),
    Finding("padding-mode-replaced", "convert",
            "a Conv2d with padding_mode='reflect' (or circular) converted with padding 'zeros'",
            "converted silently to zero padding: the outputs differ from the original model's (the module says zeros "
            "keeps them)",
            _padding_mode_is_kept_or_refused),
    Finding("padless-model-accepted", "convert", "a model without any padded layer",
            "converts and measures PPP exactly 0 at every tap, with no warning (padding 'none' is refused as 'the twin "
            "itself')",
            _padless_model_is_refused),
    Finding("tiles-below-big-crop", "config",
            "tiles.size below the largest big crop (64 px tiles, vgg19 at 64 px needs 300 px)",
            "the dry run passes; ppp fails naming the tile and the big crop, but only after the tiles and training "
            "jobs ran",
            _tiles_smaller_than_the_big_crop_fail_the_dry_run),
]


@pytest.mark.parametrize("finding", FINDINGS, ids=[f.id for f in FINDINGS])
@pytest.mark.xfail(strict=True,
                   reason="not refused yet (tests/README.md: findings); a fix turns this XPASS: move the case to CASES")
def test_finding_not_refused_yet(finding, tmp_path):
    finding.test(tmp_path)


# ---------------------------------------------------------------------------- tests/README.md


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def readme() -> str:
    counts = {entry: sum(c.entry == entry for c in CASES) for entry in ENTRY_POINTS}
    lines = [
        "# Tests",
        "",
        "## Bad-input inventory",
        "",
        "<!-- Generated by `.venv/bin/python tests/test_bad_input.py --write` from CASES and FINDINGS in "
        "tests/test_bad_input.py; do not edit (test_readme_is_generated_from_the_cases fails when this file is stale). "
        "-->",
        "",
        "Each case gives one bad input to one entry point and asserts three things: (1) the error names the offending "
        "key, file or value (every quoted substring below is in it); (2) a CLI or Snakemake run exits non-zero; (3) no "
        "result file is left changed (the results folder or output path is absent or byte-identical to before; `slurm` "
        "real runs may leave an empty job log, which Snakemake creates before it submits).",
        "",
        "| entry point | what is run | cases |",
        "|---|---|---:|",
        *(f"| [{entry}](#{entry}) | {_cell(what)} | {counts[entry]} |" for entry, what in ENTRY_POINTS.items()),
        f"| **total** | | **{len(CASES)}** |",
        "",
    ]
    for entry, what in ENTRY_POINTS.items():
        lines += [f"### {entry}", "", f"{what}: {counts[entry]} case{'s' * (counts[entry] != 1)}.", ""]
        lines += ["| case | bad input | the error says |", "|---|---|---|"]
        lines += [f"| `{c.id}` | {_cell(c.wrong)} | {'; '.join(f'`{_cell(m)}`' for m in c.message)} |"
                  for c in CASES if c.entry == entry]
        lines.append("")
    lines += [
        "### Findings: not refused yet",
        "",
        f"{len(FINDINGS)} bad inputs that are accepted or refused too late; each is a strict xfail "
        "(`test_finding_not_refused_yet`) asserting what a fix should give.",
        "",
        "| finding | entry point | bad input | what happens |",
        "|---|---|---|---|",
        *(f"| `{f.id}` | {f.entry} | {_cell(f.wrong)} | {_cell(f.happens)} |" for f in FINDINGS),
        "",
    ]
    return "\n".join(lines)


def test_readme_is_generated_from_the_cases():
    assert README.read_text() == readme(), (
        "tests/README.md is stale: run .venv/bin/python tests/test_bad_input.py --write"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        README.write_text(readme())
        print(f"wrote {README} ({len(CASES)} cases, {len(FINDINGS)} findings)")
    else:
        print(readme())
