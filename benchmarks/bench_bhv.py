"""Benchmark: one BHV job's nets fitted one by one (today) vs as ONE grouped model.

A BHV job (rule bhv: one split x padding x conv type) fits ``trials x backgrounds`` nets
(default config: 2 x 2 = 4), each trained on its own with early stopping. The candidate
here fits them together: the nets are stacked along the channel dimension and every conv
runs once with ``groups=G``; the linear head is a batched matmul. Everything else is kept
per net, as today:

- each net's own init (``BHVNet(padding, conv_type, 1000 * seed + t)``, stacked), its own
  data stream (its background's images, fixed order; the channel slice of the input) and
  its own optimizer state (Adadelta is elementwise, so one optimizer over the stacked
  tensors is one optimizer per net; the loss is the sum of the per-net mean losses, so
  each net's gradient is its own);
- ``randn``: every net's pads draw from that net's own generators with that net's shapes
  (each net's channel slice goes through its own ``RandnPad2d``), so the noise is the one
  the net would draw alone; a net that stopped draws nothing (its slice is zero-padded);
- early stopping per net, the same logic as ``bhv.fit``: a stopped net is masked (no loss,
  its slice of every parameter is written back to its best weights after each step) and
  its history ends at its stop; the best weights of every net are restored for testing.

Timing: alternating old/new per (padding, conv type), 1 thread, the job's two backgrounds
(one job = both backgrounds, as in the workflow), ``--repeats`` times; the median and the
range of CPU seconds of this thread (``time.thread_time``: the machine is shared, wall
time is not reliable here; at 1 thread it is what the job costs) and of wall seconds.
Also the largest difference between old and new on every reported metric (a check that
the candidate computes the same thing). The estimate of the saving over the default grid
multiplies each measured job's median saving by the grid's jobs of that (padding, conv
type) (the default config: one split, so one job each); conv types not measured are taken
from the measured mean.

    python benchmarks/bench_bhv.py [--repeats 3] [--quick] [--rounding-check]

Result (benchmarks/results/bench_bhv.csv, 3 alternating repeats, 1 thread, 2-core shared
CPU, torch 2.14 CPU): NOT ADOPTED. The grouped model is slower for every measured job, by
2.0 s (none/valid, 15.6 -> 17.6 CPU s) to 14.7 s (zeros/full, 32.0 -> 46.6); over the
default grid (11 jobs, reflect/replicate estimated from zeros/circular) it costs ~103 job-s
more (378 -> 481 CPU s, +27 %), far from the >= 50 job-s saving asked for. Why: stacking
saves only per-op dispatch overhead (the FLOPs are the same), and on CPU oneDNN's grouped
convolution is slower than G plain ones, mostly in the backward of the 32 -> 32 stride-2
conv (about 58 vs 36 ms per 4-net step; an unfold + batched-matmul conv is slower still).
bhv.py therefore stays as it is; the candidate is kept here so that the measurement can
be rerun (e.g. on a GPU, where grouping may pay).

The candidate computes the same thing: within the first epochs its per-net validation
losses agree with today's to ~1e-7 and the accuracies exactly (early stopping and the
masking of stopped nets included). Over the 8 epochs of the default config they drift
apart (table: up to 0.15 in loss, 11 points of accuracy, 16 of inconsistency) because
this training is chaotic, not because of the grouping: ``--rounding-check`` runs today's
code unchanged but with channels-last inputs (another conv kernel, the same mathematics)
and it drifts just as far: bit-identical (grouped: ~1e-8) for the first epochs, then
within one epoch the loss differs by ~2e-3 (a discrete switch, such as another arg max in
the global max pool, amplified by Adadelta at lr 1), 1e-2 to 1e-1 by epoch 8. \
So Table 1's per-trial numbers repeat exactly only on the same kernels (same
torch build, CPU and thread count); across machines they vary by this much.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import math
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from torch import nn

from pppcore.padding import RandnPad2d
from pppcore.repro.bhv import BHVConfig, BHVNet, make_splits, run_variant, variants

from report_table import print_and_write  # benchmarks/ (the script's own folder)

ROOT = Path(__file__).resolve().parents[1]
GRID_KEYS = ("paddings", "conv_types", "splits", "backgrounds")


# ---------------------------------------------------------------------------- the candidate


class GroupedPad(nn.Module):
    """One padding policy applied to a stack of G nets' maps (channel blocks of ``c`` each).

    Schemes other than ``randn`` act channel by channel with no state: the first net's pad
    on the whole stack is every net's pad. ``randn`` keeps each net's own ``RandnPad2d``
    (its generator) and pads that net's channel block with it; inactive nets draw nothing."""

    def __init__(self, pads: list[nn.Module], active: list[bool]) -> None:
        super().__init__()
        self.randn = isinstance(pads[0], RandnPad2d)
        self.pads = nn.ModuleList(pads if self.randn else pads[:1])
        self.active = active  # shared with the grouped model (a list, mutated in place)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.randn:
            return self.pads[0](x)
        blocks = x.chunk(len(self.pads), dim=1)
        return torch.cat([p(b) if on else F.pad(b, [p.amount] * 4)
                          for p, b, on in zip(self.pads, blocks, self.active, strict=True)], 1)


