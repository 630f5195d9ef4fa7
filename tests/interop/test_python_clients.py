"""confluent-kafka (librdkafka) and kafka-python against a real `sluice server`.

Each client produces RECORDS keyed records to a 3-partition topic with acks=all and an idempotent
producer, reads them all back (each exactly once, on its murmur2 partition, in order, where the
broker said it put it), and runs a consumer group of two members that splits the partitions and
resumes from its committed offsets after both members were restarted.
"""

import pytest

import scenarios
from py_clients import Confluent, KafkaPython

CLIENTS = {"confluent-kafka": Confluent, "kafka-python": KafkaPython}


@pytest.mark.parametrize("client_name", CLIENTS)
def test_keyed_produce_and_read_back(server, client_name):
    client = CLIENTS[client_name](server.bootstrap)
    scenarios.produce_and_read_back(client, topic=f"roundtrip-{client_name}")


@pytest.mark.parametrize("client_name", CLIENTS)
def test_consumer_group_splits_partitions_and_resumes_from_committed_offsets(server, client_name):
    client = CLIENTS[client_name](server.bootstrap)
    scenarios.group_splits_and_resumes(client, server.bootstrap, topic=f"group-{client_name}", group=f"g-{client_name}")
