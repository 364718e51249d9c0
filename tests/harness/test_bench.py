"""`make bench` prints each case's row as soon as that case has finished, with its ratio to the floor."""

from __future__ import annotations

import pytest

from bench import run


def test_each_row_is_printed_before_the_next_case_starts(monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    printed_before: dict[str, list[str]] = {}
    seconds = {"floor": 1.0, "dev": 2.0, "1": 2.0, "10": 2.5, "50": 4.5, "200": 12.0, "control-200": 3.0}

    def once(case: str) -> tuple[float, float]:
        printed_before.setdefault(case, capsys.readouterr().out.splitlines())
        return seconds[case], 100.0

    monkeypatch.setattr(run, "_once", once)
    run.main(["--runs", "1"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert printed_before["dev"][-1] == "| floor (imports only) | 1000 | 1.00 | 100.0 | 1.00 |  |  |"
    assert printed_before["10"][-1] == "| 1 app | 2000 | 2.00 | 100.0 | 1.00 |  |  |"
    assert printed_before["200"][-1] == "| 50 apps | 4500 | 4.50 | 100.0 | 1.00 | 50.0 | 0 |"
    assert printed_before["control-200"][-1] == "| 200 apps | 12000 | 12.00 | 100.0 | 1.00 | 50.0 | 0 |"
    assert rows == ["| SDK control: 200 x 8 one-line ConfigMaps | 3000 | 3.00 | 100.0 | 1.00 |  |  |"]
