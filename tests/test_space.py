"""Search-space specs: trial counting, default q values, immutability, serialisation round trip."""

from __future__ import annotations

import math
from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from conftest import REFERENCE_SPECS
from trainaction.distributions import DISTRIBUTION_TYPES, Categorical, HyperparameterSpec, Normal, Range, count_trials

SPEC = TypeAdapter(HyperparameterSpec)

EXAMPLES = REFERENCE_SPECS


def spec(**fields: Any) -> Any:
    return SPEC.validate_python(fields)


def grid(name: str, size: int) -> Any:
    return spec(name=name, type="grid_search", options=list(range(size)))


def test_twelve_distribution_types() -> None:
    assert set(DISTRIBUTION_TYPES) == set(EXAMPLES)
    assert len(DISTRIBUTION_TYPES) == 12


@pytest.mark.parametrize("kind", list(EXAMPLES))
def test_type_discriminator_selects_the_spec(kind: str) -> None:
    model = SPEC.validate_python(EXAMPLES[kind])
    assert isinstance(model, DISTRIBUTION_TYPES[kind])
    assert model.type == kind


# --------------------------------------------------------------------------------------------
# count_trials
# --------------------------------------------------------------------------------------------


class TestCountTrials:
    def test_no_specs(self) -> None:
        assert count_trials([], 7) == 7

    def test_without_grid_search_each_sample_is_one_trial(self) -> None:
        specs = [SPEC.validate_python(EXAMPLES[k]) for k in EXAMPLES if k != "grid_search"]
        assert count_trials(specs, 10) == 10

    def test_single_grid(self) -> None:
        assert count_trials([grid("a", 3)], 1) == 3

    def test_reference_grid_example(self) -> None:
        specs = [grid("a", 3), grid("b", 2), grid("c", 2)]
        assert count_trials(specs, 12) == 144

    def test_choice_options_do_not_multiply(self) -> None:
        specs = [grid("a", 4), spec(name="c", type="choice", options=[1, 2, 3, 4, 5])]
        assert count_trials(specs, 2) == 8

    def test_duplicate_grid_options_still_count(self) -> None:
        # Ray Tune runs one trial per listed grid value, repeated or not.
        assert count_trials([spec(name="a", type="grid_search", options=[1, 1, 1])], 1) == 3

    @settings(max_examples=100, deadline=None)
    @given(
        sizes=st.lists(st.integers(min_value=1, max_value=6), max_size=5),
        others=st.integers(min_value=0, max_value=3),
        num_samples=st.integers(min_value=1, max_value=50),
    )
    def test_product_of_grid_sizes_times_samples(self, sizes: list[int], others: int, num_samples: int) -> None:
        specs = [grid(f"g{i}", size) for i, size in enumerate(sizes)]
        specs += [SPEC.validate_python(dict(EXAMPLES["uniform"], name=f"u{i}")) for i in range(others)]
        assert count_trials(specs, num_samples) == math.prod(sizes) * num_samples


# --------------------------------------------------------------------------------------------
# q defaults
# --------------------------------------------------------------------------------------------


