"""The workflow's configuration, read from one schema (``config.schema.yaml`` beside this file),
and its sections as frozen dataclasses.

The schema is the single place for every key's default and description: Snakemake validates
``config.yaml`` against it, the dataclasses below take their defaults from it (:func:`default`),
and :func:`parse` is the one strict way from a config section to a dataclass (an unknown key is
an error that names it and the allowed keys). Each dataclass has one wrapper, ``from_config``,
called where the workflow hands over (``workflow_scripts/``, the benchmarks); the library takes
the dataclasses. Torch-free, like :mod:`pppcore.repro.grid`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from . import grid

SCHEMA_PATH = Path(__file__).with_name("config.schema.yaml")
T = TypeVar("T")


@functools.cache
def schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def section_schema(section: str) -> dict[str, Any]:
    """The schema of a dotted section: ``"posenet"``, ``"train"``, ``"train.archs.*"`` (one arch's entry)."""
    node = schema()
    for part in section.split("."):
        node = node["additionalProperties"] if part == "*" else node["properties"][part]
    return node


def allowed_keys(section: str) -> list[str]:
    return list(section_schema(section).get("properties", {}))


def default(section: str, key: str) -> Any:
    """The schema's default of ``section.key`` (a KeyError names a key that has none)."""
    prop = section_schema(section)["properties"][key]
    if "default" not in prop:
        raise KeyError(f"{section}.{key} has no default in {SCHEMA_PATH.name}")
    return prop["default"]


def defaults(section: str) -> dict[str, Any]:
    return {k: p["default"] for k, p in section_schema(section).get("properties", {}).items() if "default" in p}


def check_keys(mapping: Mapping[str, Any], section: str) -> None:
    unknown = sorted(set(mapping) - set(allowed_keys(section)))
    if unknown:
        raise ValueError(f"{section}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(allowed_keys(section))}")


def with_defaults(mapping: Mapping[str, Any] | None, section: str) -> dict[str, Any]:
    """``mapping`` checked strictly, with the schema's defaults for the keys it leaves out."""
    mapping = dict(mapping or {})
    check_keys(mapping, section)
    return {**defaults(section), **mapping}


def parse(cls: type[T], mapping: Mapping[str, Any] | None, section: str, **job: Any) -> T:
    """The dataclass ``cls`` from config ``section`` (strict, defaults from the schema) plus
    per-job values ``job`` (e.g. wildcards; they win over the section's). Schema keys that are
    not fields of ``cls`` (the grid lists of a section) configure the workflow, not the job,
    and are left out."""
    values = with_defaults(mapping, section)
    fields = {f.name for f in dataclasses.fields(cls)}
    return cls(**{**{k: v for k, v in values.items() if k in fields}, **job})


# ---------------------------------------------------------------- the sections as dataclasses
# Each is parsed once, at the glue boundary (workflow_scripts/, the benchmarks), by its
# ``from_config``; the library takes the dataclasses and never reads a raw section.

TASKS = ("classification", "saliency")
# When training scores the validation set: every epoch (the log's learning curve) or only at the
# checkpoint epochs, whose scores the checkpoints carry (about 10 % of a tiny run's training).
VALIDATE = ("every_epoch", "checkpoints")
MEMORY_FORMAT_NAMES = ("contiguous", "channels_last")  # training's tensor layouts (pppcore.repro.train.MEMORY_FORMATS)
BN_STATS = ("as_saved", "calibrated")
POSENET_TARGETS = ("gaussian", "horizontal", "vertical", "stripes_h", "stripes_v")
POSENET_FEATURE_SIZE = 28  # PosENet resizes every tap to 28 x 28 (pppcore.repro.posenet)


def _choice(key: str, value: Any, allowed: tuple[str, ...], what: str = "unknown") -> None:
    if value not in allowed:
        raise ValueError(f"{what} {key} {value!r}; allowed: {', '.join(allowed)}")


@dataclass(frozen=True)
class DataConfig:
    """``train.data.<task>``: the training data of one task (``train_dir`` / ``val_dir``: imagefolder only)."""

    task: str = "classification"
    source: str = default("train.data.classification", "source")
    root: str | None = None
    train_dir: str = default("train.data.classification", "train_dir")
    val_dir: str = default("train.data.classification", "val_dir")

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; allowed: {', '.join(TASKS)}")

    @classmethod
    def from_config(cls, task: str, section: Mapping[str, Any] | None) -> DataConfig:
        cls(task=task)  # an unknown task is named before its section is looked up
        return parse(cls, section, f"train.data.{task}", task=task)

    def record(self) -> dict[str, Any]:
        """The section as the validated config holds it (only its task's keys)."""
        return {k: getattr(self, k) for k in allowed_keys(f"train.data.{self.task}")}


@dataclass(frozen=True)
class TrainConfig:
    """One training job: the grid point (arch, padding, seed), the arch's own settings, the
    recipe and the data; every default is the schema's (``train``)."""

    arch: str
    padding: str = "zeros"
    seed: int = 0
    width: float = default("train.archs.*", "width")
    num_classes: int | None = None  # None: the training set's (``num_classes``; 1 for saliency)
    epochs: int = default("train", "epochs")
    ckpt_every: int = default("train", "ckpt_every")
    batch_size: int = default("train", "batch_size")
    lr: float = default("train", "lr")
    momentum: float = default("train", "momentum")
    nesterov: bool = default("train", "nesterov")
    weight_decay: float = default("train", "weight_decay")
    warmup_epochs: float = default("train", "warmup_epochs")
    zero_init_residual: bool = default("train.archs.*", "zero_init_residual")
    task: str = default("train.archs.*", "task")
    model_kwargs: dict[str, Any] | None = None
    init_weights: str | None = None  # trunk weights file loaded on a fresh start (pppcore.repro.init_weights)
    validate: str = default("train", "validate")  # every_epoch | checkpoints
    memory_format: str = default("train", "memory_format")  # contiguous | channels_last
    image_size: int = default("train", "image_size")
    n_train: int = default("train", "n_train")  # procedural sources only
    n_val: int = default("train", "n_val")
    data: DataConfig | None = None  # None: the task's default data (set in __post_init__)

    def __post_init__(self) -> None:
        for key in ("epochs", "ckpt_every", "batch_size", "n_train", "n_val"):
            if getattr(self, key) < 1:  # the schema's minimums, for a TrainConfig built outside the workflow (the CLI)
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        _choice("task", self.task, TASKS)
        _choice("validate", self.validate, VALIDATE)
        _choice("memory_format", self.memory_format, MEMORY_FORMAT_NAMES)
        if self.data is None:
            object.__setattr__(self, "data", DataConfig(task=self.task))
        elif self.data.task != self.task:
            raise ValueError(f"{self.arch}: the data are of task {self.data.task!r}, the arch's task is {self.task!r}")

    def is_checkpoint(self, epoch: int) -> bool:
        return grid.is_checkpoint(epoch, self.epochs, self.ckpt_every)

    def checkpoint_epochs(self) -> list[int]:
        """The epochs whose checkpoints training writes (:func:`pppcore.repro.grid.checkpoint_epochs`)."""
        return grid.checkpoint_epochs(self.epochs, self.ckpt_every)

    @classmethod
    def from_config(cls, arch: str, padding: str, seed: int, arch_entry: Mapping[str, Any] | None,
                    recipe: Mapping[str, Any] | None, data: Mapping[str, Any] | None = None,
                    num_classes: int | None = None) -> TrainConfig:
        """The job of grid point (arch, padding, seed) from the arch's own ``train.archs`` entry,
        the ``train`` recipe keys and ``train.data.<task>`` of the arch's task; all checked
        strictly against the schema."""
        entry = with_defaults(arch_entry, "train.archs.*")
        own = {k: entry.pop(k) for k in ("width", "task", "zero_init_residual")}
        recipe = dict(recipe or {})
        if (lr := entry.pop("lr")) is not None:  # this arch's own peak learning rate
            recipe["lr"] = lr
        own["init_weights"] = entry.pop("init_weights")  # loaded after build_model, not an option of it
        entry.pop("paddings", None)  # the arch's grid list: the workflow's, not the job's
        extra = dict(entry)  # build-time options of this arch (batch_norm, dropout, squeeze_excitation, init)
        own["data"] = DataConfig.from_config(own["task"], data)
        return parse(cls, recipe, "train", arch=arch, padding=padding, seed=seed, num_classes=num_classes,
                     model_kwargs=extra or None, **own)


@dataclass(frozen=True)
class Calibration:
    """``ppp.bn_stats: calibrated``: ``images`` training images of ``data`` at the training
    size ``image_size`` (pppcore.repro.calibration)."""

    images: int
    data: DataConfig
    image_size: int


@dataclass(frozen=True)
class PPPConfig:
    """One arch's PPP measurement: the ``ppp`` section resolved against ``train`` (the sizes;
    with ``bn_stats: calibrated`` the arch's own task data and the training size)."""

    input_sizes: tuple[int, ...]
    max_images: int = default("ppp", "max_images")
    batch_size: int = default("ppp", "batch_size")
    bn_stats: str = default("ppp", "bn_stats")
    calibration: Calibration | None = None  # set exactly when bn_stats is calibrated

    def __post_init__(self) -> None:
        if self.bn_stats not in BN_STATS:
            raise ValueError(f"ppp.bn_stats must be one of {', '.join(BN_STATS)}, got {self.bn_stats!r}")
        if (self.calibration is not None) != (self.bn_stats == "calibrated"):
            raise ValueError(f"ppp.bn_stats {self.bn_stats}: a calibration goes with calibrated only")

    @classmethod
    def from_config(cls, ppp: Mapping[str, Any] | None, train: Mapping[str, Any], arch: str) -> PPPConfig:
        """From the ``ppp`` and ``train`` sections for ``arch`` (one of ``train.archs``)."""
        values = with_defaults(ppp, "ppp")
        image_size = train.get("image_size", default("train", "image_size"))
        calibration = None
        if values["bn_stats"] == "calibrated":
            task = with_defaults(train["archs"][arch], "train.archs.*")["task"]
            data = DataConfig.from_config(task, (train.get("data") or {}).get(task))
            calibration = Calibration(values["calibration_images"], data, image_size)
        return cls(tuple(grid.measure_sizes(values["input_sizes"], image_size)), values["max_images"],
                   values["batch_size"], values["bn_stats"], calibration)

    def params(self) -> dict[str, Any]:
        """What the measurement's outputs depend on, as the job's Snakemake params: the sizes (the
        outputs' order), and only with ``calibrated`` the calibration (``as_saved`` adds no key,
        so runs made before the option existed keep their params)."""
        record: dict[str, Any] = {"input_sizes": list(self.input_sizes), "max_images": self.max_images,
                                  "batch_size": self.batch_size}
        if (c := self.calibration) is not None:
            record["calibration"] = {"images": c.images, "task": c.data.task, "data": c.data.record(),
                                     "image_size": c.image_size}
        return record


@dataclass(frozen=True)
class PosENetConfig:
    """The ``posenet:`` config section (see pppcore.repro.posenet for each choice); defaults: the schema's."""

    target: str = default("posenet", "target")
    trials: int = default("posenet", "trials")
    epochs: int = default("posenet", "epochs")
    lr: float = default("posenet", "lr")
    lr_step: int | None = default("posenet", "lr_step")
    batch_size: int = default("posenet", "batch_size")
    input_size: int = default("posenet", "input_size")
    crop_size: int | None = default("posenet", "crop_size")
    n_train: int = default("posenet", "n_train")
    n_eval: int = default("posenet", "n_eval")
    normalize: bool = default("posenet", "normalize")
    seed: int = default("posenet", "seed")

    def __post_init__(self) -> None:
        if self.target not in POSENET_TARGETS:
            raise ValueError(f"posenet.target: unknown {self.target!r}; allowed: {', '.join(POSENET_TARGETS)}")
        for key in ("trials", "epochs", "batch_size", "n_train", "n_eval"):
            if getattr(self, key) < 1:
                raise ValueError(f"posenet.{key} must be >= 1, got {getattr(self, key)}")
        if self.input_size < POSENET_FEATURE_SIZE:
            raise ValueError(f"posenet.input_size must be >= {POSENET_FEATURE_SIZE}, got {self.input_size}")

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> PosENetConfig:
        """From the ``posenet:`` section, strictly."""
        return parse(cls, section, "posenet")


@dataclass(frozen=True)
class BHVConfig:
    """Hyper-parameters of one BHV job; defaults are the schema's, i.e. the paper's (10 trials, 50 epochs, ...)."""

    trials: int = default("bhv", "trials")
    epochs: int = default("bhv", "epochs")
    patience: int = default("bhv", "patience")
    n_train: int = default("bhv", "n_train")
    n_val: int = default("bhv", "n_val")
    n_test: int = default("bhv", "n_test")
    n_trajectories: int = default("bhv", "n_trajectories")
    batch_size: int = default("bhv", "batch_size")
    seed: int = default("bhv", "seed")
    lr: float = default("bhv", "lr")
    rho: float = default("bhv", "rho")
    eps: float = default("bhv", "eps")
    weight_decay: float = default("bhv", "weight_decay")

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> BHVConfig:
        """From the ``bhv:`` section, strictly: unknown keys are an error; the grid lists
        (backgrounds, paddings, conv_types, splits) are the workflow's and are left out."""
        return parse(cls, section, "bhv")


@dataclass(frozen=True)
class XYZConfig:
    """``tiles.xyz``: slippy-map tiles stitched into mosaics."""

    url_templates: list[str] = dataclasses.field(default_factory=lambda: list(default("tiles.xyz", "url_templates")))
    zoom: int = default("tiles.xyz", "zoom")
    boxes: list[list[float]] = dataclasses.field(default_factory=lambda: list(default("tiles.xyz", "boxes")))
    timeout_s: float = default("tiles.xyz", "timeout_s")
    retries: int = default("tiles.xyz", "retries")
    min_interval_s: float = default("tiles.xyz", "min_interval_s")


@dataclass(frozen=True)
class TilesConfig:
    """The ``tiles:`` section: the image set PPP and PosENet are measured on."""

    source: str
    n: int
    size: int
    seed: int
    folder: str | None = None
    xyz: XYZConfig = dataclasses.field(default_factory=XYZConfig)

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> TilesConfig:
        """From the ``tiles:`` section, strictly (``xyz`` too)."""
        values = with_defaults(section, "tiles")
        xyz = parse(XYZConfig, values.pop("xyz"), "tiles.xyz")
        missing = [k for k in ("source", "n", "size", "seed") if k not in values]
        if missing:
            raise ValueError(f"tiles: {', '.join(missing)} required")
        return cls(**values, xyz=xyz)
