from __future__ import annotations

import sys
from pathlib import Path

import pytest

from trainaction.errors import PluginError
from trainaction.plugin import load_plugin

TRAIN = "def train(run, dataset, hyperparameter, checkpoint, **kwargs):\n    return 'trained'\n"


def test_loads_train_and_optional_tune(make_plugin):
    plugin = load_plugin(make_plugin(TRAIN))
    assert plugin.call_train(None, None, {}, None) == "trained" and plugin.tune is None
    with pytest.raises(PluginError, match=r"has no tune\(\) function"):
        plugin.call_tune({}, None, None, None)


def test_tune_is_called_with_its_own_argument_order(make_plugin):
    plugin = load_plugin(
        make_plugin(
            TRAIN + "def tune(hyperparameter, run, dataset, checkpoint, **kwargs):\n"
            "    return (hyperparameter, run, dataset, checkpoint)\n"
        )
    )
    assert plugin.call_tune("hp", "run", "data", "ckpt") == ("hp", "run", "data", "ckpt")


def test_plugin_can_import_its_sibling_modules(make_plugin):
    directory = make_plugin("from helpers import VALUE\n" + TRAIN)
    (directory / "helpers.py").write_text("VALUE = 42\n")
    assert load_plugin(directory).module.VALUE == 42


def test_two_plugins_in_one_process_do_not_collide(make_plugin):
    first = load_plugin(make_plugin("NAME = 'first'\n" + TRAIN))
    second = load_plugin(make_plugin("NAME = 'second'\n" + TRAIN))
    assert (first.module.NAME, second.module.NAME) == ("first", "second")


def test_dotted_module_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "trainer.py").write_text(TRAIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert load_plugin("mypkg.trainer").call_train(None, None, {}, None) == "trained"
    finally:
        sys.modules.pop("mypkg.trainer", None)
        sys.modules.pop("mypkg", None)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def train(run, dataset, hyperparameter, checkpoint:\n", r"syntax error at line 1"),
        ("import not_a_module_anywhere\n" + TRAIN, r"ModuleNotFoundError.*not_a_module_anywhere.*dependencies"),
        (
            "def fit(run):\n    pass\n",
            r"has no train\(\) function; define train\(run, dataset, hyperparameter, checkpoint",
        ),
        (
            "def train(run, dataset):\n    pass\n",
            r"train\(run, dataset\) cannot be called as train\(run, dataset, hyperparameter",
        ),
        ("train = 3\n", r"'train' is not a function"),
        (
            TRAIN + "def tune(hyperparameter):\n    pass\n",
            r"tune\(hyperparameter\) cannot be called as tune\(hyperparameter, run",
        ),
    ],
    ids=["syntax", "import", "missing-train", "train-signature", "not-callable", "tune-signature"],
)
def test_loading_failures_are_one_clear_paragraph(make_plugin, source: str, message: str):
    with pytest.raises(PluginError, match=message) as caught:
        load_plugin(make_plugin(source))
    assert "\n" not in str(caught.value)


def test_missing_directory_and_missing_plugin_file(tmp_path: Path):
    with pytest.raises(PluginError, match=r"plugin directory '.*nowhere' does not exist.*trainaction init"):
        load_plugin(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PluginError, match=r"has no plugin.py"):
        load_plugin(tmp_path / "empty")
    with pytest.raises(PluginError, match=r"cannot import plugin 'no_such_module_xyz'"):
        load_plugin("no_such_module_xyz")


def test_manifest_schema_checks_hyperparameters(make_plugin):
    plugin = load_plugin(
        make_plugin(
            TRAIN,
            manifest="""
        name: digits
        version: 1.2.0
        description: test
        hyperparameter_schema:
          type: object
          properties:
            epochs: {type: integer, minimum: 1}
            optimizer: {enum: [adam, sgd]}
          required: [epochs]
    """,
        )
    )
    assert plugin.name == "digits" and plugin.manifest.version == "1.2.0"
    assert plugin.hyperparameter_errors({"epochs": 3, "optimizer": "adam"}) == []
    errors = plugin.hyperparameter_errors({"epochs": 0, "optimizer": "lbfgs"})
    assert [e.path for e in errors] == ["params.hyperparameter.epochs", "params.hyperparameter.optimizer"]
    assert "'lbfgs' is not one of ['adam', 'sgd']" in errors[1].message
    assert [e.path for e in plugin.hyperparameter_errors({})] == ["params.hyperparameter"]


def test_invalid_manifest(make_plugin):
    with pytest.raises(PluginError, match=r"plugin manifest .* is invalid: name: Field required"):
        load_plugin(make_plugin(TRAIN, manifest="version: 1\n"))
    with pytest.raises(PluginError, match=r"not valid YAML"):
        load_plugin(make_plugin(TRAIN, manifest="name: [unclosed\n"))
    with pytest.raises(PluginError, match=r"hyperparameter_schema is not a valid JSON Schema"):
        load_plugin(make_plugin(TRAIN, manifest="name: x\nhyperparameter_schema: {type: 12}\n"))
