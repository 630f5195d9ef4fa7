"""Compressed produce: batches compressed with gzip, snappy, lz4 and zstd by librdkafka (through
confluent-kafka and through kcat), and with gzip by kafka-python and kafkajs (their only built-in
codec), are stored as sent and read back intact by a consumer.

The segment files are inspected too: every stored batch must carry the codec the producer used,
otherwise this test would pass vacuously if a client silently sent uncompressed batches (or the
broker re-encoded them).
"""

import pytest

from kcat_client import Kcat
from kafkajs_client import Kafkajs
from py_clients import Confluent, KafkaPython, create_topic_confluent
from segments import CODECS, batch_headers, segment_files
from workload import PARTITIONS, check_acks_match, check_readback, keyed_records

COUNT = 2_000


CASES = [(p, c) for p in ("confluent-kafka", "kcat") for c in ("gzip", "snappy", "lz4", "zstd")]
CASES += [("kafka-python", "gzip"), ("kafkajs", "gzip")]


@pytest.mark.parametrize("producer,codec", CASES)
def test_compressed_produce_reads_back(server, producer, codec):
    topic = f"compressed-{producer}-{codec}"
    create_topic_confluent(server.bootstrap, topic, PARTITIONS)
    # Repetitive values compress well, so librdkafka never falls back to sending them uncompressed.
    produced = keyed_records(f"{codec}-{'sluice' * 20}", count=COUNT)
    if producer == "kcat":
        acked = Kcat(server.bootstrap).produce(topic, produced, compression=codec)
    elif producer == "confluent-kafka":
        acked = Confluent(server.bootstrap).produce(topic, produced, **{"compression.type": codec})
    elif producer == "kafka-python":
        acked = KafkaPython(server.bootstrap).produce(topic, produced, compression=codec)
    else:
        acked = Kafkajs(server.bootstrap).produce(topic, produced, compression=codec)

    consumed = Confluent(server.bootstrap).read_all(topic, PARTITIONS, COUNT)
    check_readback(produced, consumed)
    if acked is not None:
        check_acks_match(produced, acked, consumed)

    batches = [h for p in range(PARTITIONS) for seg in segment_files(server.data_dir, topic, p) for h in batch_headers(seg)]
    assert batches, "no batches found in the segment files"
    codecs = {h.codec for h in batches}
    assert codecs == {CODECS[codec]}, f"stored batches have codecs {codecs}, the producer used {codec} ({CODECS[codec]})"