class TestQDefaults:
    def test_quniform_default_is_a_power_of_ten_below_a_hundredth_of_the_range(self) -> None:
        assert SPEC.validate_python(EXAMPLES["quniform"]).q == 1e-05

    def test_qloguniform_default_is_the_power_of_ten_at_min(self) -> None:
        assert SPEC.validate_python(EXAMPLES["qloguniform"]).q == 0.0001

    def test_qloguniform_default_rounds_min_down(self) -> None:
        assert spec(name="x", type="qloguniform", min=0.003, max=1, base=10).q == pytest.approx(0.001)

    def test_qrandn_default_is_a_tenth_of_sd(self) -> None:
        assert SPEC.validate_python(EXAMPLES["qrandn"]).q == 0.1

    def test_qrandn_default_rounds_down(self) -> None:
        assert spec(name="x", type="qrandn", mean=5, sd=25).q == 1

    @pytest.mark.parametrize("kind", ["qrandint", "qlograndint"])
    def test_integer_default_is_one(self, kind: str) -> None:
        model = SPEC.validate_python(EXAMPLES[kind])
        assert model.q == 1
        assert isinstance(model.q, int)

    @pytest.mark.parametrize(
        "kind, q", [("quniform", 0.005), ("qloguniform", 0.002), ("qrandn", 0.25), ("qrandint", 5), ("qlograndint", 4)]
    )
    def test_explicit_q_is_kept(self, kind: str, q: float) -> None:
        assert SPEC.validate_python(dict(EXAMPLES[kind], q=q)).q == q

    @pytest.mark.parametrize("kind", ["quniform", "qloguniform", "qrandn", "qrandint", "qlograndint"])
    @pytest.mark.parametrize("q", [0, -1])
    def test_q_must_be_positive(self, kind: str, q: int) -> None:
        with pytest.raises(pydantic.ValidationError, match="greater than 0"):
            SPEC.validate_python(dict(EXAMPLES[kind], q=q))

    @pytest.mark.parametrize("kind", ["qrandint", "qlograndint"])
    def test_integer_q_must_be_an_integer(self, kind: str) -> None:
        with pytest.raises(pydantic.ValidationError, match="integer"):
            SPEC.validate_python(dict(EXAMPLES[kind], q=0.5))

    @settings(max_examples=200, deadline=None)
    @given(
        low=st.floats(min_value=-1e12, max_value=1e12),
        width=st.floats(min_value=1e-9, max_value=1e12),
    )
    def test_quniform_default_property(self, low: float, width: float) -> None:
        high = low + width
        if not low < high:
            return  # the width vanished in rounding
        q = spec(name="x", type="quniform", min=low, max=high).q
        hundredth = (high - low) / 100
        _assert_power_of_ten(q)
        # largest power of ten not above a hundredth of the range (within float rounding)
        assert q <= hundredth * (1 + 1e-12)
        assert hundredth < 10 * q

    @settings(max_examples=200, deadline=None)
    @given(low=st.floats(min_value=1e-300, max_value=1e300))
    def test_qloguniform_default_property(self, low: float) -> None:
        q = spec(name="x", type="qloguniform", min=low, max=low * 2, base=10).q
        _assert_power_of_ten(q)
        assert q <= low * (1 + 1e-12)
        assert low < 10 * q

    @settings(max_examples=200, deadline=None)
    @given(sd=st.floats(min_value=1e-300, max_value=1e300))
    def test_qrandn_default_property(self, sd: float) -> None:
        q = spec(name="x", type="qrandn", mean=0, sd=sd).q
        _assert_power_of_ten(q)
        assert q <= sd / 10 * (1 + 1e-12)
        assert sd / 10 < 10 * q

    @pytest.mark.parametrize(
        "fields",
        [
            # max stays small: with q = 5e-324, max / q must not overflow (snapping divides by q)
            {"type": "qloguniform", "min": 5e-324, "max": 1e-300, "base": 10},
            {"type": "qrandn", "mean": 0, "sd": 5e-324},
            {"type": "quniform", "min": 0, "max": 5e-322},
        ],
        ids=["qloguniform", "qrandn", "quniform"],
    )
    def test_default_q_stays_positive_for_tiny_values(self, fields: dict[str, Any]) -> None:
        model = spec(name="x", **fields)
        assert model.q > 0
        # and the filled-in value validates again
        assert SPEC.validate_python(model.model_dump()) == model

    def test_a_range_too_wide_for_a_float_is_refused(self) -> None:
        # max - min overflows to inf: no searcher can draw from it (numpy refuses such a range).
        with pytest.raises(pydantic.ValidationError, match="overflows a 64-bit float"):
            spec(name="x", type="quniform", min=-1e308, max=1e308)


def _assert_power_of_ten(value: float) -> None:
    exponent = round(math.log10(value))
    assert value == pytest.approx(10.0**exponent, rel=1e-9)


# --------------------------------------------------------------------------------------------
# Immutability and serialisation
# --------------------------------------------------------------------------------------------


class TestFrozen:
    @pytest.mark.parametrize("kind", list(EXAMPLES))
    def test_fields_cannot_be_assigned(self, kind: str) -> None:
        model = SPEC.validate_python(EXAMPLES[kind])
        with pytest.raises(pydantic.ValidationError, match="frozen"):
            model.name = "other"
        assert model.name == EXAMPLES[kind]["name"]

    def test_bounds_cannot_be_assigned(self) -> None:
        model = SPEC.validate_python(EXAMPLES["uniform"])
        with pytest.raises(pydantic.ValidationError, match="frozen"):
            model.min = 5.0
        assert model.min == 0.0001

    def test_default_q_cannot_be_assigned(self) -> None:
        model = SPEC.validate_python(EXAMPLES["quniform"])
        with pytest.raises(pydantic.ValidationError, match="frozen"):
            model.q = 1.0
        assert model.q == 1e-05

    def test_specs_are_hashable_and_equal_by_value(self) -> None:
        first = SPEC.validate_python(EXAMPLES["uniform"])
        second = SPEC.validate_python(dict(EXAMPLES["uniform"]))
        assert first == second
        assert hash(first) == hash(second)


