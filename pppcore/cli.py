"""Command line: ``python -m pppcore {align, measure, train, extract, demo}``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from .alignment import align
from .models import ARCHS, build_model
from .padding import PADDINGS
from .runtime import tune_malloc


def format_results(results: dict) -> str:
    """A fixed-width table of the per-LoI scalars."""
    lines = [f"{'layer':<10}{'map':>14}{'MAE-PPP':>12}{'SNR-PPP':>12}{'sigma':>12}{'stderr':>12}{'N':>6}"]
    for name, r in results.items():
        snr = "degenerate" if r.degenerate else f"{r.snr_ppp:.4g}"
        shape = "x".join(map(str, r.ppp_map.shape))
        lines.append(f"{name:<10}{shape:>14}{r.mae_ppp:>12.4g}{snr:>12}{r.sigma:>12.4g}{r.stderr:>12.3g}{r.n_images:>6}")
    return "\n".join(lines)


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--arch", required=True, choices=ARCHS)
    p.add_argument("--padding", default=None, choices=PADDINGS, help="default: zeros, or the checkpoint's")
    p.add_argument("--width", type=float, default=1.0, help="channel multiplier (ignored with --checkpoint)")
    p.add_argument("--num-classes", type=int, default=1000)
    p.add_argument("--input-size", type=int, default=224)


def cmd_align(args: argparse.Namespace) -> int:
    model = build_model(args.arch, args.padding or "zeros", args.num_classes, args.width)
    print(align(model, args.input_size).table())
    return 0


def cmd_measure(args: argparse.Namespace) -> int:
    from .checkpoint import load_checkpoint
    from .extract import measure_folder

    if args.checkpoint:
        model = load_checkpoint(args.checkpoint, arch=args.arch, padding=args.padding, num_classes=args.num_classes, width=args.width)
    else:
        model = build_model(args.arch, args.padding or "zeros", args.num_classes, args.width)
    npz = Path(args.out).with_suffix(".npz") if args.out else None
    results = measure_folder(model, args.images, args.input_size, args.out, npz, checkpoint=args.checkpoint,
                             max_images=args.limit, batch_size=args.batch_size, device=args.device, seed=args.seed)
    print(format_results(results))
    if args.out:
        print(f"wrote {args.out} and {npz}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .data.procedural import ObjectShapes
    from .train import TrainConfig, train

    cfg = TrainConfig(
        arch=args.arch, padding=args.padding or "zeros", seed=args.seed, width=args.width, num_classes=args.num_classes,
        epochs=args.epochs, ckpt_every=args.ckpt_every, batch_size=args.batch_size, lr=args.lr,
        model_kwargs={"batch_norm": True} if args.batch_norm else None,
    )
    train_set = ObjectShapes(args.n_train, args.image_size, args.num_classes, seed=2 * args.data_seed)
    val_set = ObjectShapes(args.n_val, args.image_size, args.num_classes, seed=2 * args.data_seed + 1)
    log = train(cfg, train_set, val_set, args.out, args.state or Path(args.out) / "train_state.pt")
    print(f"done: {len(log)} epochs, val_acc {log[-1]['val_acc'] if log else float('nan'):.3f}")
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from .extract import extract_ppp

    results = extract_ppp(args.checkpoint, args.images, args.input_size, args.json, args.npz, args.max_images, args.batch_size, args.device, args.seed)
    print(format_results(results))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(Path(args.out), n_images=args.n_images)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pppcore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("align", help="print the big crop and margins (paper Appendix A layout)")
    _model_args(p)
    p.set_defaults(func=cmd_align)
    p = sub.add_parser("measure", help="PPP of a model over a folder of images")
    _model_args(p)
    p.add_argument("--checkpoint", help="our checkpoint or a bare (e.g. torchvision) state_dict")
    p.add_argument("--images", required=True, help="folder of images at least as large as the big crop")
    p.add_argument("--limit", type=int, default=0, help="use only the first N images (0: all)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cpu)")
    p.add_argument("--seed", type=int, default=0, help="seed of randn padding")
    p.add_argument("--out", help="write the metrics as JSON here")
    p.set_defaults(func=cmd_measure)
    p = sub.add_parser("train", help="train on the procedural object-shapes set, resumably")
    _model_args(p)
    p.set_defaults(num_classes=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-norm", action="store_true", help="VGG with BatchNorm (vgg19_bn)")
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--ckpt-every", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--n-train", type=int, default=2000)
    p.add_argument("--n-val", type=int, default=500)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--out", required=True, help="folder for epoch_XXX.pt and log.csv")
    p.add_argument("--state", default=None, help="resume state (default: OUT/train_state.pt)")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("extract", help="PPP of one checkpoint -> small JSON + NPZ (the workflow's extraction step)")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--images", required=True)
    p.add_argument("--input-size", type=int, required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--npz", required=True)
    p.add_argument("--max-images", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_extract)
    p = sub.add_parser("demo", help="a small offline PPP measurement (the default main job for now)")
    p.add_argument("--out", default="results/demo")
    p.add_argument("--n-images", type=int, default=16)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    tune_malloc()
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
