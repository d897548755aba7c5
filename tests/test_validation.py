"""Validation of job documents: valid examples, error reporting, legacy migration, robustness."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REFERENCE_SPECS
from trainaction.distributions import DISTRIBUTION_TYPES
from trainaction.errors import FieldError, ValidationError
from trainaction.job import SCHEDULERS, SEARCH_ALGORITHMS
from trainaction.validation import ParsedJob, load_job_file, parse_job

# --------------------------------------------------------------------------------------------
# Reference documents
# --------------------------------------------------------------------------------------------

TRAINING = {
    "action": "train",
    "params": {
        "name": "my_model",
        "dataset": 123,
        "checkpoint": None,
        "is_tune": False,
        "hyperparameter": {"epochs": 100, "batch_size": 32, "learning_rate": 0.001, "optimizer": "adam"},
    },
}

RESUME = {
    "action": "train",
    "params": {
        "name": "my_model_resumed",
        "dataset": 123,
        "checkpoint": 789,
        "is_tune": False,
        "hyperparameter": {"epochs": 50, "batch_size": 32, "learning_rate": 0.0005, "optimizer": "adam"},
    },
}

TUNING = {
    "action": "train",
    "params": {
        "name": "tuned_model",
        "dataset": 123,
        "checkpoint": None,
        "is_tune": True,
        "hyperparameters": [
            {"name": "batch_size", "type": "choice", "options": [16, 32, 64]},
            {"name": "learning_rate", "type": "loguniform", "min": 0.0001, "max": 0.1, "base": 10},
            {"name": "optimizer", "type": "choice", "options": ["adam", "sgd"]},
        ],
        "tune_config": {"mode": "max", "metric": "accuracy", "num_samples": 10, "max_concurrent_trials": 2},
    },
}

GRID = {
    "action": "train",
    "params": {
        "name": "grid_model",
        "dataset": 123,
        "is_tune": True,
        "hyperparameters": [
            {"name": "batch_size", "type": "grid_search", "options": [16, 32, 64]},
            {"name": "optimizer", "type": "grid_search", "options": ["adam", "sgd"]},
            {"name": "dropout", "type": "grid_search", "options": [0.1, 0.5]},
        ],
        "tune_config": {"mode": "max", "metric": "accuracy", "num_samples": 12},
    },
}

HYPEROPT = {
    "action": "train",
    "params": {
        "name": "hyperopt_model",
        "dataset": 123,
        "is_tune": True,
        "num_cpus": 2,
        "num_gpus": 0.5,
        "hyperparameters": [
            {"name": "learning_rate", "type": "loguniform", "min": 0.0001, "max": 0.1, "base": 10},
            {"name": "batch_size", "type": "choice", "options": [16, 32, 64]},
        ],
        "tune_config": {
            "mode": "max",
            "metric": "accuracy",
            "num_samples": 20,
            "search_alg": {"name": "hyperoptsearch"},
            "scheduler": {"name": "hyperband", "options": {"max_t": 100}},
        },
    },
}

SPEC_EXAMPLES = REFERENCE_SPECS

LOG_SPECS = ("loguniform", "qloguniform", "lograndint", "qlograndint")
RANGE_SPECS = ("uniform", "quniform", "loguniform", "qloguniform", "randint", "qrandint", "lograndint", "qlograndint")


def tune_doc(*specs: dict[str, Any], tune_config: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
    """A tuning document with the given hyperparameter specs (a valid choice spec when none)."""
    body: dict[str, Any] = {
        "name": "tuned",
        "dataset": 1,
        "is_tune": True,
        "hyperparameters": list(specs) or [copy.deepcopy(SPEC_EXAMPLES["choice"])],
        "tune_config": {"metric": "accuracy"} if tune_config is None else tune_config,
    }
    body.update(params)
    return {"action": "train", "params": body}


def train_doc(**params: Any) -> dict[str, Any]:
    doc = copy.deepcopy(TRAINING)
    doc["params"].update(params)
    return doc


def errors_of(doc: Any) -> list[FieldError]:
    with pytest.raises(ValidationError, match=r"the job document has \d+ error\(s\)") as info:
        parse_job(doc)
    assert info.value.errors, "a ValidationError must list at least one error"
    return info.value.errors


def only_error(doc: Any) -> FieldError:
    errors = errors_of(doc)
    assert len(errors) == 1, errors
    return errors[0]


def error_at(errors: list[FieldError], path: str) -> FieldError:
    matches = [e for e in errors if e.path == path]
    assert matches, f"no error at {path!r}; got {errors}"
    return matches[0]


# --------------------------------------------------------------------------------------------
# 1. Valid documents
# --------------------------------------------------------------------------------------------


class TestValidDocuments:
    def test_training_example(self) -> None:
        parsed = parse_job(copy.deepcopy(TRAINING))
        assert isinstance(parsed, ParsedJob)
        assert parsed.notices == []
        params = parsed.job.params
        assert parsed.job.action == "train"
        assert params.name == "my_model"
        assert params.dataset == 123
        assert params.checkpoint is None
        assert params.is_tune is False
        assert params.hyperparameter == {"epochs": 100, "batch_size": 32, "learning_rate": 0.001, "optimizer": "adam"}
        assert params.hyperparameters is None
        assert params.tune_config is None
        assert params.total_trials == 1

    def test_resume_from_checkpoint_example(self) -> None:
        params = parse_job(copy.deepcopy(RESUME)).job.params
        assert params.checkpoint == 789
        assert params.is_tune is False

    def test_is_tune_defaults_to_training(self) -> None:
        doc = copy.deepcopy(TRAINING)
        del doc["params"]["is_tune"]
        del doc["params"]["checkpoint"]
        params = parse_job(doc).job.params
        assert params.is_tune is False
        assert params.checkpoint is None

    def test_tuning_example(self) -> None:
        params = parse_job(copy.deepcopy(TUNING)).job.params
        assert params.is_tune is True
        assert [spec.type for spec in params.hyperparameters] == ["choice", "loguniform", "choice"]
        assert params.hyperparameters[1].base == 10
        config = params.tune_config
        assert (config.mode, config.metric, config.num_samples, config.max_concurrent_trials) == (
            "max",
            "accuracy",
            10,
            2,
        )
        # no grid_search: each sample is one trial
        assert params.total_trials == 10

    def test_tune_config_defaults(self) -> None:
        config = parse_job(tune_doc(tune_config={"metric": "loss"})).job.params.tune_config
        assert config.mode == "max"
        assert config.num_samples == 1
        assert config.max_concurrent_trials is None
        assert config.search_alg.name == "basicvariantgenerator"
        assert config.scheduler.name == "fifo"

    def test_grid_search_example_counts_every_combination_per_sample(self) -> None:
        params = parse_job(copy.deepcopy(GRID)).job.params
        assert [len(spec.options) for spec in params.hyperparameters] == [3, 2, 2]
        assert params.total_trials == 3 * 2 * 2 * 12 == 144

    def test_hyperopt_hyperband_example(self) -> None:
        parsed = parse_job(copy.deepcopy(HYPEROPT))
        params = parsed.job.params
        assert params.num_cpus == 2
        assert params.num_gpus == 0.5
        assert params.tune_config.search_alg.name == "hyperoptsearch"
        assert params.tune_config.scheduler.name == "hyperband"
        assert params.tune_config.scheduler.options == {"max_t": 100}
        # resources are meaningful in tuning mode: no "ignored" notice
        assert not any("ignored" in notice for notice in parsed.notices)

    @pytest.mark.parametrize("spec_type", list(SPEC_EXAMPLES))
    def test_each_distribution_type_example(self, spec_type: str) -> None:
        spec = SPEC_EXAMPLES[spec_type]
        parsed = parse_job(tune_doc(copy.deepcopy(spec)))
        (model,) = parsed.job.params.hyperparameters
        assert model.type == spec_type
        assert model.name == spec["name"]
        dumped = parsed.job.to_document()["params"]["hyperparameters"][0]
        for key, value in spec.items():
            assert dumped[key] == value, key

    def test_the_examples_cover_all_twelve_types(self) -> None:
        assert set(SPEC_EXAMPLES) == set(DISTRIBUTION_TYPES)
        assert len(SPEC_EXAMPLES) == 12

    def test_all_twelve_types_in_one_document(self) -> None:
        specs = [dict(spec, name=f"{kind}_param") for kind, spec in SPEC_EXAMPLES.items()]
        params = parse_job(tune_doc(*specs, tune_config={"metric": "accuracy", "num_samples": 2})).job.params
        assert [spec.type for spec in params.hyperparameters] == list(SPEC_EXAMPLES)
        assert params.total_trials == 3 * 2  # the one grid_search has 3 options

    def test_quniform_without_q_gets_a_default_shown_in_the_document(self) -> None:
        job = parse_job(tune_doc(copy.deepcopy(SPEC_EXAMPLES["quniform"]))).job
        spec = job.to_document()["params"]["hyperparameters"][0]
        assert "q" in spec
        assert spec["q"] == pytest.approx(1e-05)

    @pytest.mark.parametrize("spec_type", ["quniform", "qloguniform", "qrandn", "qrandint", "qlograndint"])
    def test_every_quantised_type_shows_its_q(self, spec_type: str) -> None:
        job = parse_job(tune_doc(copy.deepcopy(SPEC_EXAMPLES[spec_type]))).job
        q = job.to_document()["params"]["hyperparameters"][0]["q"]
        assert isinstance(q, int | float)
        assert q > 0

    def test_explicit_q_is_kept(self) -> None:
        spec = dict(SPEC_EXAMPLES["quniform"], q=0.0005)
        (model,) = parse_job(tune_doc(spec)).job.params.hyperparameters
        assert model.q == 0.0005

    @pytest.mark.parametrize("name", SEARCH_ALGORITHMS)
    def test_search_alg_string_shorthand(self, name: str) -> None:
        config = parse_job(tune_doc(tune_config={"metric": "accuracy", "search_alg": name})).job.params.tune_config
        assert config.search_alg.name == name
        assert config.search_alg.options == {}

    @pytest.mark.parametrize("name", SCHEDULERS)
    def test_scheduler_string_shorthand(self, name: str) -> None:
        config = parse_job(tune_doc(tune_config={"metric": "accuracy", "scheduler": name})).job.params.tune_config
        assert config.scheduler.name == name
        assert config.scheduler.options == {}

    def test_shorthand_and_object_forms_are_equivalent(self) -> None:
        short = parse_job(tune_doc(tune_config={"metric": "a", "search_alg": "optunasearch", "scheduler": "asha"}))
        full = parse_job(
            tune_doc(tune_config={"metric": "a", "search_alg": {"name": "optunasearch"}, "scheduler": {"name": "asha"}})
        )
        assert short.job == full.job

    @pytest.mark.parametrize(
        "doc", [TRAINING, RESUME, TUNING, GRID, HYPEROPT], ids=["train", "resume", "tune", "grid", "hyperopt"]
    )
    def test_normalised_document_validates_to_the_same_job(self, doc: dict[str, Any]) -> None:
        job = parse_job(copy.deepcopy(doc)).job
        again = parse_job(json.loads(json.dumps(job.to_document()))).job
        assert again == job

    def test_input_document_is_not_mutated(self) -> None:
        legacy = _legacy_doc()
        before = copy.deepcopy(legacy)
        parse_job(legacy)
        assert legacy == before

    def test_resources_in_training_mode_are_accepted_with_a_notice(self) -> None:
        parsed = parse_job(train_doc(num_cpus=2))
        assert parsed.job.params.num_cpus == 2
        assert any("num_cpus" in notice and "ignored" in notice for notice in parsed.notices)

    def test_load_job_file(self, tmp_path: Any) -> None:
        path = tmp_path / "job.json"
        path.write_text(json.dumps(TRAINING), encoding="utf-8")
        assert parse_job(copy.deepcopy(TRAINING)).job == load_job_file(path).job

    def test_load_job_file_invalid_json(self, tmp_path: Any) -> None:
        path = tmp_path / "job.json"
        path.write_text('{"action": "train",', encoding="utf-8")
        with pytest.raises(ValidationError, match="not valid JSON") as info:
            load_job_file(path)
        assert len(info.value.errors) == 1

    def test_load_job_file_missing(self, tmp_path: Any) -> None:
        with pytest.raises(ValidationError, match="cannot read job file"):
            load_job_file(tmp_path / "missing.json")


# --------------------------------------------------------------------------------------------
# 2. Errors: paths and messages
# --------------------------------------------------------------------------------------------


class TestModeErrors:
    def test_training_without_hyperparameter(self) -> None:
        doc = copy.deepcopy(TRAINING)
        del doc["params"]["hyperparameter"]
        error = only_error(doc)
        assert error.path == "params.hyperparameter"
        assert error.message == "hyperparameter is required when is_tune=False"

    def test_training_with_null_hyperparameter(self) -> None:
        error = only_error(train_doc(hyperparameter=None))
        assert (error.path, error.message) == (
            "params.hyperparameter",
            "hyperparameter is required when is_tune=False",
        )

    def test_tuning_without_hyperparameters(self) -> None:
        doc = copy.deepcopy(TUNING)
        del doc["params"]["hyperparameters"]
        error = only_error(doc)
        assert error.path == "params.hyperparameters"
        assert error.message == "hyperparameters is required when is_tune=True"

    def test_tuning_without_tune_config(self) -> None:
        doc = copy.deepcopy(TUNING)
        del doc["params"]["tune_config"]
        error = only_error(doc)
        assert error.path == "params.tune_config"
        assert "tune_config is required when is_tune=True" in error.message
        assert "metric" in error.message  # shows an example

    def test_tuning_without_either_reports_both(self) -> None:
        doc = copy.deepcopy(TUNING)
        del doc["params"]["hyperparameters"]
        del doc["params"]["tune_config"]
        assert {e.path for e in errors_of(doc)} == {"params.hyperparameters", "params.tune_config"}

    @pytest.mark.parametrize("key", ["hyperparameters", "tune_config"])
    def test_tuning_fields_in_training_mode(self, key: str) -> None:
        doc = train_doc(**{key: copy.deepcopy(TUNING["params"][key])})
        error = only_error(doc)
        assert error.path == f"params.{key}"
        assert "is_tune" in error.message

    def test_is_tune_must_be_a_boolean(self) -> None:
        error = only_error(train_doc(is_tune="yes"))
        assert error.path == "params.is_tune"
        assert "true or false" in error.message


class TestSpecErrors:
    def test_values_instead_of_options(self) -> None:
        error = only_error(tune_doc({"name": "optimizer", "type": "choice", "values": ["adam", "sgd"]}))
        assert error.path == "params.hyperparameters[0].values"
        assert "options" in error.message

    def test_lower_upper_instead_of_min_max(self) -> None:
        errors = errors_of(tune_doc({"name": "lr", "type": "uniform", "lower": 0.1, "upper": 1.0}))
        assert len(errors) == 2
        assert "'min'" in error_at(errors, "params.hyperparameters[0].lower").message
        assert "'max'" in error_at(errors, "params.hyperparameters[0].upper").message

    @pytest.mark.parametrize("slip, fix", [("low", "min"), ("high", "max")])
    def test_low_high_instead_of_min_max(self, slip: str, fix: str) -> None:
        spec = {"name": "n", "type": "randint", "min": 1, "max": 5}
        spec[slip] = spec.pop(fix)
        error = only_error(tune_doc(spec))
        assert error.path == f"params.hyperparameters[0].{slip}"
        assert f"'{fix}'" in error.message

    @pytest.mark.parametrize("spec_type", LOG_SPECS)
    def test_log_types_require_base(self, spec_type: str) -> None:
        spec = copy.deepcopy(SPEC_EXAMPLES[spec_type])
        del spec["base"]
        # put it second so the index in the path is checked too
        error = only_error(tune_doc(copy.deepcopy(SPEC_EXAMPLES["choice"]), spec))
        assert error.path == "params.hyperparameters[1].base"
        assert "'base' is required" in error.message
        assert spec_type in error.message

    @pytest.mark.parametrize("spec_type", RANGE_SPECS)
    @pytest.mark.parametrize("relation", ["equal", "reversed"])
    def test_min_must_be_below_max(self, spec_type: str, relation: str) -> None:
        spec = copy.deepcopy(SPEC_EXAMPLES[spec_type])
        if relation == "equal":
            spec["min"] = spec["max"]
        else:
            spec["min"], spec["max"] = spec["max"], spec["min"]
        error = only_error(tune_doc(spec))
        assert error.path.startswith("params.hyperparameters[0]")
        assert "'min' must be below 'max'" in error.message

    @pytest.mark.parametrize("spec_type", LOG_SPECS)
    @pytest.mark.parametrize("base", [1, 0.5, 0, -10])
    def test_base_must_be_above_one(self, spec_type: str, base: float) -> None:
        spec = dict(SPEC_EXAMPLES[spec_type], base=base)
        error = only_error(tune_doc(spec))
        assert error.path == "params.hyperparameters[0].base"
        assert "greater than 1" in error.message

    @pytest.mark.parametrize("spec_type", LOG_SPECS)
    @pytest.mark.parametrize("low", [0, -1])
    def test_log_types_need_positive_min(self, spec_type: str, low: int) -> None:
        spec = dict(SPEC_EXAMPLES[spec_type], min=low)
        error = only_error(tune_doc(spec))
        assert error.path.startswith("params.hyperparameters[0]")
        assert "'min' must be greater than 0" in error.message
        assert "log" in error.message

    @pytest.mark.parametrize("spec_type", ["randint", "qrandint", "lograndint", "qlograndint"])
    def test_integer_types_reject_float_bounds(self, spec_type: str) -> None:
        spec = dict(SPEC_EXAMPLES[spec_type], max=100.5)
        error = only_error(tune_doc(spec))
        assert error.path == "params.hyperparameters[0].max"
        assert "integer" in error.message

    @pytest.mark.parametrize("spec_type", ["uniform", "loguniform", "quniform"])
    @pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
    def test_non_finite_bounds_are_rejected(self, spec_type: str, bad: float) -> None:
        # Python's json module accepts NaN/Infinity; they make no sense as bounds.
        spec = dict(SPEC_EXAMPLES[spec_type], max=bad)
        error = only_error(tune_doc(spec))
        assert error.path.startswith("params.hyperparameters[0]")
        assert "finite" in error.message

    @pytest.mark.parametrize("spec_type", ["uniform", "quniform"])
    def test_a_range_wider_than_a_float_is_refused(self, spec_type: str) -> None:
        spec = {"name": "x", "type": spec_type, "min": -1e308, "max": 1e308}
        error = only_error(tune_doc(spec))
        assert error.path == "params.hyperparameters[0]" and "overflows a 64-bit float" in error.message

    def test_sd_must_be_positive(self) -> None:
        error = only_error(tune_doc(dict(SPEC_EXAMPLES["randn"], sd=0)))
        assert error.path == "params.hyperparameters[0].sd"
        assert "greater than 0" in error.message

    @pytest.mark.parametrize("spec_type", ["choice", "grid_search"])
    def test_empty_options(self, spec_type: str) -> None:
        error = only_error(tune_doc(dict(SPEC_EXAMPLES[spec_type], options=[])))
        assert error.path == "params.hyperparameters[0].options"
        assert "must not be empty" in error.message

    def test_missing_options_has_an_example(self) -> None:
        error = only_error(tune_doc({"name": "x", "type": "choice"}))
        assert error.path == "params.hyperparameters[0].options"
        assert "'options' is required" in error.message

    def test_unknown_distribution_type_lists_supported_types(self) -> None:
        error = only_error(tune_doc({"name": "x", "type": "gaussian", "mean": 0, "sd": 1}))
        assert error.path == "params.hyperparameters[0].type"
        assert '"gaussian"' in error.message
        for kind in DISTRIBUTION_TYPES:
            assert kind in error.message

    def test_missing_distribution_type_lists_supported_types(self) -> None:
        error = only_error(tune_doc({"name": "x", "options": [1, 2]}))
        assert error.path == "params.hyperparameters[0].type"
        assert "'type' is required" in error.message
        assert all(kind in error.message for kind in DISTRIBUTION_TYPES)

    def test_unknown_spec_field_suggests_the_right_one(self) -> None:
        errors = errors_of(tune_doc({"name": "x", "type": "choice", "option": [1, 2]}))
        assert "did you mean 'options'?" in error_at(errors, "params.hyperparameters[0].option").message

    def test_blank_hyperparameter_name(self) -> None:
        error = only_error(tune_doc(dict(SPEC_EXAMPLES["choice"], name=" ")))
        assert error.path == "params.hyperparameters[0].name"
        assert "must not be blank" in error.message

    def test_duplicate_hyperparameter_names(self) -> None:
        doc = tune_doc(
            {"name": "lr", "type": "uniform", "min": 0.1, "max": 1.0},
            {"name": "bs", "type": "choice", "options": [1, 2]},
            {"name": "lr", "type": "loguniform", "min": 0.1, "max": 1.0, "base": 10},
        )
        error = only_error(doc)
        assert error.path == "params.hyperparameters[2].name"
        assert "duplicate" in error.message
        assert "'lr'" in error.message

    @pytest.mark.parametrize("bad", [5, None, "uniform", []])
    def test_spec_must_be_an_object(self, bad: Any) -> None:
        error = only_error(tune_doc(bad))
        assert error.path == "params.hyperparameters[0]"
        assert "JSON object" in error.message

    def test_hyperparameters_must_be_a_list(self) -> None:
        doc = tune_doc()
        doc["params"]["hyperparameters"] = {"lr": 0.1}
        error = only_error(doc)
        assert error.path == "params.hyperparameters"
        assert "list" in error.message


class TestTuneConfigErrors:
    def test_unknown_search_alg_lists_supported(self) -> None:
        error = only_error(tune_doc(tune_config={"metric": "accuracy", "search_alg": "gridsearch"}))
        assert error.path == "params.tune_config.search_alg.name"
        assert "'gridsearch'" in error.message
        assert all(name in error.message for name in SEARCH_ALGORITHMS)

    def test_unknown_search_alg_in_object_form(self) -> None:
        error = only_error(tune_doc(tune_config={"metric": "accuracy", "search_alg": {"name": "nevergrad"}}))
        assert error.path == "params.tune_config.search_alg.name"
        assert all(name in error.message for name in SEARCH_ALGORITHMS)

    def test_unknown_scheduler_lists_supported(self) -> None:
        error = only_error(tune_doc(tune_config={"metric": "accuracy", "scheduler": {"name": "bohb"}}))
        assert error.path == "params.tune_config.scheduler.name"
        assert "'bohb'" in error.message
        assert all(name in error.message for name in SCHEDULERS)

    def test_unknown_scheduler_shorthand(self) -> None:
        error = only_error(tune_doc(tune_config={"metric": "accuracy", "scheduler": "bohb"}))
        assert error.path == "params.tune_config.scheduler.name"
        assert all(name in error.message for name in SCHEDULERS)

    @pytest.mark.parametrize("num_samples", [0, -3])
    def test_num_samples_must_be_positive(self, num_samples: int) -> None:
        error = only_error(tune_doc(tune_config={"metric": "accuracy", "num_samples": num_samples}))
        assert error.path == "params.tune_config.num_samples"
        assert "greater than or equal to 1" in error.message
        assert str(num_samples) in error.message

    def test_num_samples_must_be_an_integer(self) -> None:
        error = only_error(tune_doc(tune_config={"metric": "accuracy", "num_samples": 2.5}))
        assert error.path == "params.tune_config.num_samples"
        assert "integer" in error.message

    def test_max_concurrent_trials_must_be_positive(self) -> None:
        error = only_error(tune_doc(tune_config={"metric": "accuracy", "max_concurrent_trials": 0}))
        assert error.path == "params.tune_config.max_concurrent_trials"

    def test_mode_must_be_max_or_min(self) -> None:
        error = only_error(tune_doc(tune_config={"metric": "accuracy", "mode": "maximize"}))
        assert error.path == "params.tune_config.mode"
        assert "'max'" in error.message and "'min'" in error.message
        assert "maximize" in error.message

    def test_metric_is_required(self) -> None:
        error = only_error(tune_doc(tune_config={"mode": "max"}))
        assert error.path == "params.tune_config.metric"
        assert "'metric' is required" in error.message

    def test_metric_must_not_be_empty(self) -> None:
        error = only_error(tune_doc(tune_config={"metric": ""}))
        assert error.path == "params.tune_config.metric"
        assert "non-empty" in error.message

    def test_unknown_tune_config_field_suggests_the_right_one(self) -> None:
        error = only_error(tune_doc(tune_config={"metric": "accuracy", "num_sample": 5}))
        assert error.path == "params.tune_config.num_sample"
        assert "did you mean 'num_samples'?" in error.message

    def test_search_alg_must_be_name_or_object(self) -> None:
        error = only_error(tune_doc(tune_config={"metric": "accuracy", "search_alg": 3}))
        assert error.path == "params.tune_config.search_alg"
        assert "JSON object" in error.message


class TestParamsErrors:
    @pytest.mark.parametrize("name", ["", "   ", "\t\n"])
    def test_blank_name(self, name: str) -> None:
        error = only_error(train_doc(name=name))
        assert error.path == "params.name"
        assert "must not be blank" in error.message

    def test_missing_name(self) -> None:
        doc = copy.deepcopy(TRAINING)
        del doc["params"]["name"]
        error = only_error(doc)
        assert error.path == "params.name"
        assert "'name' is required" in error.message

    @pytest.mark.parametrize("dataset", ["123", 1.5, True, None])
    def test_dataset_must_be_an_integer(self, dataset: Any) -> None:
        error = only_error(train_doc(dataset=dataset))
        assert error.path == "params.dataset"
        assert "must be an integer" in error.message
        assert json.dumps(dataset) in error.message

    def test_missing_dataset_says_where_to_find_ids(self) -> None:
        doc = copy.deepcopy(TRAINING)
        del doc["params"]["dataset"]
        error = only_error(doc)
        assert error.path == "params.dataset"
        assert "dataset list" in error.message

    def test_checkpoint_must_be_an_integer(self) -> None:
        error = only_error(train_doc(checkpoint="789"))
        assert error.path == "params.checkpoint"
        assert "must be an integer" in error.message

    def test_negative_resources(self) -> None:
        error = only_error(tune_doc(num_gpus=-1))
        assert error.path == "params.num_gpus"
        assert "greater than or equal to 0" in error.message

    @pytest.mark.parametrize(
        "typo, suggestion",
        [("hyperparamter", "hyperparameter"), ("datset", "dataset"), ("checkpont", "checkpoint")],
    )
    def test_unknown_params_key_suggests_the_right_one(self, typo: str, suggestion: str) -> None:
        doc = copy.deepcopy(TRAINING)
        doc["params"][typo] = doc["params"].pop(suggestion)
        error = error_at(errors_of(doc), f"params.{typo}")
        assert f"unknown field '{typo}'" in error.message
        assert f"did you mean '{suggestion}'?" in error.message

    def test_unknown_params_key_without_close_match_lists_allowed_fields(self) -> None:
        error = only_error(train_doc(zzz=1))
        assert error.path == "params.zzz"
        assert "allowed fields" in error.message
        assert "hyperparameter" in error.message and "dataset" in error.message

    def test_hyperparameter_must_be_an_object(self) -> None:
        error = only_error(train_doc(hyperparameter=[1, 2]))
        assert error.path == "params.hyperparameter"
        assert "object" in error.message


class TestDocumentErrors:
    @pytest.mark.parametrize("raw", [[TRAINING], "train", 42, None, True, 1.5], ids=repr)
    def test_non_object_document(self, raw: Any) -> None:
        error = only_error(raw)
        assert error.path == ""
        assert "must be a JSON object" in error.message
        assert '"action": "train"' in error.message

    @pytest.mark.parametrize("action", ["predict", "Train", "", None, 1])
    def test_wrong_action(self, action: Any) -> None:
        doc = copy.deepcopy(TRAINING)
        doc["action"] = action
        error = only_error(doc)
        assert error.path == "action"
        assert '"train"' in error.message

    def test_missing_action(self) -> None:
        doc = copy.deepcopy(TRAINING)
        del doc["action"]
        error = only_error(doc)
        assert error.path == "action"
        assert "'action' is required" in error.message

    def test_missing_params(self) -> None:
        error = only_error({"action": "train"})
        assert error.path == "params"
        assert "'params' is required" in error.message

    @pytest.mark.parametrize("params", [[], "x", 1, None])
    def test_params_must_be_an_object(self, params: Any) -> None:
        error = only_error({"action": "train", "params": params})
        assert error.path == "params"
        assert "JSON object" in error.message

    @pytest.mark.parametrize("params", [None, [], "x"])
    def test_legacy_tune_action_with_bad_params_blames_only_params(self, params: Any) -> None:
        # "tune" is an accepted (deprecated) action: it must not be reported as unknown.
        error = only_error({"action": "tune", "params": params})
        assert error.path == "params"

    def test_unknown_top_level_key(self) -> None:
        doc = copy.deepcopy(TRAINING)
        doc["parms"] = {}
        error = only_error(doc)
        assert error.path == "parms"
        assert "did you mean 'params'?" in error.message


class TestAllErrorsAtOnce:
    def test_three_problems_three_errors(self) -> None:
        doc = tune_doc(
            {"name": "lr", "type": "loguniform", "min": 0.0001, "max": 0.1, "base": 1},
            {"name": "optimizer", "type": "choice", "values": ["adam", "sgd"]},
        )
        del doc["params"]["name"]
        errors = errors_of(doc)
        assert len(errors) == 3
        assert {e.path for e in errors} == {
            "params.name",
            "params.hyperparameters[0].base",
            "params.hyperparameters[1].values",
        }
        assert "'name' is required" in error_at(errors, "params.name").message
        assert "greater than 1" in error_at(errors, "params.hyperparameters[0].base").message
        assert "'options'" in error_at(errors, "params.hyperparameters[1].values").message

    def test_message_of_the_exception_lists_every_error(self) -> None:
        doc = train_doc(name="", dataset="x")
        with pytest.raises(ValidationError, match=r"has 2 error\(s\)") as info:
            parse_job(doc)
        text = str(info.value)
        for error in info.value.errors:
            assert str(error) in text

    def test_mode_error_is_reported_with_field_errors(self) -> None:
        doc = copy.deepcopy(TRAINING)
        del doc["params"]["hyperparameter"]
        doc["params"]["dataset"] = "abc"
        doc["params"]["name"] = ""
        paths = {e.path for e in errors_of(doc)}
        assert paths == {"params.hyperparameter", "params.dataset", "params.name"}

    def test_errors_across_all_sections(self) -> None:
        doc = tune_doc(
            {"name": "a", "type": "uniform", "min": 2, "max": 1},
            {"name": "a", "type": "choice", "options": [1]},
            {"name": "b", "type": "nope"},
            tune_config={"metric": "accuracy", "mode": "up", "num_samples": 0, "scheduler": "bohb"},
            dataset="1",
        )
        paths = {e.path for e in errors_of(doc)}
        assert paths == {
            "params.dataset",
            "params.hyperparameters[0]",
            "params.hyperparameters[1].name",
            "params.hyperparameters[2].type",
            "params.tune_config.mode",
            "params.tune_config.num_samples",
            "params.tune_config.scheduler.name",
        }

    def test_errors_are_not_repeated(self) -> None:
        doc = tune_doc({"name": "x", "type": "uniform", "lower": 1, "upper": 2})
        errors = errors_of(doc)
        assert len(errors) == len(set(errors))


# --------------------------------------------------------------------------------------------
# 3. Legacy migration
# --------------------------------------------------------------------------------------------


def _legacy_doc() -> dict[str, Any]:
    return {
        "action": "tune",
        "params": {
            "name": "x",
            "dataset": 1,
            "hyperparameter": [
                {"name": "learning_rate", "type": "loguniform", "min": 0.0001, "max": 0.1, "base": 10},
                {"name": "batch_size", "type": "choice", "options": [16, 32]},
            ],
            "tune_config": {"metric": "accuracy", "mode": "max", "num_samples": 4},
        },
    }


class TestLegacyMigration:
    def test_tune_action_becomes_train_with_is_tune(self) -> None:
        parsed = parse_job(_legacy_doc())
        job = parsed.job
        assert job.action == "train"
        assert job.params.is_tune is True
        assert job.params.hyperparameter is None
        assert [spec.name for spec in job.params.hyperparameters] == ["learning_rate", "batch_size"]
        assert job.params.tune_config.num_samples == 4

    def test_tune_action_notice_shows_the_migrated_document(self) -> None:
        parsed = parse_job(_legacy_doc())
        (notice,) = [n for n in parsed.notices if "deprecated" in n]
        migrated = json.loads(notice[notice.index("{") :])
        assert migrated["action"] == "train"
        assert migrated["params"]["is_tune"] is True
        assert migrated["params"]["hyperparameters"] == _legacy_doc()["params"]["hyperparameter"]
        assert "hyperparameter" not in migrated["params"]
        # the migrated document is itself valid, without any notice
        again = parse_job(migrated)
        assert again.job == parsed.job
        assert again.notices == []

    def test_tune_action_errors_use_the_new_paths(self) -> None:
        doc = _legacy_doc()
        doc["params"]["hyperparameter"][0]["base"] = 1
        error = only_error(doc)
        assert error.path == "params.hyperparameters[0].base"

    def test_tune_action_without_hyperparameters(self) -> None:
        doc = _legacy_doc()
        del doc["params"]["hyperparameter"]
        error = only_error(doc)
        assert error.message == "hyperparameters is required when is_tune=True"

    def test_tune_hyperparameter_spelling(self) -> None:
        doc = copy.deepcopy(TUNING)
        doc["params"]["tune_hyperparameter"] = doc["params"].pop("hyperparameters")
        parsed = parse_job(doc)
        assert parsed.job == parse_job(copy.deepcopy(TUNING)).job
        assert any("tune_hyperparameter" in n and "deprecated" in n for n in parsed.notices)

    def test_tune_hyperparameter_with_tune_action(self) -> None:
        doc = _legacy_doc()
        doc["params"]["tune_hyperparameter"] = doc["params"].pop("hyperparameter")
        parsed = parse_job(doc)
        assert parsed.job.params.is_tune is True
        assert len(parsed.job.params.hyperparameters) == 2
        assert sum("deprecated" in n for n in parsed.notices) == 2

    def test_current_documents_have_no_deprecation_notice(self) -> None:
        for doc in (TRAINING, TUNING, GRID, HYPEROPT):
            assert not any("deprecated" in n for n in parse_job(copy.deepcopy(doc)).notices)


# --------------------------------------------------------------------------------------------
# 5. Property tests: parse_job never fails with anything but ValidationError
# --------------------------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),  # NaN and ±Infinity too: Python's json module reads them
    st.text(max_size=12),
    st.sampled_from(["train", "tune", "uniform", "loguniform", "grid_search", "choice", "max", "hyperband", ""]),
)
_json = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=10), children, max_size=4),
    ),
    max_leaves=20,
)
_keys = st.one_of(
    st.text(max_size=10),
    st.sampled_from(
        [
            "action",
            "params",
            "name",
            "dataset",
            "checkpoint",
            "is_tune",
            "hyperparameter",
            "hyperparameters",
            "tune_hyperparameter",
            "tune_config",
            "type",
            "min",
            "max",
            "base",
            "q",
            "options",
            "values",
            "lower",
            "upper",
            "metric",
            "mode",
            "num_samples",
            "search_alg",
            "scheduler",
            "num_cpus",
            "num_gpus",
            "sd",
            "mean",
        ]
    ),
)

_NUMERIC_FIELDS = ["min", "max", "base", "q", "mean", "sd"]
_EDGE_NUMBERS = [
    0,
    0.0,
    -0.0,
    1,
    -1,
    2,
    1.0,
    1e-5,
    5e-324,
    1e-320,
    2.2250738585072014e-308,
    1e308,
    -1e308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    math.inf,
    -math.inf,
    math.nan,
    2**53 + 1,
    10**400,
    -(10**400),
]
_numbers = st.one_of(st.sampled_from(_EDGE_NUMBERS), st.floats(), st.integers())

_VALID_DOCS = [TRAINING, RESUME, TUNING, GRID, HYPEROPT, _legacy_doc()] + [
    tune_doc(copy.deepcopy(spec)) for spec in SPEC_EXAMPLES.values()
]


def _containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every dict and list inside ``value``, ``value`` itself included."""
    found = []
    if isinstance(value, dict | list):
        found.append(path)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            found.extend(_containers(child, (*path, key)))
    return found


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