class TestRoundTrip:
    @pytest.mark.parametrize("kind", list(EXAMPLES))
    def test_model_dump_and_validate(self, kind: str) -> None:
        model = SPEC.validate_python(EXAMPLES[kind])
        dumped = model.model_dump()
        assert type(model).model_validate(dumped) == model
        assert SPEC.validate_python(dumped) == model

    @pytest.mark.parametrize("kind", list(EXAMPLES))
    def test_json_round_trip(self, kind: str) -> None:
        model = SPEC.validate_python(EXAMPLES[kind])
        assert SPEC.validate_json(model.model_dump_json()) == model

    @pytest.mark.parametrize("kind", list(EXAMPLES))
    def test_dump_contains_the_input(self, kind: str) -> None:
        dumped = SPEC.validate_python(EXAMPLES[kind]).model_dump()
        for key, value in EXAMPLES[kind].items():
            assert dumped[key] == value

    @pytest.mark.parametrize("kind", ["quniform", "qloguniform", "qrandn", "qrandint", "qlograndint"])
    def test_filled_in_q_is_dumped_and_kept(self, kind: str) -> None:
        model = SPEC.validate_python(EXAMPLES[kind])
        dumped = model.model_dump()
        assert dumped["q"] == model.q
        assert SPEC.validate_python(dumped).q == model.q


# --------------------------------------------------------------------------------------------
# Direct construction is validated too
# --------------------------------------------------------------------------------------------


class TestConstruction:
    @pytest.mark.parametrize("kind", ["uniform", "quniform", "randint", "qrandint"])
    def test_min_below_max(self, kind: str) -> None:
        with pytest.raises(pydantic.ValidationError, match="'min' must be below 'max'"):
            SPEC.validate_python(dict(EXAMPLES[kind], min=EXAMPLES[kind]["max"]))

    @pytest.mark.parametrize("kind", ["loguniform", "qloguniform", "lograndint", "qlograndint"])
    def test_log_base(self, kind: str) -> None:
        with pytest.raises(pydantic.ValidationError, match="'base' must be greater than 1"):
            SPEC.validate_python(dict(EXAMPLES[kind], base=1))

    @pytest.mark.parametrize("kind", ["loguniform", "qloguniform", "lograndint", "qlograndint"])
    def test_log_min_positive(self, kind: str) -> None:
        with pytest.raises(pydantic.ValidationError, match="'min' must be greater than 0 for a log scale"):
            SPEC.validate_python(dict(EXAMPLES[kind], min=0))

    @pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
    @pytest.mark.parametrize("field", ["min", "max"])
    def test_non_finite_bounds(self, bad: float, field: str) -> None:
        with pytest.raises(pydantic.ValidationError, match="finite number"):
            SPEC.validate_python(dict(EXAMPLES["uniform"], **{field: bad}))

    @pytest.mark.parametrize("bad", [math.inf, math.nan])
    def test_non_finite_sd(self, bad: float) -> None:
        with pytest.raises(pydantic.ValidationError, match="finite number"):
            SPEC.validate_python(dict(EXAMPLES["qrandn"], sd=bad))

    def test_unknown_field(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
            SPEC.validate_python(dict(EXAMPLES["choice"], values=[1]))

    def test_blank_name(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="must not be blank"):
            SPEC.validate_python(dict(EXAMPLES["choice"], name=""))

    def test_options_are_kept_in_order_with_any_json_values(self) -> None:
        options = [None, True, 1, 2.5, "x", [1, 2], {"a": 1}]
        assert spec(name="c", type="choice", options=options).options == options


# The traits each type carries, as the bound rules in trainaction.distributions state them.
_INTEGER = {"randint", "qrandint", "lograndint", "qlograndint"}
_LOG = {"loguniform", "qloguniform", "lograndint", "qlograndint"}
_QUANTISED = {"quniform", "qloguniform", "qrandn", "qrandint", "qlograndint"}


@pytest.mark.parametrize("kind", sorted(DISTRIBUTION_TYPES))
def test_traits_are_class_attributes_of_each_spec(kind: str) -> None:
    cls = DISTRIBUTION_TYPES[kind]
    assert (cls.integer, cls.log, cls.quantised) == (kind in _INTEGER, kind in _LOG, kind in _QUANTISED)
    assert ("base" in cls.model_fields) is cls.log
    assert ("q" in cls.model_fields) is cls.quantised
    assert {"integer", "log", "quantised"}.isdisjoint(cls.model_fields)  # traits, not document fields


@pytest.mark.parametrize("kind", sorted(DISTRIBUTION_TYPES))
def test_each_spec_is_of_one_family_with_its_fields(kind: str) -> None:
    cls = DISTRIBUTION_TYPES[kind]
    families = [f for f in (Range, Normal, Categorical) if issubclass(cls, f)]
    assert len(families) == 1
    fields = {Range: {"min", "max"}, Normal: {"mean", "sd"}, Categorical: {"options"}}[families[0]]
    assert fields <= set(cls.model_fields)
