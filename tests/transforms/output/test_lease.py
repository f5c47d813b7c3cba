"""The output lease on a local disk: one holder, refusals name it, stale leases are taken over, fencing."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading

import pytest

from transforms.output.layout import LEASE_FILE
from transforms.output.lease import (
    LeaseHeld,
    LeaseHolder,
    LeaseLost,
    LocalLeaseStore,
    acquire,
    hold_leases,
    lease_path,
    verify_lease,
)

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _write_holder(folder, **changes) -> LeaseHolder:
    values = dict(
        owner="other-host:4242:abcd",
        host="other-host",
        pid=4242,
        command="python -m pipeline run",
        started_at=NOW.isoformat(),
        heartbeat_at=NOW.isoformat(),
        expires_at=(NOW + dt.timedelta(minutes=1)).isoformat(),
    )
    holder = LeaseHolder(**{**values, **changes})
    (folder / LEASE_FILE).write_bytes(holder.to_bytes())
    return holder


def test_a_second_acquire_is_refused_and_names_the_holder(tmp_path):
    store = LocalLeaseStore(lease_path(str(tmp_path)))
    first = acquire(store, "python -m pipeline run")
    try:
        with pytest.raises(LeaseHeld) as refused:
            acquire(LocalLeaseStore(lease_path(str(tmp_path))), "python -m pipeline watch")
        message = str(refused.value)
        assert first.owner in message and f"pid {first.holder.pid}" in message and "python -m pipeline run" in message
    finally:
        first.release()
    again = acquire(store)  # released: free
    again.release()


def test_a_live_lease_of_another_host_is_respected_until_it_expires(tmp_path):
    _write_holder(tmp_path)
    store = LocalLeaseStore(lease_path(str(tmp_path)))
    with pytest.raises(LeaseHeld, match="other-host"):
        acquire(store, now=NOW + dt.timedelta(seconds=59))
    taken = acquire(store, now=NOW + dt.timedelta(seconds=61))  # expired: a dead or hung holder
    assert json.loads((tmp_path / LEASE_FILE).read_text())["owner"] == taken.owner
    taken.release()


def test_the_lease_of_a_killed_process_on_this_host_is_taken_over_at_once(tmp_path):
    import socket

    _write_holder(
        tmp_path, host=socket.gethostname(), pid=_dead_pid(), expires_at=(NOW + dt.timedelta(days=1)).isoformat()
    )
    taken = acquire(LocalLeaseStore(lease_path(str(tmp_path))), now=NOW)
    taken.release()


def test_a_torn_lease_file_is_free(tmp_path):
    (tmp_path / LEASE_FILE).write_text('{"owner": "half')
    acquire(LocalLeaseStore(lease_path(str(tmp_path)))).release()


def test_racing_acquirers_get_exactly_one_lease(tmp_path):
    store_path = lease_path(str(tmp_path))
    won, refused, start = [], [], threading.Barrier(8)

    def contend() -> None:
        start.wait()
        try:
            won.append(acquire(LocalLeaseStore(store_path)))
        except LeaseHeld:
            refused.append(1)

    threads = [threading.Thread(target=contend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(won), len(refused)) == (1, 7)
    won[0].release()


def test_heartbeat_renews_and_a_taken_over_lease_is_lost_and_fails_the_commit_check(tmp_path):
    lease = acquire(LocalLeaseStore(lease_path(str(tmp_path))))
    before = lease.holder.expires_at
    assert lease.renew(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5))
    assert json.loads((tmp_path / LEASE_FILE).read_text())["expires_at"] > before
    verify_lease(str(tmp_path), lease.owner)
    _write_holder(tmp_path)  # someone took it over (say our heartbeats stalled past the expiry)
    assert not lease.renew()
    assert lease.lost
    with pytest.raises(LeaseLost, match="other-host"):
        verify_lease(str(tmp_path), lease.owner)
    lease.release()  # leaves the new holder's lease alone
    assert json.loads((tmp_path / LEASE_FILE).read_text())["owner"] == "other-host:4242:abcd"


def test_hold_leases_covers_a_separate_state_store_with_one_owner_and_is_all_or_nothing(tmp_path):
    output, state, elsewhere = tmp_path / "out", tmp_path / "state", tmp_path / "other"
    output.mkdir()
    state.mkdir()
    with hold_leases([str(output), str(output / "_state"), str(state)]) as owner:
        assert not (output / "_state" / LEASE_FILE).exists()  # inside the output: covered by its lease
        for folder in (output, state):
            verify_lease(str(folder), owner)
        with pytest.raises(LeaseHeld):  # a second run on another output but the same state store
            with hold_leases([str(elsewhere), str(state)]):
                pass
        assert not elsewhere.exists()  # given back, and the folder it created for nothing removed
    for folder in (output, state):
        assert json.loads((folder / LEASE_FILE).read_text())["released_at"]


def test_a_folder_created_for_the_lease_is_removed_when_the_run_wrote_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with hold_leases([str(tmp_path / "out")]):
            raise RuntimeError("the input matched nothing")
    assert list(tmp_path.iterdir()) == []
    with hold_leases([str(tmp_path / "kept")]):
        (tmp_path / "kept" / "articles").mkdir()
    assert (tmp_path / "kept" / LEASE_FILE).exists()
