"""A group member that dies without leaving (SIGKILL, no LeaveGroup) is expelled when its session
times out, and the surviving member takes over its partitions from the committed offsets: nothing
produced after the crash is lost. Records the dead member had consumed but not yet committed may be
delivered again, as in Kafka (at-least-once), so only the records produced after the kill are held
to exactly-once.
"""

from __future__ import annotations

import signal

from kcat_client import Kcat, KcatMember
from sluice_harness import wait_until
from workload import PARTITIONS, check_group_split, keyed_records

# kcat members use session.timeout.ms=10000: expulsion comes within that, plus a rebalance.
TAKEOVER_TIMEOUT_S = 90.0


def drain(members, into: list) -> None:
    for m in members:
        into.extend(m.poll())


def test_survivor_takes_over_partitions_of_a_killed_member(server):
    kcat = Kcat(server.bootstrap)
    kcat.create_topic("failover", PARTITIONS)
    victim, survivor = KcatMember(server.bootstrap, "failover", "fo"), KcatMember(server.bootstrap, "failover", "fo")
    members = [victim, survivor]
    try:
        seen: list = []

        def split():
            drain(members, seen)
            try:
                check_group_split([m.assignment() for m in members])
                return True
            except AssertionError:
                return False

        wait_until("two kcat members to share the partitions", split, timeout_s=TAKEOVER_TIMEOUT_S)
        victim_partitions = victim.assignment()

        before = keyed_records("before", count=3_000)
        kcat.produce("failover", before)
        wait_until("the group to consume the first records", lambda: drain(members, seen) or len(seen) >= len(before), timeout_s=TAKEOVER_TIMEOUT_S)

        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(timeout=30)

        after = keyed_records("after", count=1_000, start=3_000)
        kcat.produce("failover", after)
        survivor_seen: list = []

        def survivor_has_all():
            survivor_seen.extend(survivor.poll())
            return {c.value for c in survivor_seen} >= {v for _, v in after}

        wait_until(f"the survivor to take over partitions {sorted(victim_partitions)} and read every new record", survivor_has_all, timeout_s=TAKEOVER_TIMEOUT_S)
        assert survivor.assignment() == set(range(PARTITIONS))
        new = [c for c in survivor_seen if c.value.startswith(b"after-")]
        assert len(new) == len(after), f"{len(new) - len(after)} records produced after the kill were delivered twice"
    finally:
        for m in members:
            if m.process.poll() is None:
                m.commit_and_close()
