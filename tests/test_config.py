"""One schema for every config key (defaults, descriptions) and one strict parser for the sections."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from pppcore.repro.bhv import BHVConfig
from pppcore.repro.config import SCHEMA_PATH, defaults, parse, schema, with_defaults
from pppcore.repro.posenet import PosENetConfig, config_from
from pppcore.repro.train import TrainConfig

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


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: config_from({"trails": 2}), "posenet: unknown key(s) trails; allowed: target, trials,"),
        (lambda: BHVConfig.from_dict({"trials": 2, "epoch": 3}), "bhv: unknown key(s) epoch; allowed: trials, epochs,"),
        (lambda: TrainConfig.from_config("vgg19", "zeros", 0, {"widht": 0.5}, {}), "train.archs.*: unknown key(s) widht; allowed: width, task,"),
        (lambda: TrainConfig.from_config("vgg19", "zeros", 0, {}, {"learning_rate": 0.1}), "train: unknown key(s) learning_rate; allowed: archs,"),
    ],
)
def test_unknown_key_is_named_with_the_allowed_ones(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert message in str(err.value)


def test_grid_lists_configure_the_workflow_not_the_job():
    bhv = yaml.safe_load((ROOT / "config.yaml").read_text())["bhv"]
    cfg = BHVConfig.from_dict(bhv)  # backgrounds, paddings, conv_types accepted, not fields
    assert cfg.trials == bhv["trials"] and cfg.lr == defaults("bhv")["lr"]


def test_arch_entry_reaches_the_job():
    cfg = TrainConfig.from_config("resnet50", "circular", 3, {"width": 0.25, "zero_init_residual": True}, {"epochs": 2, "lr": 0.1})
    assert (cfg.arch, cfg.padding, cfg.seed, cfg.width, cfg.zero_init_residual, cfg.epochs, cfg.lr) == ("resnet50", "circular", 3, 0.25, True, 2, 0.1)
    assert cfg.model_kwargs == {"init": "torchvision"} and cfg.batch_size == defaults("train")["batch_size"]
    vgg = TrainConfig.from_config("vgg19", "zeros", 0, {"batch_norm": True, "dropout": 0.0}, {})
    assert vgg.model_kwargs == {"batch_norm": True, "dropout": 0.0, "init": "torchvision"}


def test_arch_lr_overrides_the_recipe_and_grid_keys_stay_out():
    entry = {"batch_norm": True, "init": "pytorch_default", "lr": 0.01, "paddings": ["zeros"]}
    cfg = TrainConfig.from_config("vgg19", "zeros", 0, entry, {"lr": 0.05})
    assert cfg.lr == 0.01 and cfg.model_kwargs == {"batch_norm": True, "init": "pytorch_default"}
    assert TrainConfig.from_config("vgg19", "zeros", 0, {"batch_norm": True}, {"lr": 0.05}).lr == 0.05


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
    assert [e["name"] for e in example["external"]][:3] == ["resnet50_imagenet", "vgg19_bn_imagenet", "efficientnet_b0_imagenet"]
    validator = Draft202012Validator(schema()["properties"]["external"])
    assert list(validator.iter_errors(example["external"])) == []
    bad = [{"name": "x", "torchvision": "resnet50", "module": "a:b"}, {"name": "y", "torchvision": "resnet50", "padding": "none"}]
    assert len(list(validator.iter_errors(bad))) == 2
