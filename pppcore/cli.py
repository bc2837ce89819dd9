"""Command line of the metric core: ``python -m pppcore {align, measure, extract}``.

Training and the demo belong to the reproduction: ``python -m pppcore.repro {train, demo}``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .alignment import align
from .metrics import format_results
from .models import ARCHS, build_model
from .padding import PADDINGS
from .runtime import tune_malloc


def model_args(p: argparse.ArgumentParser) -> None:
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--arch", choices=ARCHS, help="one of the project's builds")
    source.add_argument("--torchvision", metavar="NAME",
                        help="a torchvision CNN (e.g. resnet50, convnext_tiny), converted")
    source.add_argument("--module", metavar="PKG.MOD:FACTORY",
                        help="your own CNN: a factory returning an nn.Module, converted")
    p.add_argument("--weights", help="state_dict file for --torchvision / --module (nothing is downloaded)")
    p.add_argument("--taps", help="name=node,... where to measure a converted model (default: strides 4, 8, 16, 32)")
    p.add_argument("--probe-size", type=int, default=128,
                   help="converted models: input of the probe runs that find each node's size")
    p.add_argument("--padding", default=None, choices=PADDINGS, help="default: zeros, or the checkpoint's")
    p.add_argument("--width", type=float, default=1.0,
                   help="channel multiplier (--arch only; ignored with --checkpoint)")
    p.add_argument("--num-classes", type=int, default=1000)
    p.add_argument("--input-size", type=int, default=224)


def external_model(args: argparse.Namespace):
    """The converted --torchvision / --module model, or None for --arch (whose flags are checked)."""
    from .external import build_external, parse_taps

    if args.arch is not None:
        for flag in ("weights", "taps"):
            if getattr(args, flag):
                raise ValueError(f"--{flag} is for --torchvision / --module; --arch takes --checkpoint")
        return None
    if getattr(args, "checkpoint", None):
        raise ValueError("--checkpoint is for --arch; a converted model takes --weights")
    return build_external(torchvision=args.torchvision, module=args.module, weights=args.weights,
                          padding=args.padding or "zeros", taps=parse_taps(args.taps), probe_size=args.probe_size)


def cmd_align(args: argparse.Namespace) -> int:
    model = external_model(args)
    if model is None:
        model = build_model(args.arch, args.padding or "zeros", args.num_classes, args.width)
    print(align(model, args.input_size).table())
    return 0


def cmd_measure(args: argparse.Namespace) -> int:
    from .checkpoint import load_checkpoint
    from .ppp import measure_folder

    model = external_model(args)
    if model is None and args.checkpoint:
        model = load_checkpoint(args.checkpoint, arch=args.arch, padding=args.padding, num_classes=args.num_classes,
                                width=args.width)
    elif model is None:
        model = build_model(args.arch, args.padding or "zeros", args.num_classes, args.width)
    npz = Path(args.out).with_suffix(".npz") if args.out else None
    results = measure_folder(model, args.images, args.input_size, args.out, npz, checkpoint=args.checkpoint,
                             max_images=args.limit, batch_size=args.batch_size, device=args.device, seed=args.seed)
    print(format_results(results))
    if args.out:
        print(f"wrote {args.out} and {npz}")
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from .ppp import extract_ppp

    results = extract_ppp(args.checkpoint, args.images, args.input_size, args.json, args.npz, args.max_images,
                          args.batch_size, args.device, args.seed)
    print(format_results(results))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pppcore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("align", help="print the big crop and margins (paper Appendix A layout)")
    model_args(p)
    p.set_defaults(func=cmd_align)
    p = sub.add_parser("measure", help="PPP of a model over a folder of images")
    model_args(p)
    p.add_argument("--checkpoint", help="our checkpoint or a bare (e.g. torchvision) state_dict")
    p.add_argument("--images", required=True, help="folder of images at least as large as the big crop")
    p.add_argument("--limit", type=int, default=0, help="use only the first N images (0: all)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cpu)")
    p.add_argument("--seed", type=int, default=0, help="seed of randn padding")
    p.add_argument("--out", help="write the metrics as JSON here")
    p.set_defaults(func=cmd_measure)
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
    return parser


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse, tune the allocator, run the sub-command; bad input -> exit 2 with one line."""
    args = parser.parse_args(argv)
    tune_malloc()
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
