# Helpers shared by all rules (paths, the run grid, and what each job's params may hold),
# derived from the validated config (the schema has filled in every default).
#
# A job's params hold only what determines its own outputs, so growing the grid (a seed, a
# padding, an arch) or changing one arch's entry never reruns a finished job of another
# grid point: no grid list (archs, paddings, seeds) and no other arch's settings.

from pathlib import Path

import yaml

from pppcore.repro.config import PPPConfig
from pppcore.repro.grid import (
    CLAMPED,
    bhv_nets,
    checkpoint_epochs,
    measure_sizes,
    min_input_sizes,
    posenet_epochs,
    ppp_root,
    run_file,
    run_label,
)

R = config["results"]
# The torch steps' conda env (--sdm conda): unpinned for local runs, the CUDA build for the
# cluster (profiles/slurm sets conda_torch=cuda; its envs are solved on a GPU-less login node).
TORCH_ENVS = {"auto": "../envs/torch.yaml", "cuda": "../envs/torch-cuda.yaml"}
TORCH_ENV = TORCH_ENVS[config["conda_torch"]]
TRAIN = config["train"]
ARCHS = list(TRAIN["run_archs"] or TRAIN["archs"])
if not set(ARCHS) <= set(TRAIN["archs"]):
    raise ValueError(f"train.run_archs {ARCHS}: each must have an entry in train.archs ({', '.join(TRAIN['archs'])})")
PADDINGS = TRAIN["paddings"]
SEEDS = TRAIN["seeds"]
NONE_SEEDS = TRAIN["none_seeds"] if TRAIN["none_seeds"] is not None else SEEDS
if not set(NONE_SEEDS) <= set(SEEDS):
    raise ValueError(f"train.none_seeds: {NONE_SEEDS} must be a subset of train.seeds {SEEDS}")


def seeds_of(padding):
    """The seeds a padding's runs are trained with (train.none_seeds for none)."""
    return NONE_SEEDS if padding == "none" else SEEDS


GRID_KEYS = ("archs", "run_archs", "paddings", "seeds", "none_seeds")
# The baselines this run includes (config baselines): PosENet (Table 2), BHV (Table 1, Fig 3).
WITH_POSENET = "posenet" in config["baselines"]
WITH_BHV = "bhv" in config["baselines"]


def arch_paddings(arch):
    """The paddings ``arch`` runs: its own ``paddings`` (a subset of train.paddings, e.g. no
    ``none`` for ResNet50, whose smallest valid input is 427 px) or all of train.paddings."""
    own = TRAIN["archs"][arch].get("paddings")
    if own is not None and not set(own) <= set(PADDINGS):
        raise ValueError(f"train.archs.{arch}.paddings {own} must be a subset of train.paddings {PADDINGS}")
    return [p for p in PADDINGS if own is None or p in own]


# (arch, padding) of every trained model; seeds multiply it.
GRID = [(a, p) for a in ARCHS for p in arch_paddings(a)]
# Read by the jobs straight from config, never params: they cannot change any result.
RUNTIME_KEYS = ("workers",)


def canonical(value):
    """``value`` with every dict's keys sorted, recursively. Snakemake compares a job's params
    by their repr, so a config whose keys come in another order (a --configfile, a merged
    section) must not look changed: every params dict goes through this."""
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return type(value)(canonical(v) for v in value)
    return value


# The training recipe shared by every grid point (epochs, lr, batch size, ...).
TRAIN_RECIPE = canonical({k: v for k, v in TRAIN.items() if k not in (*GRID_KEYS, *RUNTIME_KEYS, "data")})


def arch_entry(wildcards):
    """The arch's own train.archs entry (width, task, batch_norm, ...), less its grid list."""
    return canonical({k: v for k, v in TRAIN["archs"][wildcards.arch].items() if k != "paddings"})


def arch_data(wildcards):
    """train.data of the arch's own task only: a saliency source never reruns a classifier."""
    return canonical(TRAIN["data"][TRAIN["archs"][wildcards.arch]["task"]])


