"""The artifact cache: keyed by config, loads on repeat, recomputes only what changed, atomic."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deepleak_lib.cache import ArtifactCache, canonical_json


def _writer(calls, value=1.0):
    def compute(tmp):
        calls.append(1)
        np.save(tmp / "x.npy", np.array([value]))
        return {"extra": value}

    return compute


def test_repeat_call_loads_instead_of_recomputing(cache):
    calls = []
    a = cache.get_or_compute("s", {"p": 1}, _writer(calls))
    b = cache.get_or_compute("s", {"p": 1}, _writer(calls))
    assert len(calls) == 1
    assert a.key == b.key and a.path == b.path
    assert b.meta["extra"] == 1.0 and b.meta["config"] == {"p": 1}


def test_changed_parameter_recomputes_only_dependents(cache):
    calls_up, calls_down, calls_other = [], [], []
    up1 = cache.get_or_compute("up", {"p": 1}, _writer(calls_up))
    cache.get_or_compute("down", {"q": 1}, _writer(calls_down), deps=[up1])
    other = cache.get_or_compute("other", {"r": 1}, _writer(calls_other))
    # change the upstream parameter: upstream and downstream recompute, the unrelated stage does not
    up2 = cache.get_or_compute("up", {"p": 2}, _writer(calls_up))
    cache.get_or_compute("down", {"q": 1}, _writer(calls_down), deps=[up2])
    other2 = cache.get_or_compute("other", {"r": 1}, _writer(calls_other))
    assert (len(calls_up), len(calls_down), len(calls_other)) == (2, 2, 1)
    assert other.key == other2.key
    assert up1.key != up2.key


def test_code_change_invalidates(cache):
    calls = []
    a = cache.get_or_compute("s", {"p": 1}, _writer(calls), code="v1")
    b = cache.get_or_compute("s", {"p": 1}, _writer(calls), code="v2")
    assert a.key != b.key and len(calls) == 2


def test_key_independent_of_dict_order():
    assert ArtifactCache.make_key("s", {"a": 1, "b": 2}) == ArtifactCache.make_key("s", {"b": 2, "a": 1})
    assert canonical_json({"x": np.int64(3)}) == canonical_json({"x": 3})


def test_interrupted_compute_leaves_nothing_and_resumes(cache):
    def boom(tmp):
        (tmp / "half.npy").write_bytes(b"partial")
        raise KeyboardInterrupt  # an interrupted run, not just an exception

    with pytest.raises(KeyboardInterrupt):
        cache.get_or_compute("s", {"p": 1}, boom)
    stage_dir = cache.root / "s"
    assert list(stage_dir.iterdir()) == []  # no half-written artifact, no temp folder
    calls = []
    art = cache.get_or_compute("s", {"p": 1}, _writer(calls))
    assert len(calls) == 1 and np.load(art.file("x.npy"))[0] == 1.0


def test_artifact_without_meta_is_not_trusted(cache):
    key = ArtifactCache.make_key("s", {"p": 1})
    stray = cache.path_for("s", key)
    stray.mkdir(parents=True)
    (stray / "x.npy").write_bytes(b"garbage")  # e.g. copied by hand, never finished
    assert cache.lookup("s", key) is None


def test_meta_records_config_and_deps(cache):
    up = cache.get_or_compute("up", {"p": 1}, _writer([]))
    down = cache.get_or_compute("down", {"q": 2}, _writer([]), deps=[up])
    meta = json.loads((down.path / "meta.json").read_text())
    assert meta["deps"] == [["up", up.key]] and meta["config"] == {"q": 2}
