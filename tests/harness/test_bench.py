"""`make bench` prints each group's rows as soon as that group has finished, with its ratio to the floor, and
splits the time per added app into the SDK's part and the program's."""

from __future__ import annotations

import pytest

from bench import run

SECONDS = {
    "floor": 1.0,
    "dev": 2.0,
    "1": 2.0,
    "10": 2.5,
    "shape-10": 2.0,
    "control-10": 1.5,
    "50": 4.5,
    "shape-50": 3.6,
    "control-50": 1.9,
    "200": 12.0,
    "shape-200": 9.6,
    "control-200": 3.4,
}


def test_each_groups_rows_are_printed_before_the_next_group_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    printed_before: dict[str, list[str]] = {}
    started: list[str] = []

    def once(case: str, no_gc: bool = False) -> tuple[float, float]:
        printed_before.setdefault(case, capsys.readouterr().out.splitlines())
        started.append(case)
        return SECONDS[case], 100.0

    monkeypatch.setattr(run, "_once", once)
    run.main(["--runs", "2"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]

    assert started[12:18] == ["50", "shape-50", "control-50"] * 2
    assert printed_before["dev"][-1] == "| floor (imports only) | 1000 | 1.00 | 100.0 | 1.00 |  |  |"
    assert printed_before["10"][-1] == "| 1 app | 2000 | 2.00 | 100.0 | 1.00 |  |  |"
    assert printed_before["50"][-3:] == [
        "| 10 apps | 2500 | 2.50 | 100.0 | 1.00 | 55.6 | 0 |",
        "| SDK alone: the program's graph of 10 apps | 2000 | 2.00 | 100.0 | 1.00 |  |  |",
        "| SDK alone: 10 x 8 one-line ConfigMaps | 1500 | 1.50 | 100.0 | 1.00 |  |  |",
    ]
    assert printed_before["200"][-3:] == [
        "| 50 apps | 4500 | 4.50 | 100.0 | 1.00 | 50.0 | 0 |",
        "| SDK alone: the program's graph of 50 apps | 3600 | 3.60 | 100.0 | 1.00 | 40.0 | 0 |",
        "| SDK alone: 50 x 8 one-line ConfigMaps | 1900 | 1.90 | 100.0 | 1.00 | 10.0 | 0 |",
    ]
    assert rows == [
        "| 200 apps | 12000 | 12.00 | 100.0 | 1.00 | 50.0 | 0 |",
        "| SDK alone: the program's graph of 200 apps | 9600 | 9.60 | 100.0 | 1.00 | 40.0 | 0 |",
        "| SDK alone: 200 x 8 one-line ConfigMaps | 3400 | 3.40 | 100.0 | 1.00 | 10.0 | 0 |",
        "| apps added | ms per added app | SDK alone: the program's graph | program's part | SDK alone: 8 ConfigMaps |",
        "| 10 -> 50 | 50.0 | 40.0 | 10.0 | 10.0 |",
        "| 50 -> 200 | 50.0 | 40.0 | 10.0 | 10.0 |",
    ]


def test_no_gc_is_handed_to_every_case(monkeypatch: pytest.MonkeyPatch) -> None:
    handed: set[bool] = set()

    def once(case: str, no_gc: bool = False) -> tuple[float, float]:
        handed.add(no_gc)
        return SECONDS[case], 100.0

    monkeypatch.setattr(run, "_once", once)
    run.main(["--runs", "1", "--no-gc"])

    assert handed == {True}
