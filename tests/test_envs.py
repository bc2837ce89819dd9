"""The conda envs (envs/*.yaml) as Snakemake's --sdm conda would use them, checked without conda.

No conda binary exists here, so: every dependency parses as a conda MatchSpec (py-rattler,
the conda ecosystem's own parser); version floors equal pyproject.toml's; every rule names an
existing env; every third-party module a rule's script imports (through pppcore, transitively)
is in that rule's env; and `snakemake --lint --sdm conda` is clean.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version
from rattler import MatchSpec

ROOT = Path(__file__).resolve().parents[1]
ENVS = sorted((ROOT / "envs").glob("*.yaml"))
# Python import name -> conda-forge package name (where they differ, or to list the known ones).
CONDA_NAME = {
    "torch": "pytorch", "torchvision": "torchvision", "numpy": "numpy", "pandas": "pandas",
    "matplotlib": "matplotlib-base", "PIL": "pillow", "requests": "requests", "tqdm": "tqdm",
    "yaml": "pyyaml", "snakemake": "snakemake-minimal",
}
PYPI_TO_CONDA = {"torch": "pytorch", "matplotlib": "matplotlib-base", "snakemake": "snakemake-minimal"}


def env_specs(path: Path) -> dict[str, MatchSpec]:
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict) and doc.get("channels", [None])[0] == "conda-forge", (
        f"{path}: channels must start with conda-forge"
    )
    specs = {}
    for dep in doc["dependencies"]:
        assert isinstance(dep, str), (
            f"{path}: only conda packages here (pppcore comes from the post-deploy script), got {dep!r}"
        )
        spec = MatchSpec(dep)
        specs[spec.name.normalized] = spec
    return specs


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def runtime_requirements() -> list[Requirement]:
    """What a workflow job needs: the core's dependencies plus the [workflow] extra."""
    return [Requirement(r) for r in pyproject()["dependencies"] + pyproject()["optional-dependencies"]["workflow"]]


def torch_envs() -> dict[str, str]:
    """``conda_torch`` value -> the torch steps' env, as rules/common.smk maps it."""
    return ast.literal_eval(re.search(r"^TORCH_ENVS = (\{.*\})$", (ROOT / "rules" / "common.smk").read_text(), re.M)[1])


def rule_envs(conda_torch: str = "auto") -> dict[str, tuple[str, str | None]]:
    """Rule -> (conda env path, script path or None), parsed from rules/*.smk; a rule whose env
    is ``TORCH_ENV`` gets the torch env of ``conda_torch``."""
    rules = {}
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for block in re.split(r"^(?=rule \w+:)", smk.read_text(), flags=re.M)[1:]:
            name = re.match(r"rule (\w+):", block)[1]
            conda = re.search(r"^\s+conda:\s*\n\s+(\"[^\"]+\"|TORCH_ENV)\s*$", block, re.M)
            script = re.search(r"^\s+script:\s*\n\s+\"([^\"]+)\"", block, re.M)
            env = None if not conda else torch_envs()[conda_torch] if conda[1] == "TORCH_ENV" else conda[1].strip('"')
            rules[name] = (env, script[1] if script else None)
    return rules


def third_party_imports(script: Path) -> set[str]:
    """Top-level third-party modules ``script`` needs, following pppcore's own imports."""
    seen, todo, found = set(), [script], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        text = path.read_text()
        if re.search(r'"-m",\s*"snakemake"', text):
            found.add("snakemake")  # runs snakemake with this env's python
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: inside pppcore
                    base = path.parent
                    for _ in range(node.level - 1):
                        base = base.parent
                    mod = ".".join([*base.relative_to(ROOT).parts, *(node.module.split(".") if node.module else [])])
                    names = [mod] + [f"{mod}.{a.name}" for a in node.names]
                else:
                    names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "pppcore":
                    todo += [p for p in _module_files(name) if p not in seen]
                elif top not in sys.stdlib_module_names and top != "__future__":
                    found.add(top)
    return found