def ckpt_epochs():
    """Epoch 0 (init), every ckpt_every epochs, and the last epoch: the ones training writes."""
    return checkpoint_epochs(TRAIN["epochs"], TRAIN["ckpt_every"])


# Extraction and PosENet: one job per checkpoint (SLURM runs a run's checkpoints side by
# side on GPUs) or one per training run (a tiny CPU run: each job first pays ~2 s of Python
# and torch start-up, more than one checkpoint's measurement; benchmarks/results/profile_jobs.csv).
PER_RUN = config["measure_jobs"] == "per_run"
POSENET_EPOCHS = posenet_epochs(TRAIN["epochs"])  # the init and the trained model
POSENET_IN_MEASURE = PER_RUN and WITH_POSENET  # per run, one process measures PPP and PosENet


# PPP is measured at every size of ppp.input_sizes (null: the paper's 224 plus the training
# size); the first is the primary size (Table 2, the figures, the claims' primary verdict).
PPP = config["ppp"]
SIZES = measure_sizes(PPP["input_sizes"], TRAIN["image_size"])
PRIMARY_SIZE = SIZES[0]


def check_sizes():
    """Refuse, before any job runs, a measurement size below an arch's smallest input for a
    padding (pppcore/repro/min_input_sizes.csv, checked against the models by the tests).
    Paddings of CLAMPED run at their net's smallest input when asked for less, as training
    does (pppcore.alignment.input_size_for): none (its PPP is 0 either way), reflect, circular."""
    minimum = min_input_sizes()
    for arch, padding in GRID:
        need = minimum[(arch, padding)]
        for size in SIZES:
            if size < need and padding not in CLAMPED:
                raise ValueError(
                    f"ppp.input_sizes: {size} px is below the smallest input {arch} can see with padding {padding} "
                    f"({need} px); use sizes >= {need}"
                )


check_sizes()


def check_sources():
    """Refuse, before any job runs, a tiles folder or training-data root left out: its job
    would fail only after the jobs before it had run. (tiles.xyz's empty url_templates and
    boxes are left to the tiles job: config/paper.yaml ships them empty, to be filled in,
    and its dry run shows the plan.)"""
    if config["tiles"]["source"] == "folder" and not config["tiles"]["folder"]:
        raise ValueError("tiles.folder is required for tiles.source folder")
    for task in sorted({TRAIN["archs"][arch]["task"] for arch in ARCHS}):
        data = TRAIN["data"][task]
        if data["source"] != "procedural" and not data["root"]:
            raise ValueError(f"train.data.{task}.root is required for source {data['source']!r}")


check_sources()


def ppp_base(size):
    return ppp_root(R, size)


def measure_files(kind, suffix, epochs=None):
    """The files of one ``kind`` (train, ppp, posenet) job: per checkpoint, one file with the
    ``{epoch}`` wildcard; per run, one per epoch of ``epochs`` (default: every checkpoint).
    A ppp job writes one file per measurement size (sizes outer, epochs inner)."""
    bases = [ppp_base(size) for size in SIZES] if kind == "ppp" else [f"{R}/{kind}"]
    return [run_file(base, e, suffix) for base in bases for e in (epochs or ckpt_epochs() if PER_RUN else ["{epoch}"])]


def measure_job(folder, kind):
    """A measurement job's log or benchmark path: per run, or per checkpoint with its epoch."""
    suffix = "" if PER_RUN else "_epoch{epoch}"
    return f"{R}/{folder}/{kind}/{run_label()}{suffix}.{'log' if folder == 'logs' else 'tsv'}"


def all_metrics(epochs=None, sizes=None):
    """Every ppp output (JSON) over the run grid, ``epochs`` (default: all) and
    ``sizes`` (default: every measurement size)."""
    runs = [(a, p, s) for a, p in GRID for s in seeds_of(p)]
    epochs = epochs or ckpt_epochs()
    return [run_file(ppp_base(size), e, ".json", *run) for size in sizes or SIZES for run in runs for e in epochs]