class GroupedBHV(nn.Module):
    """G BHV nets as one: convs with ``groups=G``, the head as a batched matmul.
    Input ``N x 3G x 32 x 32`` (net g's images in channels 3g..3g+2), output ``N x G x 2``."""

    def __init__(self, nets: list[BHVNet]) -> None:
        super().__init__()
        self.g = len(nets)
        self.active = [True] * self.g
        self.strides = [c.stride for c in nets[0].convs]
        self.weights = nn.ParameterList([
            nn.Parameter(torch.cat([n.convs[i].weight.detach() for n in nets]).clone())
            for i in range(len(nets[0].convs))])
        self.pads = nn.ModuleList([GroupedPad([copy.deepcopy(n.convs[i].pad) for n in nets], self.active)
                                   for i in range(len(nets[0].convs))])
        # deepcopy drops a RandnPad2d's generators: re-seeded from its seed, as the net's own
        self.fc_weight = nn.Parameter(torch.stack([n.fc.weight.detach() for n in nets]).clone())  # G x 2 x 64
        self.fc_bias = nn.Parameter(torch.stack([n.fc.bias.detach() for n in nets]).clone())  # G x 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, (w, pad, stride) in enumerate(zip(self.weights, self.pads, self.strides, strict=True)):
            x = pad(x)
            if i:
                x = F.relu(x)
            x = F.conv2d(x, w, stride=stride, groups=self.g)
        pooled = torch.amax(F.relu(x), dim=(-2, -1)).view(len(x), self.g, -1)  # N x G x 64
        return torch.einsum("ngc,gkc->ngk", pooled, self.fc_weight) + self.fc_bias

    def slices(self, g: int) -> list[torch.Tensor]:
        """Net g's part of every parameter (views)."""
        return [p.view(self.g, -1)[g] for p in self.parameters()]