def _module_files(dotted: str) -> list[Path]:
    """pppcore/__init__.py of every package on the way, plus the module itself."""
    parts, files = dotted.split("."), []
    for i in range(1, len(parts) + 1):
        base = ROOT.joinpath(*parts[:i])
        for cand in (base / "__init__.py", base.with_suffix(".py")):
            if cand.is_file():
                files.append(cand)
    return files


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.stem)
def test_env_parses_and_floors_match_pyproject(env):
    specs = env_specs(env)
    floors = {PYPI_TO_CONDA.get(r.name, r.name): str(r.specifier) for r in runtime_requirements()}
    for name, spec in specs.items():
        if name in floors:
            assert str(spec.version) == floors[name], (
                f"{env.name}: {name} {spec.version} but pyproject.toml says {floors[name]}"
            )
    python = str(specs["python"].version).rstrip(".*")
    requires = Requirement(f"python{pyproject()['requires-python']}").specifier
    assert Version(python) in requires, f"{env.name}: python {python} outside pyproject's requires-python {requires}"
    # pppcore comes from the checkout: Snakemake runs <env>.post-deploy.sh beside each env, a link to the one script.
    deploy = env.with_suffix(".post-deploy.sh")
    assert deploy.is_symlink() and deploy.resolve() == ROOT / "envs" / "post-deploy.sh", deploy
    assert subprocess.run(["bash", "-n", str(deploy)]).returncode == 0


def test_local_envs_carry_no_build_pin_and_torch_holds_every_runtime_dependency():
    """A local --use-conda run solves anywhere: CUDA where there is a GPU, CPU elsewhere."""
    for name in ("torch", "plot", "data"):
        specs = env_specs(ROOT / "envs" / f"{name}.yaml")
        assert [str(s) for s in specs.values() if s.build is not None] == [], f"{name}.yaml pins a build"
    specs = env_specs(ROOT / "envs" / "torch.yaml")
    needed = {PYPI_TO_CONDA.get(r.name, r.name) for r in runtime_requirements()
              if not r.name.startswith("snakemake")}  # the driver's

    assert needed <= specs.keys(), needed - specs.keys()


def test_cluster_torch_env_is_the_local_one_with_the_cuda_build():
    local, cuda = (env_specs(ROOT / "envs" / f"{name}.yaml") for name in ("torch", "torch-cuda"))
    assert str(cuda["pytorch"].build) == "cuda*"
    assert {k: str(v.version) for k, v in cuda.items()} == {k: str(v.version) for k, v in local.items()}
    assert [k for k, v in cuda.items() if v.build is not None] == ["pytorch"]


def test_the_slurm_profile_selects_the_cuda_env():
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    assert "conda_torch=cuda" in profile["config"]
    schema = yaml.safe_load((ROOT / "config" / "config.schema.yaml").read_text())["properties"]["conda_torch"]
    assert schema["enum"] == list(torch_envs()) and schema["default"] == "auto"
    assert torch_envs() == {"auto": "../envs/torch.yaml", "cuda": "../envs/torch-cuda.yaml"}


@pytest.mark.parametrize("conda_torch", ["auto", "cuda"])
def test_every_rule_has_an_env_that_covers_its_script(conda_torch):
    listed = subprocess.run([sys.executable, "-m", "snakemake", "--list-rules", "--workflow-profile", "none"], cwd=ROOT,
                            capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr[-2000:]
    rules = rule_envs(conda_torch)
    assert rules["train"][0] == torch_envs()[conda_torch] and rules["fig5"][0] == "../envs/plot.yaml"
    targets = {"all", "central"}  # the Snakefile's target rules: inputs only, no script or env
    assert set(listed.stdout.split()) - targets == rules.keys(), (
        "rules/*.smk parse disagrees with snakemake --list-rules"
    )
    for rule, (conda, script) in rules.items():
        assert conda, f"rule {rule} declares no conda env"
        env = (ROOT / "rules" / conda).resolve()
        assert env.parent == ROOT / "envs" and env.is_file(), f"rule {rule}: conda env {conda} is not a file in envs/"
        if script:
            have = env_specs(env).keys()
            for module in third_party_imports((ROOT / "rules" / script).resolve()):
                assert module in CONDA_NAME, f"{script} imports {module}: add its conda name to CONDA_NAME and an env"
                assert CONDA_NAME[module] in have, (
                    f"rule {rule}: {script} needs {module} but {env.name} lacks {CONDA_NAME[module]}"
                )



def test_third_party_imports_follow_pppcore():
    # The walker itself: fig5's script imports only pppcore, yet needs matplotlib via pppcore.repro.plots.
    found = third_party_imports(ROOT / "workflow_scripts" / "fig5.py")
    assert {"matplotlib", "pandas", "torch"} <= found


@pytest.mark.parametrize("args", [(), ("--sdm", "conda"), ("--sdm", "conda", "--profile", "profiles/slurm")],
                         ids=["plain", "sdm-conda", "slurm-profile"])
def test_lint_is_clean(args):
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint", *args, "--workflow-profile", "none"], cwd=ROOT,
                          capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Lints for" not in out, out[-3000:]
