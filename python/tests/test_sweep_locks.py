"""sweep(locks=True): the lock files of targets that are gone, and only those."""
import os

import atomic_json_io as aj


def test_sweep_locks_removes_only_orphans(tmp_path):
    kept = tmp_path / "kept.json"
    gone = tmp_path / "gone.json"
    aj.update_json_atomic(str(kept), lambda d: {"n": 1}, default={})
    aj.update_json_atomic(str(gone), lambda d: {"n": 1}, default={})
    os.unlink(gone)
    locks = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".ajio-lock"))
    assert locks == [".gone.json.ajio-lock", ".kept.json.ajio-lock"]
    # Control: without locks=True no lock file is touched.
    assert aj.sweep(str(tmp_path), min_age=0) == 0
    assert (tmp_path / ".gone.json.ajio-lock").exists()
    assert aj.sweep(str(tmp_path), min_age=0, locks=True) == 1
    assert not (tmp_path / ".gone.json.ajio-lock").exists()
    assert (tmp_path / ".kept.json.ajio-lock").exists()
