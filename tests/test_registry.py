import pytest

from lmam.registry import Registry


def test_registry_registers_lists_describes_and_refuses():
    reg: Registry = Registry("widget")

    @reg.register("b")
    def make_b():
        """Builds a b."""
        return "b"

    reg.register("a", "an a")(lambda: "a")
    assert reg.names() == ["a", "b"] and reg.names("b*") == ["b"]
    assert reg.get("b")() == "b"
    assert reg.describe("a") == "an a" and reg.describe("b") == "Builds a b."
    with pytest.raises(ValueError, match=r"unknown widget 'c'; known widgets: a, b"):
        reg.get("c")
    with pytest.raises(ValueError, match="widget 'a' is already registered"):
        reg.register("a")(lambda: None)
