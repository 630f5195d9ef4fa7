// node-postgres (`pg`) against a running Sluice server, driven by tests/interop/test_pg_drivers.py.
//
// Usage: node pg-drivers.js PORT
// Runs a prepared statement with parameters, then reads a push query row by row (simple-protocol
// row events) and cancels it with a CancelRequest, then reads a push query two rows at a time
// with pg-cursor (Execute with a row count: the portal is suspended between reads); prints one
// JSON object with what it saw.
'use strict';

const { Client, Query } = require('pg');
const Cursor = require('pg-cursor');

const port = Number(process.argv[2]);
const config = { host: '127.0.0.1', port, user: 'sluice', database: 'sluice' };

async function main() {
  const client = new Client(config);
  const other = new Client(config);
  await client.connect();
  await other.connect();
  const out = {};

  await client.query(
    "CREATE STREAM orders (id STRING KEY, amount DOUBLE, item STRING) " +
      "WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1)",
  );
  for (const [id, amount, item] of [['a', 10.5, 'pen'], ['b', 250.0, 'desk'], ['c', 99.0, 'ink']]) {
    await client.query({
      name: 'insert-order',
      text: 'INSERT INTO orders (id, amount, item) VALUES ($1, $2, $3)',
      values: [id, amount, item],
    });
  }
  const selected = await client.query({
    name: 'big-orders',
    text: 'SELECT id, amount FROM orders WHERE amount > $1',
    values: [50],
  });
  out.prepared = selected.rows.map((r) => [r.ID, r.AMOUNT]).sort();

  await client.query("SET 'auto.offset.reset'='earliest'");
  const push = new Query('SELECT id FROM orders EMIT CHANGES');
  const rows = [];
  const ended = new Promise((resolve) => {
    push.on('row', (row) => {
      rows.push(row.ID);
      if (rows.length === 3) {
        // While it runs, SHOW QUERIES lists it; then a row produced meanwhile arrives too.
        other
          .query('SHOW QUERIES')
          .then((shown) => {
            out.queries_during = shown.rows;
            return other.query("INSERT INTO orders (id, amount, item) VALUES ('d', 1.0, 'lamp')");
          })
          .catch((err) => {
            out.queries_during = [{ error: String(err) }];
          });
      }
      if (rows.length === 4) {
        // A CancelRequest on a connection of its own, with this backend's key.
        new Client(config).cancel(client, push);
      }
    });
    push.on('error', (err) => resolve({ code: err.code, message: err.message }));
    push.on('end', () => resolve({ code: null, message: 'ended without an error' }));
  });
  client.query(push);
  out.cancel = await ended;
  out.rows = rows;

  // pg-cursor: Parse, Bind, Describe(portal), then Execute(2) + Flush per read; the push query
  // keeps running between reads, and a row inserted meanwhile comes with a later read.
  const cursor = client.query(
    new Cursor('SELECT id FROM orders WHERE amount > $1 EMIT CHANGES', [0]),
  );
  out.cursor = [];
  out.cursor.push((await cursor.read(2)).map((r) => r.ID));
  out.cursor.push((await cursor.read(2)).map((r) => r.ID));
  await other.query("INSERT INTO orders (id, amount, item) VALUES ('e', 5.0, 'cup')");
  out.cursor.push((await cursor.read(1)).map((r) => r.ID));
  // Close (and Sync) stops the query; the connection goes on.
  await cursor.close();

  const streams = await client.query('SHOW STREAMS');
  out.streams_after = streams.rows.map((r) => Object.values(r)[0]);
  const queries = await other.query('SHOW QUERIES');
  out.queries_after = queries.rows;
  await client.end();
  await other.end();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
