"""Parsing and checking of user options against a factory's signature."""

from __future__ import annotations

from typing import Literal

import pytest

from lmam.data.registry import DATASETS
from lmam.fusion.registry import FUSIONS
from lmam.models.registry import MODELS
from lmam.options import OptionError, accepted_options, check_options, parse_pairs, parse_value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("45", 45),
        ("1e-3", 1e-3),
        ("1e-1", 0.1),
        ("5E+2", 500.0),
        ("-2.5e-4", -2.5e-4),
        ("0.5", 0.5),
        ("true", True),
        ("null", None),
        ("full", "full"),
        ("[wq, wv]", ["wq", "wv"]),
        ("abc: [", "abc: ["),
        ("1e", "1e"),
    ],
)
def test_parse_value(text, value):
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


def test_parse_pairs():
    assert parse_pairs(["rank=45", "scale=1e-3", "query=full"], "--fusion-opt") == {
        "rank": 45,
        "scale": 1e-3,
        "query": "full",
    }
    with pytest.raises(OptionError, match="--fusion-opt 'rank': expected KEY=VALUE"):
        parse_pairs(["rank"], "--fusion-opt")
    with pytest.raises(OptionError, match="KEY=VALUE"):
        parse_pairs(["=3"], "--fusion-opt")


class Base:
    def __init__(self, *, width: int = 4, mode: Literal["a", "b"] = "a") -> None:
        pass


class Child(Base):
    def __init__(self, *, depth: int = 1, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]


class Wrapper:
    forwards_options_to = Base

    def __init__(self, *, rate: float | None = None, **options: object) -> None:
        self.base = Base(**options)  # type: ignore[arg-type]


def open_factory(*, a: int = 1, **rest: object) -> None:
    pass


def test_the_walk_follows_the_mro_and_forwards_options_to():
    assert list(accepted_options(Child)[0]) == ["depth", "width", "mode"]
    assert list(accepted_options(Wrapper)[0]) == ["rate", "width", "mode"]
    assert accepted_options(Child)[1] is False
    assert accepted_options(open_factory) == (accepted_options(open_factory)[0], True)


def test_check_options_names_the_option_the_closest_and_what_is_expected():
    check_options("x", Child, {"depth": 2, "width": 3, "mode": "b"})
    with pytest.raises(OptionError, match=r"x has no option 'widht' \(did you mean 'width'\?\)"):
        check_options("x", Child, {"widht": 3})
    with pytest.raises(OptionError, match=r"mode='c': expected one of 'a', 'b'"):
        check_options("x", Child, {"mode": "c"})
    with pytest.raises(OptionError, match=r"rate='fast': expected float or null, got str"):
        check_options("x", Wrapper, {"rate": "fast"})
    check_options("x", Wrapper, {"rate": 1})  # an int is a float
    with pytest.raises(OptionError, match=r"width=True: expected int, got bool"):
        check_options("x", Child, {"width": True})
    check_options("x", open_factory, {"anything": 1})  # **rest goes nowhere we can see


@pytest.mark.parametrize("registry", [FUSIONS, DATASETS], ids=lambda r: r.kind)
def test_every_entry_declares_its_options_and_refuses_unknown_ones(registry):
    """Every fusion and dataset lists its options, so typos are caught."""
    for name in registry.names():
        _, open_ = accepted_options(registry.get(name))
        assert not open_, f"{registry.kind} {name!r} takes **options we cannot follow"
        with pytest.raises(OptionError, match=f"{registry.kind} '{name}' has no option 'zzz'"):
            check_options(f"{registry.kind} {name!r}", registry.get(name), {"zzz": 1})


def test_every_backbone_declares_its_options_and_refuses_unknown_ones():
    """A backbone's options are its encoder's keyword parameters and the common ones."""
    from lmam.models import create_model

    for name in MODELS.names():
        spec = MODELS.get(name)
        _, open_ = accepted_options(spec.encoder)
        assert not open_, f"the encoder of {name!r} takes **options we cannot follow"
        assert {"fusion", "embed", "dropout", "init"} <= set(spec.options())
        with pytest.raises(OptionError, match=f"model '{name}' has no option 'zzz'"):
            create_model(name, in_dims={"text": 4}, num_classes=2, zzz=1)
