"""A consume-transform-produce worker with confluent-kafka transactions, run as its own process by
test_transactions.py so that the test can SIGKILL it (or the server under it) mid-transaction.

    python txn_worker.py BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID TOTAL BATCH [--stall-at N]

It reads INPUT (read_committed, from the group's committed offsets), writes each record to OUTPUT
with its value upper-cased, and commits every BATCH input records in one transaction together
with the consumed offsets (send_offsets_to_transaction). It exits 0 once the group's committed
offsets cover TOTAL input records. With --stall-at N it produces the N-th transaction's records,
flushes them, prints "stalled" and waits for --resume-file to appear (or forever), then commits:
the test kills it (or the server) while the transaction is open.
Exit codes: 0 done, 3 fatal Kafka error (the test starts a new worker, as an application would).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import confluent_kafka
from confluent_kafka import KafkaException, TopicPartition


def main() -> int:
    ap = argparse.ArgumentParser()
    for name in ("bootstrap", "input", "output", "group", "txn_id"):
        ap.add_argument(name)
    ap.add_argument("total", type=int)
    ap.add_argument("batch", type=int)
    ap.add_argument("--partitions", type=int, default=2)
    ap.add_argument("--stall-at", type=int, default=0)
    ap.add_argument("--resume-file", default="")
    args = ap.parse_args()

    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )
    producer = confluent_kafka.Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "transactional.id": args.txn_id,
            "transaction.timeout.ms": 60000,
            "linger.ms": 5,
        }
    )
    producer.init_transactions(60)
    parts = [TopicPartition(args.input, p) for p in range(args.partitions)]
    committed = consumer.committed(parts, timeout=30)
    start = [TopicPartition(args.input, tp.partition, tp.offset if tp.offset >= 0 else confluent_kafka.OFFSET_BEGINNING) for tp in committed]
    consumer.assign(start)
    done = sum(max(tp.offset, 0) for tp in committed)
    print(f"resuming at {done}", flush=True)
    txns = 0
    while done < args.total:
        msgs = []
        deadline = time.monotonic() + 60
        while len(msgs) < min(args.batch, args.total - done):
            if time.monotonic() > deadline:
                print(f"no input: {len(msgs)} of {args.batch}", flush=True)
                return 4
            for m in consumer.consume(num_messages=args.batch - len(msgs), timeout=0.5):
                if m.error() is not None:
                    raise KafkaException(m.error())
                msgs.append(m)
        try:
            producer.begin_transaction()
            for m in msgs:
                producer.produce(args.output, key=m.key(), value=m.value().upper(), partition=m.partition())
            positions = consumer.position(consumer.assignment())
            producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 30)
            txns += 1
            if txns == args.stall_at:
                producer.flush(30)
                print("stalled", flush=True)
                while not (args.resume_file and os.path.exists(args.resume_file)):
                    time.sleep(0.05)
            producer.commit_transaction(60)
        except KafkaException as e:
            err = e.args[0]
            print(f"transaction failed: {err}", flush=True)
            if err.txn_requires_abort():
                producer.abort_transaction(60)
                # Rewind to what the group committed and redo the batch.
                committed = consumer.committed(parts, timeout=30)
                for tp in committed:
                    consumer.seek(TopicPartition(args.input, tp.partition, tp.offset if tp.offset >= 0 else confluent_kafka.OFFSET_BEGINNING))
                continue
            return 3
        done += len(msgs)
        print(f"committed {done}", flush=True)
    consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
