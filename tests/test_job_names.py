"""Job names: ``:`` and ``,`` are encoded for other systems; the original is kept for display."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainaction.errors import ValidationError
from trainaction.job import decode_name, encode_name
from trainaction.validation import parse_job


def _training(name: str) -> dict:
    return {"action": "train", "params": {"name": name, "dataset": 1, "hyperparameter": {"epochs": 1}}}


def test_reference_example() -> None:
    assert encode_name("experiment:v1,batch:32") == "experiment%3Av1%2Cbatch%3A32"


def test_reference_example_decodes_back() -> None:
    assert decode_name("experiment%3Av1%2Cbatch%3A32") == "experiment:v1,batch:32"


@pytest.mark.parametrize("name", ["my_model", "resnet-50 v2", "模型", "a.b/c d", ""])
def test_names_without_separators_are_unchanged(name: str) -> None:
    assert encode_name(name) == name
    assert decode_name(name) == name


@pytest.mark.parametrize(
    "name, encoded",
    [(":", "%3A"), (",", "%2C"), ("::,,", "%3A%3A%2C%2C"), ("a:b", "a%3Ab"), ("x,", "x%2C")],
)
def test_each_separator_is_encoded(name: str, encoded: str) -> None:
    assert encode_name(name) == encoded
    assert decode_name(encoded) == name


def test_distinct_names_get_distinct_encodings() -> None:
    # "a%3Ab" is a legal name in its own right and must not collide with "a:b".
    assert encode_name("a%3Ab") != encode_name("a:b")
    assert decode_name(encode_name("a%3Ab")) == "a%3Ab"
    assert decode_name(encode_name("100%,done")) == "100%,done"


# Names built from the pieces that interact in the encoding, plus arbitrary text.
_tricky_names = st.one_of(
    st.lists(st.sampled_from(["a", "%", ":", ",", "3A", "2C", "25", "%3A", "%2C", "%25", "%%"]), max_size=8).map(
        "".join
    ),
    st.text(max_size=30),
)


@settings(max_examples=300, deadline=None)
@given(_tricky_names)
def test_round_trip(name: str) -> None:
    encoded = encode_name(name)
    assert ":" not in encoded and "," not in encoded
    assert decode_name(encoded) == name


@settings(max_examples=300, deadline=None)
@given(_tricky_names, _tricky_names)
def test_encoding_is_injective(first: str, second: str) -> None:
    if first != second:
        assert encode_name(first) != encode_name(second)


def test_job_keeps_the_original_name_and_exposes_the_encoded_one() -> None:
    params = parse_job(_training("experiment:v1,batch:32")).job.params
    assert params.name == "experiment:v1,batch:32"
    assert params.encoded_name == "experiment%3Av1%2Cbatch%3A32"


def test_document_keeps_the_original_name() -> None:
    document = parse_job(_training("exp:1")).job.to_document()
    assert document["params"]["name"] == "exp:1"


def test_plain_name_encoded_is_the_same() -> None:
    assert parse_job(_training("my_model")).job.params.encoded_name == "my_model"


def test_names_made_only_of_separators_are_valid() -> None:
    params = parse_job(_training(":,")).job.params
    assert params.encoded_name == "%3A%2C"


def test_blank_name_is_still_rejected() -> None:
    with pytest.raises(ValidationError, match="'name' must not be blank") as info:
        parse_job(_training("  "))
    assert [e.path for e in info.value.errors] == ["params.name"]