@st.composite
def _mutated_documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(draw(st.sampled_from(_VALID_DOCS)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        containers = _containers(doc)
        target = _get(doc, draw(st.sampled_from(containers)))
        operation = draw(st.sampled_from(["replace", "delete", "add"]))
        if isinstance(target, dict):
            if operation == "add" or not target:
                target[draw(_keys)] = draw(_json)
            else:
                key = draw(st.sampled_from(sorted(target)))
                if operation == "delete":
                    del target[key]
                else:
                    target[key] = draw(_json)
        else:
            if operation == "add" or not target:
                target.insert(draw(st.integers(0, len(target))), draw(_json))
            else:
                index = draw(st.integers(0, len(target) - 1))
                if operation == "delete":
                    del target[index]
                else:
                    target[index] = draw(_json)
    return doc


def _check_parse(raw: Any) -> None:
    before = copy.deepcopy(raw)
    try:
        parsed = parse_job(raw)
    except ValidationError as exc:
        assert exc.errors
        for error in exc.errors:
            assert isinstance(error, FieldError)
            assert isinstance(error.path, str)
            assert isinstance(error.message, str) and error.message.strip()
        assert len(exc.errors) == len(set(exc.errors))
    else:
        assert isinstance(parsed, ParsedJob)
        assert parsed.job.action == "train"
        assert all(isinstance(notice, str) for notice in parsed.notices)
        assert parsed.job.params.total_trials >= 1
        document = parsed.job.to_document()
        json.dumps(document)
        # a valid search space has finite numbers only (NaN would defeat every bound check)
        for spec in document["params"]["hyperparameters"] or []:
            for key in _NUMERIC_FIELDS:
                if key in spec:
                    assert isinstance(spec[key], int) or math.isfinite(spec[key]), (key, spec)
            if "q" in spec:
                assert spec["q"] > 0, spec
    # parse_job works on a copy
    assert json.dumps(raw, sort_keys=True, default=repr) == json.dumps(before, sort_keys=True, default=repr)


class TestRobustness:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_json)
    @pytest.mark.slow
    def test_arbitrary_json_values(self, raw: Any) -> None:
        _check_parse(raw)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.dictionaries(_keys, _json, max_size=4).map(lambda params: {"action": "train", "params": params}))
    @pytest.mark.slow
    def test_arbitrary_params(self, raw: Any) -> None:
        _check_parse(raw)

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_mutated_documents())
    @pytest.mark.slow
    def test_mutated_valid_documents(self, raw: dict[str, Any]) -> None:
        _check_parse(raw)

    @pytest.mark.parametrize("spec_type", list(SPEC_EXAMPLES))
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        changes=st.dictionaries(st.sampled_from(_NUMERIC_FIELDS), _numbers, min_size=1, max_size=3),
        removed=st.sets(st.sampled_from(_NUMERIC_FIELDS), max_size=2),
    )
    def test_numeric_edge_cases_in_specs(self, spec_type: str, changes: dict[str, Any], removed: set[str]) -> None:
        spec = {**SPEC_EXAMPLES[spec_type], **changes}
        for key in removed - set(changes):
            spec.pop(key, None)
        _check_parse(tune_doc(spec))

    @pytest.mark.parametrize("spec_type", list(SPEC_EXAMPLES))
    def test_every_edge_number_in_every_numeric_field(self, spec_type: str) -> None:
        # Exhaustive where random search is thin: infinities, NaN, subnormals, overflowing ints.
        for field in _NUMERIC_FIELDS:
            for number in _EDGE_NUMBERS:
                _check_parse(tune_doc({**SPEC_EXAMPLES[spec_type], field: number}))

    @pytest.mark.parametrize("spec_type", RANGE_SPECS)
    def test_every_pair_of_edge_bounds(self, spec_type: str) -> None:
        for low in _EDGE_NUMBERS:
            for high in _EDGE_NUMBERS:
                _check_parse(tune_doc({**SPEC_EXAMPLES[spec_type], "min": low, "max": high}))

    @pytest.mark.parametrize("doc", _VALID_DOCS)
    def test_normalised_valid_documents_validate_again(self, doc: dict[str, Any]) -> None:
        parsed = parse_job(copy.deepcopy(doc))
        assert parse_job(parsed.job.to_document()).job == parsed.job
