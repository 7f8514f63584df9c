"""The page's glue: an unexpected failure in any handler becomes a sentence, not a trace."""

from __future__ import annotations

from prometheus_client import REGISTRY

from ui.events import guard


def test_an_unexpected_failure_becomes_the_fallback_message() -> None:
    before = REGISTRY.get_sample_value("homeval_ui_errors_total", {"kind": "internal"}) or 0.0

    @guard(lambda text: ["shown", text])
    def broken(value: int) -> list[str]:
        return [str(1 // value)]

    assert broken(1) == ["1"]
    shown, text = broken(0)
    assert shown == "shown"
    assert text == "Something went wrong (ZeroDivisionError); please retry."
    assert REGISTRY.get_sample_value("homeval_ui_errors_total", {"kind": "internal"}) == before + 1
    assert broken.__name__ == "broken"
