"""kcat (librdkafka's CLI) and kafkajs (pure JavaScript) against a real `sluice server`.

The same scenarios as test_python_clients.py: RECORDS keyed records to a 3-partition topic read back
exactly once on their murmur2 partitions, and a two-member consumer group that splits the
partitions and resumes from committed offsets after a restart of both members.
"""

import pytest

import scenarios
from kafkajs_client import Kafkajs
from kcat_client import Kcat

CLIENTS = {"kcat": Kcat, "kafkajs": Kafkajs}


@pytest.mark.parametrize("client_name", CLIENTS)
def test_keyed_produce_and_read_back(server, client_name):
    client = CLIENTS[client_name](server.bootstrap)
    scenarios.produce_and_read_back(client, topic=f"roundtrip-{client_name}")


@pytest.mark.parametrize("client_name", CLIENTS)
def test_consumer_group_splits_partitions_and_resumes_from_committed_offsets(server, client_name):
    client = CLIENTS[client_name](server.bootstrap)
    scenarios.group_splits_and_resumes(client, server.bootstrap, topic=f"group-{client_name}", group=f"g-{client_name}")
