"""One schema for every config key (defaults, descriptions) and one strict parser for the sections."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from pppcore.repro.config import (
    SCHEMA_PATH,
    BHVConfig,
    DataConfig,
    PosENetConfig,
    PPPConfig,
    TilesConfig,
    TrainConfig,
    defaults,
    parse,
    schema,
    with_defaults,
)

ROOT = Path(__file__).resolve().parents[1]


def properties(node: dict, path: str = ""):
    """(dotted key, schema) of every configurable key, nested ones included."""
    for key, prop in node.get("properties", {}).items():
        yield f"{path}{key}", prop
        yield from properties(prop, f"{path}{key}.")
    if isinstance(node.get("additionalProperties"), dict):
        yield from properties(node["additionalProperties"], f"{path}*.")
    if isinstance(node.get("items"), dict):
        yield from properties(node["items"], f"{path}[].")


def test_workflow_validates_against_the_packaged_schema():
    assert (ROOT / "config" / "config.schema.yaml").resolve() == SCHEMA_PATH.resolve()


def test_every_key_is_described():
    keys = dict(properties(schema()))
    assert len(keys) > 60 and "train.archs.*.width" in keys and "external.[].weights" in keys
    assert [k for k, prop in keys.items() if not prop.get("description")] == []


@pytest.mark.parametrize("cls,section", [(PosENetConfig, "posenet"), (BHVConfig, "bhv")])
def test_dataclass_defaults_are_the_schema_defaults(cls, section):
    fields = {f.name: f.default for f in dataclasses.fields(cls)}
    assert fields == {k: v for k, v in defaults(section).items() if k in fields}
    assert set(fields) <= set(defaults(section))  # no job setting without a schema default


def test_train_config_defaults_are_the_schema_defaults():
    cfg = TrainConfig("vgg19")
    recipe = defaults("train")
    assert (cfg.epochs, cfg.ckpt_every, cfg.lr, cfg.momentum, cfg.weight_decay, cfg.nesterov) == tuple(
        recipe[k] for k in ("epochs", "ckpt_every", "lr", "momentum", "weight_decay", "nesterov"))
    assert (cfg.width, cfg.task) == (defaults("train.archs.*")["width"], defaults("train.archs.*")["task"])
    assert cfg.num_classes is None  # the training set decides, not a second default
    assert (cfg.image_size, cfg.n_train, cfg.n_val) == (recipe["image_size"], recipe["n_train"], recipe["n_val"])
    assert cfg.data == DataConfig.from_config("classification", None)
    assert cfg.data.record() == defaults("train.data.classification")


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: PosENetConfig.from_config({"trails": 2}), "posenet: unknown key(s) trails; allowed: target, trials,"),
        (lambda: BHVConfig.from_config({"trials": 2, "epoch": 3}),
         "bhv: unknown key(s) epoch; allowed: trials, epochs,"),
        (lambda: TrainConfig.from_config("vgg19", "zeros", 0, {"widht": 0.5}, {}),
         "train.archs.*: unknown key(s) widht; allowed: width, task,"),
        (lambda: TrainConfig.from_config("vgg19", "zeros", 0, {}, {"learning_rate": 0.1}),
         "train: unknown key(s) learning_rate; allowed: archs,"),
        (lambda: TrainConfig.from_config("vgg16", "zeros", 0, {"task": "saliency"}, {}, {"train_dir": "t"}),
         "train.data.saliency: unknown key(s) train_dir; allowed: source, root"),
        (lambda: TilesConfig.from_config({"source": "xyz", "n": 1, "size": 64, "seed": 0, "xyz": {"zom": 3}}),
         "tiles.xyz: unknown key(s) zom; allowed: url_templates, zoom,"),
        (lambda: PPPConfig.from_config({"bn_stat": "calibrated"}, {"archs": {"vgg19": {}}}, "vgg19"),
         "ppp: unknown key(s) bn_stat; allowed: input_sizes,"),
    ],
)
def test_unknown_key_is_named_with_the_allowed_ones(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert message in str(err.value)


def test_grid_lists_configure_the_workflow_not_the_job():
    bhv = yaml.safe_load((ROOT / "config.yaml").read_text())["bhv"]
    cfg = BHVConfig.from_config(bhv)  # backgrounds, paddings, conv_types accepted, not fields
    assert cfg.trials == bhv["trials"] and cfg.lr == defaults("bhv")["lr"]


def test_arch_entry_reaches_the_job():
    cfg = TrainConfig.from_config("resnet50", "circular", 3, {"width": 0.25, "zero_init_residual": True},
                                  {"epochs": 2, "lr": 0.1})
    assert (cfg.arch, cfg.padding, cfg.seed, cfg.width, cfg.zero_init_residual, cfg.epochs, cfg.lr) == (
        "resnet50", "circular", 3, 0.25, True, 2, 0.1)
    assert cfg.model_kwargs == {"init": "torchvision"} and cfg.batch_size == defaults("train")["batch_size"]
    vgg = TrainConfig.from_config("vgg19", "zeros", 0, {"batch_norm": True, "dropout": 0.0}, {})
    assert vgg.model_kwargs == {"batch_norm": True, "dropout": 0.0, "init": "torchvision"}


def test_arch_lr_overrides_the_recipe_and_grid_keys_stay_out():
    entry = {"batch_norm": True, "init": "pytorch_default", "lr": 0.01, "paddings": ["zeros"]}
    cfg = TrainConfig.from_config("vgg19", "zeros", 0, entry, {"lr": 0.05})
    assert cfg.lr == 0.01 and cfg.model_kwargs == {"batch_norm": True, "init": "pytorch_default"}
    assert TrainConfig.from_config("vgg19", "zeros", 0, {"batch_norm": True}, {"lr": 0.05}).lr == 0.05


def test_recipe_and_data_reach_the_job_complete():
    cfg = TrainConfig.from_config("vgg16", "zeros", 0, {"task": "saliency"}, {"image_size": 48, "n_train": 9},
                                  {"source": "duts", "root": "d"})
    assert (cfg.task, cfg.image_size, cfg.n_train, cfg.n_val) == ("saliency", 48, 9, defaults("train")["n_val"])
    assert cfg.data.record() == {"source": "duts", "root": "d"} and cfg.data.task == "saliency"
    with pytest.raises(ValueError, match="the data are of task 'classification', the arch's task is 'saliency'"):
        TrainConfig("vgg16", task="saliency", data=DataConfig())
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 1.0  # type: ignore[misc]


def test_ppp_bn_stats_has_one_form_from_yaml_to_calibration():
    train = {"image_size": 48, "archs": {"vgg16": {"task": "saliency"}, "vgg19": {}},
             "data": {"saliency": {"source": "duts", "root": "d"}}}
    ppp_defaults = {f.name: f.default for f in dataclasses.fields(PPPConfig)
                    if f.name != "input_sizes" and f.name in defaults("ppp")}

    assert ppp_defaults == {k: defaults("ppp")[k] for k in ("max_images", "batch_size", "bn_stats")}
    plain = PPPConfig.from_config({"max_images": 3}, train, "vgg19")
    assert (plain.bn_stats, plain.calibration, plain.input_sizes) == ("as_saved", None, (224, 48))
    assert plain.params() == {"input_sizes": [224, 48], "max_images": 3, "batch_size": defaults("ppp")["batch_size"]}
    sod = PPPConfig.from_config({"bn_stats": "calibrated", "calibration_images": 5, "input_sizes": [64]},
                                train, "vgg16")

    assert sod.bn_stats == "calibrated" and sod.input_sizes == (64,)
    assert (sod.calibration.images, sod.calibration.image_size, sod.calibration.data.task) == (5, 48, "saliency")
    assert sod.params()["calibration"] == {"images": 5, "task": "saliency", "data": {"source": "duts", "root": "d"},
                                           "image_size": 48}
    with pytest.raises(ValueError, match="ppp.bn_stats must be one of as_saved, calibrated"):
        PPPConfig((224,), bn_stats="fresh")
    with pytest.raises(ValueError, match="a calibration goes with calibrated only"):
        PPPConfig((224,), bn_stats="calibrated")


def test_tiles_section_parses_with_its_xyz_defaults():
    tiles = TilesConfig.from_config({"source": "xyz", "n": 2, "size": 256, "seed": 0, "xyz": {"zoom": 3}})
    assert tiles.xyz.zoom == 3 and tiles.xyz.retries == defaults("tiles.xyz")["retries"] and tiles.folder is None
    with pytest.raises(ValueError, match="tiles: size required"):
        TilesConfig.from_config({"source": "synthetic", "n": 2, "seed": 0})


def test_with_defaults_fills_only_missing_keys():
    assert with_defaults({"trials": 3}, "posenet") == {**defaults("posenet"), "trials": 3}
    assert parse(PosENetConfig, None, "posenet") == PosENetConfig()


def test_paper_config_external_example_is_valid():
    """The commented ``external:`` example of config/paper.yaml validates once uncommented;
    a bad entry is refused naming what is wrong."""
    from jsonschema import Draft202012Validator

    lines = (ROOT / "config" / "paper.yaml").read_text().splitlines()
    start = lines.index("# external:")
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("#")), len(lines))
    example = yaml.safe_load("\n".join(line[2:] for line in lines[start:end]))
    assert [e["name"] for e in example["external"]][:3] == ["resnet50_imagenet", "vgg19_bn_imagenet",
                                                            "efficientnet_b0_imagenet"]
    validator = Draft202012Validator(schema()["properties"]["external"])
    assert list(validator.iter_errors(example["external"])) == []
    bad = [{"name": "x", "torchvision": "resnet50", "module": "a:b"},
           {"name": "y", "torchvision": "resnet50", "padding": "none"}]
    assert len(list(validator.iter_errors(bad))) == 2
