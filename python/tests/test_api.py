"""Checks of the Python API against the shipped scenarios. Run from the repository root, after
`pip install ./python`:

    python3 python/tests/test_api.py      (or: python3 -m pytest python/tests/test_api.py)
"""

import json
import sys
import tempfile
import threading
from pathlib import Path

import pandas as pd

import dctwin

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
DAY = 86400


def test_run_file_with_overrides_and_seed():
    r = dctwin.run(SCENARIOS / "quickstart.ron", seed=7, overrides={"horizon_s": DAY})
    assert r.summary["seed"] == 7
    assert r.summary["horizon_s"] == DAY
    assert isinstance(r.timeseries, pd.DataFrame)
    assert len(r.timeseries) == DAY / 600 + 1
    assert {"time_s", "it_power_w", "busy_gpus"} <= set(r.timeseries.columns)
    # A training run: one row per submitted job, one per rack; no requests.csv (no serving).
    assert len(r.jobs) == r.summary["jobs"]["submitted"] and "wait_s" in r.jobs.columns
    assert len(r.racks) > 0 and "jobs" not in r.notes and "racks" not in r.notes
    assert r.requests.empty and "not written" in r.requests.attrs["note"] and "requests" in r.notes
    assert r.report_html.exists()


def test_out_directory_is_kept():
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "q"
        r = dctwin.run(SCENARIOS / "quickstart.ron", overrides={"horizon_s": DAY}, out=out)
        assert r.out == out
        assert (out / "summary.json").exists()
        assert json.loads((out / "summary.json").read_text()) == r.summary


def test_dict_round_trip_gives_the_same_run():
    by_file = dctwin.run(SCENARIOS / "green-site.ron", overrides={"horizon_s": DAY})
    d = dctwin.scenario_dict(SCENARIOS / "green-site.ron")
    assert "Layout" in d["site"] and "Synthetic" in d["workload"]
    d["horizon_s"] = DAY
    by_dict = dctwin.run(d, base_dir=SCENARIOS)
    assert by_dict.summary["energy"] == by_file.summary["energy"]
    assert by_dict.summary["facility"]["pue"] == by_file.summary["facility"]["pue"]
    # Overrides apply to dicts too, as to files.
    faster = dctwin.run(d, base_dir=SCENARIOS, overrides={"workload.Synthetic.interarrival_s.Exponential.mean_s": 90})
    assert faster.summary["jobs"]["submitted"] > by_dict.summary["jobs"]["submitted"]


def test_ron_syntax_error_has_a_position():
    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "bad.ron"
        bad.write_text('Scenario(\n    name: "x",\n    seed: 1,\n    horizon_s: oops,\n)\n')
        try:
            dctwin.run(bad)
        except dctwin.ScenarioError as e:
            assert e.file == str(bad)
            assert e.line == 4 and e.column is not None
            assert e.message and str(bad) in str(e)
            assert isinstance(e, ValueError)
        else:
            raise AssertionError("no ScenarioError")


def test_dict_error_names_the_field():
    d = dctwin.scenario_dict(SCENARIOS / "green-site.ron")
    d["facility"]["cooling"]["chws_c"] = "warm"
    try:
        dctwin.validate(d, base_dir=SCENARIOS)
    except dctwin.ScenarioError as e:
        assert e.file == "<dict>"
        assert e.field == "facility.cooling.chws_c", e.field
        assert e.line is None and e.column is None
    else:
        raise AssertionError("no ScenarioError")
    # Deep inside lists and enum variants, in the dotted form overrides take.
    d = dctwin.scenario_dict(SCENARIOS / "quickstart.ron")
    d["site"]["Layout"]["halls"][0]["rows"][0]["racks"][0]["servers"][0]["count"] = "four"
    try:
        dctwin.validate(d, base_dir=SCENARIOS)
    except dctwin.ScenarioError as e:
        assert e.field == "site.Layout.halls.0.rows.0.racks.0.servers.0.count", e.field
    else:
        raise AssertionError("no ScenarioError")


def test_override_of_a_missing_field():
    try:
        dctwin.run(SCENARIOS / "quickstart.ron", overrides={"workload.Synthetic.nope": 1})
    except dctwin.ScenarioError as e:
        assert e.field == "workload.Synthetic.nope"
        assert "no field `nope`" in e.message
    else:
        raise AssertionError("no ScenarioError")


def test_semantic_error_names_the_field():
    try:
        dctwin.validate(SCENARIOS / "quickstart.ron", overrides={"horizon_s": -1})
    except dctwin.ScenarioError as e:
        assert e.field == "horizon_s", e.field
    else:
        raise AssertionError("no ScenarioError")


def test_validate_describes_the_site():
    text = dctwin.validate(SCENARIOS / "quickstart.ron")
    assert "Expected work" in text


def test_runs_in_threads_in_parallel():
    results = {}

    def go(seed):
        results[seed] = dctwin.run(SCENARIOS / "quickstart.ron", seed=seed, overrides={"horizon_s": DAY})

    threads = [threading.Thread(target=go, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [1, 2]
    assert results[1].summary["energy"] != results[2].summary["energy"]


def test_sweep_returns_results():
    df = dctwin.sweep(REPO / "examples" / "sweeps" / "quickstart-seeds.ron", threads=2)
    assert len(df) == 24
    assert df.attrs["out"] is None and "results.csv" in df.attrs["files"]
    with tempfile.TemporaryDirectory() as tmp:
        kept = dctwin.sweep(REPO / "examples" / "sweeps" / "quickstart-seeds.ron", out=Path(tmp) / "s", threads=2)
        pd.testing.assert_frame_equal(df, kept)
        assert Path(kept.attrs["out"], "results.csv").exists()


def test_sweep_cost_guard_refuses_before_any_run():
    with tempfile.TemporaryDirectory() as tmp:
        try:
            dctwin.sweep(REPO / "examples" / "sweeps" / "quickstart-seeds.ron", out=Path(tmp) / "s", max_events=10)
        except dctwin.ScenarioError as e:
            assert "max-events" in str(e), e
        else:
            raise AssertionError("a 10-event budget must refuse the sweep")
        assert not (Path(tmp) / "s" / "results.csv").exists()


def test_size_returns_evaluations():
    df = dctwin.size(REPO / "examples" / "sizing" / "quickstart-servers.ron", threads=2)
    assert len(df) > 0
    assert df.attrs["result"]["statement"]


if __name__ == "__main__":
    failed = 0
    for name, fn in sorted(globals().items()):
        if name.startswith("test_") and callable(fn):
            try:
                fn()
                print(f"ok   {name}")
            except Exception as e:  # noqa: BLE001
                failed += 1
                print(f"FAIL {name}: {type(e).__name__}: {e}")
    sys.exit(1 if failed else 0)
