"""pppcore.external: torchvision architectures and user factories with local weights files,
converted; clear errors for a weights file that does not fit (nothing is downloaded)."""

import pytest
import torch
from torchvision import models as tvm

from pppcore import align, measure_ppp
from pppcore.external import build_external, load_factory, parse_taps

from helpers import write_images

USER_NET = '''
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.conv(x) + x)


def build():
    torch.manual_seed(3)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), Block(8),
        nn.Conv2d(8, 8, 3, stride=2, padding=1), Block(8),
        nn.Conv2d(8, 8, 3, stride=2, padding=1), Block(8),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4),
    )


def not_a_model():
    return 3
'''


@pytest.fixture
def resnet18_weights(tmp_path):
    """A generated resnet18 state dict, as torchvision's ImageNet file would hold one."""
    torch.manual_seed(5)
    model = tvm.resnet18(weights=None)
    path = tmp_path / "resnet18.pth"
    torch.save(model.state_dict(), path)
    return path, model.eval()


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "usernet.py").write_text(USER_NET)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "usernet:build"


def test_torchvision_weights_load_and_outputs_equal_the_original(resnet18_weights):
    path, original = resnet18_weights
    model = build_external(torchvision="resnet18", weights=path)
    state = torch.load(path, weights_only=True)
    assert list(model.state_dict()) == list(state)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(model(x), original(x), atol=1e-5)
    assert model.config["source"] == "torchvision:resnet18" and model.config["weights"] == str(path)
    assert list(model.loi) == ["stride4", "stride8", "stride16", "stride32"]


def test_weights_that_do_not_fit_name_the_file_and_first_key(resnet18_weights, tmp_path):
    path, _ = resnet18_weights
    state = torch.load(path, weights_only=True)
    cases = {
        "missing key 'fc.bias'": {k: v for k, v in state.items() if k != "fc.bias"},
        "unexpected key 'head.weight'": {**state, "head.weight": torch.zeros(1)},
        "'fc.weight' has shape (10, 512), the model expects (1000, 512)": {**state, "fc.weight": torch.zeros(10, 512)},
        "not a state_dict": [1, 2],
    }
    for message, blob in cases.items():
        bad = tmp_path / "bad.pth"
        torch.save(blob, bad)
        with pytest.raises(ValueError, match="weights .*bad.pth") as err:
            build_external(torchvision="resnet18", weights=bad)
        assert message in str(err.value)
    with pytest.raises(FileNotFoundError, match="weights .*absent.pth: no such file"):
        build_external(torchvision="resnet18", weights=tmp_path / "absent.pth")
    (tmp_path / "cut.pth").write_bytes(path.read_bytes()[:500])
    with pytest.raises(ValueError, match="cut.pth: cannot be read"):
        build_external(torchvision="resnet18", weights=tmp_path / "cut.pth")


def test_bad_sources_are_named(user_module, tmp_path):
    with pytest.raises(ValueError, match="'resnet5': not a torchvision classification model"):
        build_external(torchvision="resnet5")
    with pytest.raises(ValueError, match="exactly one of"):
        build_external(torchvision="resnet18", module=user_module)
    cases = (("usernet", "expected package.module:factory or path"), ("nosuchpkg_x:build", "cannot import nosuchpkg_x"),
             ("usernet:missing", "has no attribute missing"))
    for spec, message in cases:
        with pytest.raises(ValueError, match=message):
            load_factory(spec)
    file_spec = f"{tmp_path / 'usernet.py'}:build"
    assert build_external(module=file_spec).loi == {"stride4": "_4_act", "stride8": "_6_act"}
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_factory(f"{tmp_path / 'absent.py'}:build")
    with pytest.raises(ValueError, match="returned a int, not an nn.Module"):
        build_external(module="usernet:not_a_model")


def test_user_factory_is_converted_and_measured(user_module, tmp_path):
    model = build_external(module=user_module, padding="reflect", taps=parse_taps("s4=3, s8=5"))
    assert model.arch == "build" and model.padding == "reflect" and model.loi == {"s4": "_3", "s8": "_5"}
    alignment = align(model, 32)
    images = write_images(tmp_path / "img", 2, alignment.big_size[0] + 8, seed=1)
    results = measure_ppp(model, sorted(images.iterdir()), 32, progress=False)
    assert set(results) == {"s4", "s8"} and all(r.mae_ppp > 0 and r.n_images == 2 for r in results.values())
    assert build_external(module=user_module).loi == {"stride4": "_4_act", "stride8": "_6_act"}


def test_parse_taps():
    assert parse_taps(None) is None
    assert parse_taps("a=layer1, b = layer2.0.relu") == {"a": "layer1", "b": "layer2.0.relu"}
    for text in ("a", "a=", "=b"):
        with pytest.raises(ValueError, match="is not name=node"):
            parse_taps(text)
