"""Command line of the reproduction: ``python -m pppcore.repro {train, demo}``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..cli import model_args, run


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


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(Path(args.out), n_images=args.n_images)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pppcore.repro", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train on the procedural object-shapes set, resumably")
    model_args(p)
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
    p = sub.add_parser("demo", help="a small offline PPP measurement (Appendix A tables + PPP of random-init models)")
    p.add_argument("--out", default="results/demo")
    p.add_argument("--n-images", type=int, default=16)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
