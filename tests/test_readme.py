"""Every ```python block of README.md runs, so the README cannot rot; the command lines it
shows are real options of the fastmlp command."""
import re
import shlex
from pathlib import Path

import matplotlib
import pytest

import fastmlp as fm
from fastmlp import cli

matplotlib.use("Agg")

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")
PYTHON_BLOCKS = re.findall(r"^```python\n(.*?)^```", TEXT, re.DOTALL | re.MULTILINE)
BASH_BLOCKS = re.findall(r"^```bash\n(.*?)^```", TEXT, re.DOTALL | re.MULTILINE)


def test_readme_has_the_expected_examples():
    assert len(PYTHON_BLOCKS) >= 6
    # the CI script runs the line after "# tests" verbatim
    assert re.search(r"^# tests\npip install \"\.\[test\]\" && ", TEXT, re.MULTILINE)


@pytest.mark.parametrize("code", PYTHON_BLOCKS,
                         ids=[f"block{i}" for i in range(len(PYTHON_BLOCKS))])
@pytest.mark.slow
def test_python_block_runs(code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # blocks that write pictures or models write them here
    namespace = {"__name__": "__readme__"}
    exec(compile(code, str(README), "exec"), namespace)  # our own README
    import matplotlib.pyplot as plt

    plt.close("all")
    for name in re.findall(r'savefig\("([^"]+)"\)', code):
        assert (tmp_path / name).stat().st_size > 1000


def test_fastmlp_command_lines_in_the_readme_parse():
    parser = cli.build_parser()
    lines = [line.split("#")[0].strip() for block in BASH_BLOCKS for line in block.splitlines()]
    commands = [shlex.split(line)[1:] for line in lines if line.startswith("fastmlp ")]
    assert len(commands) >= 5
    for argv in commands:
        if argv[0] not in cli.COMMANDS:
            argv = ["train", *argv]
        parser.parse_args(argv)  # exits (failing the test) on an unknown option


def test_api_table_names_exist():
    for name in ("load_breast_cancer", "load_digits", "load_iris", "load_diabetes",
                 "make_moons", "make_circles", "make_xor", "make_spirals", "make_blobs",
                 "make_regression"):
        assert hasattr(fm.datasets, name) and f"`{name}`" in TEXT
    for name in fm.callbacks.__all__:
        assert f"`{name}`" in TEXT
    for name in fm.metrics.METRICS:
        assert f"`{name}`" in TEXT
    for name in fm.activations.ACTIVATIONS:
        assert f"`{name}`" in TEXT
    for cls in fm.optimizers.OPTIMIZERS.values():
        assert f"`{cls.__name__}`" in TEXT