def posenet_outputs():
    """Every PosENet JSON (rules/posenet.smk) over the run grid; none when the run leaves PosENet out."""
    if not WITH_POSENET:
        return []
    return [run_file(f"{R}/posenet", e, ".json", a, p, s) for a, p in GRID for s in seeds_of(p) for e in POSENET_EPOCHS]


def fig4_panels():
    """(arch, padding, stage, epoch) of every Fig 4 panel: first seed, init and trained."""
    return [(a, p, stage, e) for a, p in GRID for stage, e in (("init", 0), ("trained", TRAIN["epochs"]))]


def fig4_npz(arch, padding, epoch):
    return run_file(ppp_base(PRIMARY_SIZE), epoch, ".npz", arch, padding, seeds_of(padding)[0])


def fig2_run():
    """(arch, padding) of Fig 2: ResNet50 (the shifted architecture) with zeros padding when run."""
    arch = "resnet50" if "resnet50" in ARCHS else ARCHS[0]
    own = arch_paddings(arch)
    return arch, "zeros" if "zeros" in own else own[0]


def fig1_run():
    """(arch, padding) of Fig 1: the paper's randn-padded ResNet50, or the nearest in the run."""
    arch = "resnet50" if "resnet50" in ARCHS else ARCHS[0]
    own = arch_paddings(arch)
    padded = [p for p in own if p != "none"] or own
    return arch, "randn" if "randn" in own else padded[0]


def ppp_params(wildcards):
    """config ppp for one ppp job, as its PPPConfig records it (pppcore.repro.config): the
    sizes, and with ``bn_stats: calibrated`` what the calibration images depend on (the arch's
    own task data and the training size)."""
    return canonical(PPPConfig.from_config(PPP, TRAIN, wildcards.arch).params())


# The run's scale in one line: the claims table judges every claim "at this scale".
SCALE = (
    f"{config['name']}: {', '.join(ARCHS)}; {len(SEEDS)} seed(s)"
    f"{'' if NONE_SEEDS == SEEDS else f' ({len(NONE_SEEDS)} for none)'}; {TRAIN['epochs']} epochs on "
    f"{TRAIN['n_train']} images at {TRAIN['image_size']} px; PPP on {PPP['max_images'] or 'all'} "
    f"tiles at {' and '.join(map(str, SIZES))} px (primary {PRIMARY_SIZE}), BN {PPP['bn_stats']}"
)


def report_front_page():
    """The HTML report's front page: the claims table once the claims rule has written it."""
    page = Path(f"{R}/report/front.rst")
    return str(page.resolve()) if page.exists() else "report/workflow.rst"


# Models the workflow does not train (config external): name -> entry with the schema's
# defaults (Snakemake's validate fills defaults of objects, not of a list's items).
_EXTERNAL_ITEM = yaml.safe_load((Path(workflow.basedir) / "config" / "config.schema.yaml").read_text())["properties"][
    "external"
]["items"]
EXTERNAL_DEFAULTS = {k: p["default"] for k, p in _EXTERNAL_ITEM["properties"].items() if "default" in p}
EXTERNAL = {}
for _entry in config["external"]:
    if _entry["name"] in EXTERNAL:
        raise ValueError(f"external: the name {_entry['name']!r} is used twice; names must be unique")
    EXTERNAL[_entry["name"]] = {**EXTERNAL_DEFAULTS, **_entry}


def external_files(wildcards):
    """The local files an external model is built from: its weights and its factory's .py file."""
    entry = EXTERNAL[wildcards.name]
    module_file = (entry.get("module") or "").rpartition(":")[0]
    return [f for f in (entry["weights"], module_file if module_file.endswith(".py") else None) if f]


def external_params(wildcards):
    """The entry (less its name) and what its measurement depends on in config ppp."""
    entry = {k: v for k, v in EXTERNAL[wildcards.name].items() if k != "name"}
    entry["input_size"] = entry["input_size"] or PRIMARY_SIZE
    return canonical({**entry, "max_images": PPP["max_images"], "batch_size": PPP["batch_size"]})


def external_metrics(suffix=".json"):
    """Every external model's PPP file."""
    return [f"{R}/external/{name}/ppp{suffix}" for name in EXTERNAL]
