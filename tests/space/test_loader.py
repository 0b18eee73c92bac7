"""The space loader: valid files load, and every class of bad input gives one clear error."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diffuse_dse.errors import SpaceError
from diffuse_dse.space import load_space

VALID = """
name: demo
parameters:
  - {name: rows, layer: hw, kind: pow2, low: 2, high: 16, default: 4}
  - {name: banks, layer: hw, kind: int, low: 1, high: 7, step: 2}
  - {name: vt, layer: eda, kind: ordinal, values: [RVT, LVT, SLVT]}
  - {name: flow, layer: eda, kind: categorical, values: [area, delay, true]}
  - {name: clk, layer: eda, kind: float, low: 100, high: 1000, log: true, unit: ps}
constraints:
  - "rows >= banks"
objectives:
  - {name: f1, direction: min, ref: 3}
  - {name: f2, direction: max}
outcome_constraints: ["f1 <= 2.5"]
evaluator: synthetic
"""


def test_valid_space_loads_with_real_values(write_space):
    space = load_space(write_space(VALID))
    assert space.names == ("rows", "banks", "vt", "flow", "clk")
    assert space.parameter("rows").choices == (2, 4, 8, 16)
    assert space.parameter("banks").choices == (1, 3, 5, 7)
    assert space.parameter("clk").log is True
    assert space.default_config()["rows"] == 4
    assert [o.direction for o in space.objectives] == ["min", "max"]
    assert space.outcome_constraints[0].violation({"f1": 3.0}) == pytest.approx(0.5)
    assert space.discrete_size == 4 * 4 * 3 * 3
    feasible, exact = space.feasible_size()
    assert not exact  # a float parameter: estimated
    assert 0 < feasible < space.discrete_size


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        ("name: demo", "name: demo\ncolour: red", r"space\.yaml: colour \(line 2\): unknown key 'colour'"),
        (
            "step: 2}",
            "step: 2, stride: 3}",
            r"parameters\[1\]\.stride \(line 4\): unknown key 'stride' in an int parameter",
        ),
        (
            "low: 2, high: 16",
            "low: two, high: 16",
            r"parameters\[0\]\.low \(line 3\): expected a whole number\. Got 'two'",
        ),
        ("low: 1, high: 7", "low: 9, high: 7", r"parameters\[1\]\.high \(line 4\): must be >= low \(9\)\. Got 7"),
        ("low: 100, high: 1000", "low: 100, high: 100", r"parameters\[4\]\.high \(line 7\): must be > low"),
        ("values: [RVT, LVT, SLVT]", "values: []", r"parameters\[2\]\.values \(line 5\): expected at least one value"),
        ("name: banks", "name: rows", r"parameters\[1\]\.name \(line 4\): duplicate parameter name 'rows'"),
        ("values: [RVT, LVT, SLVT]", "values: [RVT, LVT, RVT]", r"parameters\[2\]\.values\[2\].*duplicate value 'RVT'"),
        ('"rows >= banks"', '"rows >= = banks"', r"constraints\[0\] \(line 9\): invalid expression .*syntax error"),
        ('"rows >= banks"', '"rows >= bank"', r"constraints\[0\] \(line 9\): unknown name 'bank'"),
        ('"rows >= banks"', "\"__import__('os')\"", r"constraints\[0\].*only these functions may be called"),
        (
            "evaluator: synthetic",
            "evaluator: openroad",
            r"evaluator \(line 14\): unknown evaluator 'openroad'; installed evaluators: .*synthetic",
        ),
        ("kind: pow2, low: 2", "kind: pow3, low: 2", r"parameters\[0\]\.kind \(line 3\): expected one of int, pow2"),
        ("layer: eda, kind: float", "layer: rtl, kind: float", r"parameters\[4\]\.layer \(line 7\): expected 'hw'"),
        (
            "high: 16, default: 4",
            "high: 16, default: 5",
            r"parameters\[0\]\.default \(line 3\): expected one of 2, 4, 8, 16\. Got 5",
        ),
        ("direction: max", "direction: up", r"objectives\[1\]\.direction \(line 12\): expected 'min' or 'max'"),
        (
            "{name: f2, direction: max}",
            "{name: g, direction: max}",
            r"objectives\[1\]\.name \(line 12\): evaluator 'synthetic' reports no metric 'g'",
        ),
        ("low: 2, high: 16", "low: 3, high: 16", r"parameters\[0\]\.low \(line 3\): must be a power of two"),
        (
            '"rows >= banks"',
            '"rows > 100"',
            r"constraints \(line 9\): the space is empty: 'rows > 100' is never satisfied",
        ),
        (
            "  - {name: f1, direction: min, ref: 3}",
            "  - {name: f1, direction: min, ref: [3]}",
            r"objectives\[0\]\.ref \(line 11\): expected a number",
        ),
    ],
)
def test_bad_input_names_file_field_line_and_expectation(write_space, old, new, pattern):
    assert old in VALID
    path = write_space(VALID.replace(old, new, 1))
    with pytest.raises(SpaceError) as info:
        load_space(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    assert re.search(pattern, message), message


def test_empty_space_names_every_constraint_when_jointly_unsatisfiable(write_space):
    text = VALID.replace('  - "rows >= banks"', '  - "rows <= 4"\n  - "banks >= 7"\n  - "rows > banks"')
    with pytest.raises(SpaceError, match=r"'rows <= 4'; 'banks >= 7'; 'rows > banks' are never satisfied together"):
        load_space(write_space(text))


def test_missing_and_invalid_files(tmp_path, write_space):
    with pytest.raises(SpaceError, match="no such file"):
        load_space(tmp_path / "absent.yaml")
    with pytest.raises(SpaceError, match=r"\(line 3, column 1\): not valid YAML"):
        load_space(write_space("parameters:\n  - {name: [\n"))
    with pytest.raises(SpaceError, match="the file is empty"):
        load_space(write_space(""))
    with pytest.raises(SpaceError, match=r"name \(line \d+\): this key appears twice"):
        load_space(write_space(VALID + "name: again\n"))


_yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e3, 1e3),
    st.sampled_from(
        [
            "rows",
            "hw",
            "eda",
            "int",
            "pow2",
            "ordinal",
            "float",
            "categorical",
            "min",
            "max",
            "rows >= banks",
            "a +",
            "synthetic",
            "f1",
        ]
    ),
)
_yaml_values = st.recursive(
    _yaml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "layer",
                    "kind",
                    "low",
                    "high",
                    "step",
                    "values",
                    "default",
                    "direction",
                    "ref",
                    "log",
                    "parameters",
                    "objectives",
                    "constraints",
                    "x",
                ]
            ),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        _yaml_values,
        st.fixed_dictionaries(
            {"parameters": st.lists(_yaml_values, max_size=3), "objectives": _yaml_values, "constraints": _yaml_values}
        ),
        st.text(max_size=80),
    )
)
def test_fuzz_parser_only_raises_space_error(tmp_path, data):
    import yaml

    path = tmp_path / "fuzz.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    try:
        load_space(path)
    except SpaceError as exc:
        assert str(exc).startswith(str(path))