def stack(parts: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-net (images, labels) -> (N x 3G x H x W, N x G)."""
    return torch.cat([x for x, _ in parts], 1), torch.stack([y for _, y in parts], 1)


@torch.no_grad()
def evaluate_grouped(
    model: GroupedBHV, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500
) -> tuple[list[float], list[float]]:
    """Per net (mean cross-entropy, accuracy in %), batched as ``bhv.loss_and_accuracy``."""
    model.eval()
    loss, correct = torch.zeros(model.g, dtype=torch.float64), torch.zeros(model.g, dtype=torch.int64)
    for i in range(0, len(x), batch_size):
        out, yb = model(x[i : i + batch_size]), y[i : i + batch_size]
        loss += F.cross_entropy(out.transpose(1, 2), yb, reduction="none").double().sum(0)
        correct += (out.argmax(2) == yb).sum(0)
    return (loss / len(x)).tolist(), (100.0 * correct.double() / len(x)).tolist()


def fit_grouped(
    model: GroupedBHV, train: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor], cfg: BHVConfig
) -> list[dict]:
    """``bhv.fit`` for G nets at once; a stopped net is masked (see the module docstring)."""
    opt = torch.optim.Adadelta(model.parameters(), lr=cfg.lr, rho=cfg.rho, eps=cfg.eps, weight_decay=cfg.weight_decay)
    g = model.g
    best, best_state, best_epoch, waited = [math.inf] * g, [None] * g, [0] * g, [0] * g
    history: list[list[dict]] = [[] for _ in range(g)]
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        mask = torch.tensor(model.active, dtype=torch.float32)
        for i in range(0, len(train[0]), cfg.batch_size):
            xb, yb = train[0][i : i + cfg.batch_size], train[1][i : i + cfg.batch_size]
            opt.zero_grad(set_to_none=True)
            per_net = F.cross_entropy(model(xb).transpose(1, 2), yb, reduction="none").mean(0)
            (per_net * mask).sum().backward()
            opt.step()
            if not all(model.active):
                with torch.no_grad():
                    for k in range(g):
                        if not model.active[k]:
                            for p, b in zip(model.slices(k), best_state[k], strict=True):
                                p.copy_(b)
        val_loss, val_acc = evaluate_grouped(model, *val)
        for k in range(g):
            if not model.active[k]:
                continue
            history[k].append({"epoch": epoch, "val_loss": val_loss[k], "val_acc": val_acc[k]})
            if val_loss[k] < best[k]:
                best[k], best_state[k], best_epoch[k], waited[k] = (
                    val_loss[k], [p.detach().clone() for p in model.slices(k)], epoch, 0)
            else:
                waited[k] += 1
                if waited[k] >= cfg.patience:
                    model.active[k] = False
        if not any(model.active):
            break
    with torch.no_grad():
        for k in range(g):
            if best_state[k] is not None:
                for p, b in zip(model.slices(k), best_state[k], strict=True):
                    p.copy_(b)
    model.active[:] = [True] * g  # testing: every net draws its own noise again
    return [{"best_epoch": best_epoch[k], "epochs_run": len(history[k]), "best_val_loss": best[k],
             "history": history[k]} for k in range(g)]


@torch.no_grad()
def inconsistency_grouped(model: GroupedBHV, trajs: list[torch.Tensor], batch_size: int = 1000) -> list[float]:
    model.eval()
    frames = torch.cat(trajs)
    preds = torch.cat([model(frames[i : i + batch_size]).argmax(2) for i in range(0, len(frames), batch_size)])  # F x G
    switched = torch.stack([(p != p[0]).any(0) for p in preds.split([len(t) for t in trajs])])  # T x G
    return (100.0 * switched.double().sum(0) / len(trajs)).tolist()


def run_job_grouped(
    padding: str, conv_type: str, backgrounds: list[str], cfg: BHVConfig, split: str = "independent"
) -> list[dict]:
    """Every (background, trial) net of one job fitted as one grouped model; one result per
    background, shaped as ``bhv.run_variant``'s (``seconds``: the job's time / its nets)."""
    start = time.perf_counter()
    data = {bg: make_splits(cfg.n_train, cfg.n_val, cfg.n_test, cfg.n_trajectories, bg, cfg.seed, split)
            for bg in backgrounds}
    keys = [(bg, t) for bg in backgrounds for t in range(cfg.trials)]
    model = GroupedBHV([BHVNet(padding, conv_type, 1000 * cfg.seed + t) for _, t in keys])
    fitted = fit_grouped(model, stack([data[bg].train for bg, _ in keys]), stack([data[bg].val for bg, _ in keys]), cfg)
    similar = evaluate_grouped(model, *stack([data[bg].similar for bg, _ in keys]))[1]
    dissim = evaluate_grouped(model, *stack([data[bg].dissimilar for bg, _ in keys]))[1]
    incons = inconsistency_grouped(
        model, [torch.cat(frames, 1) for frames in zip(*(data[bg].trajectories for bg, _ in keys), strict=True)])
    seconds = (time.perf_counter() - start) / len(keys)
    out = {bg: {"split": split, "padding": padding, "conv_type": conv_type, "background": bg,
                "config": vars(cfg).copy(), "trials": []} for bg in backgrounds}
    for k, (bg, t) in enumerate(keys):
        out[bg]["trials"].append({
            "trial": t, "init_seed": 1000 * cfg.seed + t, "similar": similar[k], "dissimilar": dissim[k],
            "diff": dissim[k] - similar[k], "inconsistency": incons[k], "seconds": seconds, **fitted[k],
        })
    return [out[bg] for bg in backgrounds]


# ---------------------------------------------------------------------------- timing


def run_job_old(padding: str, conv_type: str, backgrounds: list[str], cfg: BHVConfig, split: str) -> list[dict]:
    with contextlib.redirect_stdout(io.StringIO()):  # today's per-epoch log lines
        return [run_variant(padding, conv_type, bg, cfg, split=split) for bg in backgrounds]


def metric_diffs(old: list[dict], new: list[dict]) -> dict[str, float]:
    """Largest |old - new| per reported metric over every net of the job."""
    out: dict[str, float] = {}
    for a, b in zip(old, new, strict=True):
        for ta, tb in zip(a["trials"], b["trials"], strict=True):
            assert (ta["epochs_run"], ta["best_epoch"]) == (tb["epochs_run"], tb["best_epoch"]), (
                "early stopping differs")
            pairs = [(k, ta[k], tb[k]) for k in ("similar", "dissimilar", "diff", "inconsistency", "best_val_loss")]
            pairs += [(k, ha[k], hb[k]) for ha, hb in zip(ta["history"], tb["history"], strict=True)
                      for k in ("val_loss", "val_acc")]
            for k, x, y in pairs:
                out[k] = max(out.get(k, 0.0), abs(x - y))
    return out


def rounding_check(cfg: BHVConfig, split: str) -> None:
    """Today's code vs today's code with channels-last inputs (circular F-Conv, grey):
    per-epoch |val loss| differences and the reported metrics of both."""
    ref = run_job_old("circular", "full", ["grey"], cfg, split)
    plain = BHVNet.forward
    BHVNet.forward = lambda self, x: plain(self, x.contiguous(memory_format=torch.channels_last))
    try:
        other = run_job_old("circular", "full", ["grey"], cfg, split)
    finally:
        BHVNet.forward = plain
    for a, b in zip(ref[0]["trials"], other[0]["trials"], strict=True):
        drift = " ".join(f"{abs(x['val_loss'] - y['val_loss']):.0e}"
                         for x, y in zip(a["history"], b["history"], strict=True))
        print(f"trial {a['trial']}: |val loss diff| per epoch {drift}; similar {a['similar']} vs {b['similar']}, "
              f"inconsistency {a['inconsistency']} vs {b['inconsistency']}")


def timed(fn, *args) -> tuple[float, float, list[dict]]:
    cpu, wall = time.thread_time(), time.perf_counter()
    result = fn(*args)
    return time.thread_time() - cpu, time.perf_counter() - wall, result


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} [{min(values):.1f}-{max(values):.1f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="zeros/full and none/valid only, 1 repeat")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_bhv.csv"))
    ap.add_argument("--rounding-check", action="store_true",
                    help="only: does today's code drift as far under another conv kernel?")
    args = ap.parse_args()
    torch.set_num_threads(1)
    section = yaml.safe_load((ROOT / "config.yaml").read_text())["bhv"]
    cfg = BHVConfig.from_config({k: v for k, v in section.items() if k not in GRID_KEYS})
    backgrounds, split = section["backgrounds"], section["splits"][0]
    if args.rounding_check:
        return rounding_check(cfg, split)
    grid = variants(section["paddings"], section["conv_types"])
    measured = [(p, c) for p, c in grid if p in ("zeros", "randn", "circular", "none")]
    repeats = 1 if args.quick else args.repeats
    if args.quick:
        measured = [("zeros", "full"), ("none", "valid")]
    rows, medians = [], {}
    for padding, conv_type in measured:
        old_cpu, new_cpu, old_wall, new_wall, diffs = [], [], [], [], {}
        for _ in range(repeats):
            c, w, old = timed(run_job_old, padding, conv_type, backgrounds, cfg, split)
            old_cpu.append(c), old_wall.append(w)
            c, w, new = timed(run_job_grouped, padding, conv_type, backgrounds, cfg, split)
            new_cpu.append(c), new_wall.append(w)
            for k, v in metric_diffs(old, new).items():
                diffs[k] = max(diffs.get(k, 0.0), v)
        medians[(padding, conv_type)] = statistics.median(old_cpu), statistics.median(new_cpu)
        rows.append({
            "job": f"{padding}_{conv_type}", "nets": len(backgrounds) * cfg.trials, "repeats": repeats,
            "old cpu s (median [range])": fmt(old_cpu), "grouped cpu s": fmt(new_cpu),
            "saving cpu s": round(medians[(padding, conv_type)][0] - medians[(padding, conv_type)][1], 1),
            "old wall s": fmt(old_wall), "grouped wall s": fmt(new_wall),
            "max |diff| loss": f"{max(diffs['best_val_loss'], diffs['val_loss']):.1e}",
            "max |diff| acc %": f"{max(diffs[k] for k in ('similar', 'dissimilar', 'val_acc')):.2f}",
            "max |diff| inconsistency %": f"{diffs['inconsistency']:.2f}",
        })
        print(rows[-1], flush=True)
    def proxy(padding: str, conv_type: str) -> tuple[float, float]:
        """A grid job's (old, grouped) median CPU s: measured, or the mean over the measured
        deterministic paddings of its conv type (reflect and replicate pad as circular does)."""
        if (padding, conv_type) in medians:
            return medians[(padding, conv_type)]
        like = [v for (p, c), v in medians.items() if c == conv_type and p != "randn"] or list(medians.values())
        return statistics.mean(o for o, _ in like), statistics.mean(n for _, n in like)

    jobs = [proxy(p, c) for p, c in grid] * len(section["splits"])
    old_total, new_total = sum(o for o, _ in jobs), sum(n for _, n in jobs)
    total = old_total - new_total
    rows.append({"job": f"estimate: default grid ({len(jobs)} jobs)", "nets": len(backgrounds) * cfg.trials,
                 "old cpu s (median [range])": f"{old_total:.1f}", "grouped cpu s": f"{new_total:.1f}",
                 "saving cpu s": round(total, 1)})
    print_and_write(rows, args.out)
    print(f"estimated saving over the default grid: {total:.1f} job-s of {old_total:.1f} "
          f"({100 * total / old_total:.0f} %; adopt only if >= 50 job-s)")


if __name__ == "__main__":
    main()
