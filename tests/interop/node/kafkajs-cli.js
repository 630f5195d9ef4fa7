#!/usr/bin/env node
// kafkajs as a small command-line client, driven by tests/interop/kafkajs_client.py.
//
// The Python suite owns the scenarios and the checks; this script only speaks Kafka through
// kafkajs and prints what it saw, one line per record ("R\t<partition>\t<offset>\t<key>\t<value>")
// or one JSON line per event, so the same checks apply to every client.
//
//   kafkajs-cli.js create  <bootstrap> <topic> <partitions>
//   kafkajs-cli.js produce <bootstrap> <topic> [gzip]     stdin: "<key>\t<value>" lines;
//                                                        stdout: JSON [[partition, offset], ...]
//   kafkajs-cli.js readall <bootstrap> <topic> <expected>  prints R lines, exits after <expected>
//   kafkajs-cli.js member  <bootstrap> <topic> <group>     group member until SIGTERM; prints
//                                                        {"assigned":[...]} on every (re)assignment

'use strict'

const { Kafka, Partitioners, CompressionTypes, logLevel } = require('kafkajs')

const BATCH = 500
const TIMEOUT_MS = 120000

function kafka(bootstrap) {
  return new Kafka({
    clientId: 'sluice-interop-kafkajs',
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    connectionTimeout: 10000,
    requestTimeout: 30000,
    retry: { retries: 8 },
  })
}

async function readStdinLines() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8').split('\n').filter((l) => l.length > 0)
}

async function create(bootstrap, topic, partitions) {
  const admin = kafka(bootstrap).admin()
  await admin.connect()
  try {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: Number(partitions), replicationFactor: 1 }],
      waitForLeaders: true,
      timeout: TIMEOUT_MS,
    })
    if (!created) throw new Error(`topic ${topic} already existed`)
  } finally {
    await admin.disconnect()
  }
}

async function produce(bootstrap, topic, codec = 'none') {
  const compression = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP }[codec]
  if (compression === undefined) throw new Error(`kafkajs has no built-in codec ${codec}`)
  const messages = (await readStdinLines()).map((line) => {
    const tab = line.indexOf('\t')
    return { key: line.slice(0, tab), value: line.slice(tab + 1) }
  })
  const client = kafka(bootstrap)
  // DefaultPartitioner is kafkajs's Java-compatible murmur2 partitioner.
  const producer = client.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  })
  const admin = client.admin()
  await Promise.all([producer.connect(), admin.connect()])
  try {
    // A second instance of the same partitioner tells which partition each record went to, so the
    // per-partition base offsets in the produce responses give every record's acknowledged offset.
    const meta = await admin.fetchTopicMetadata({ topics: [topic] })
    const partitionMetadata = meta.topics[0].partitions
    const partitioner = Partitioners.DefaultPartitioner()
    const acked = []
    for (let start = 0; start < messages.length; start += BATCH) {
      const batch = messages.slice(start, start + BATCH)
      const results = await producer.send({ topic, messages: batch, acks: -1, timeout: TIMEOUT_MS, compression })
      const base = {}
      for (const r of results) {
        if (r.errorCode !== 0) throw new Error(`produce to partition ${r.partition} failed with error ${r.errorCode}`)
        base[r.partition] = BigInt(r.baseOffset)
      }
      const seen = {}
      for (const message of batch) {
        const p = partitioner({ topic, partitionMetadata, message })
        const rank = seen[p] || 0
        seen[p] = rank + 1
        acked.push([p, Number(base[p] + BigInt(rank))])
      }
    }
    process.stdout.write(JSON.stringify(acked) + '\n')
  } finally {
    await Promise.all([producer.disconnect(), admin.disconnect()])
  }
}

function printBatch(batch) {
  const lines = batch.messages.map(
    (m) => `R\t${batch.partition}\t${m.offset}\t${m.key ? m.key.toString() : ''}\t${m.value ? m.value.toString() : ''}\n`,
  )
  process.stdout.write(lines.join(''))
  return lines.length
}

async function readall(bootstrap, topic, expected) {
  // kafkajs has no manual assignment: a fresh group reading from the beginning sees every partition.
  const consumer = kafka(bootstrap).consumer({ groupId: `readall-${topic}-${process.pid}` })
  await consumer.connect()
  let count = 0
  let done
  const finished = new Promise((resolve) => (done = resolve))
  const timer = setTimeout(() => done(new Error(`read ${count} of ${expected} records in ${TIMEOUT_MS} ms`)), TIMEOUT_MS)
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      count += printBatch(batch)
      if (count >= Number(expected)) done()
    },
  })
  const error = await finished
  clearTimeout(timer)
  await consumer.disconnect()
  if (error) throw error
}

async function member(bootstrap, topic, group) {
  // Listen first: a SIGTERM during connect must also end in a clean disconnect.
  const stopped = new Promise((resolve) => process.once('SIGTERM', resolve))
  const consumer = kafka(bootstrap).consumer({ groupId: group, sessionTimeout: 10000, heartbeatInterval: 500 })
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const assigned = e.payload.memberAssignment[topic] || []
    process.stdout.write(JSON.stringify({ assigned }) + '\n')
  })
  consumer.on(consumer.events.REBALANCING, () => process.stdout.write(JSON.stringify({ assigned: [] }) + '\n'))
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      if (batch.messages.length === 0) return
      printBatch(batch)
      const next = (BigInt(batch.lastOffset()) + 1n).toString()
      await consumer.commitOffsets([{ topic, partition: batch.partition, offset: next }])
    },
  })
  await stopped
  await consumer.disconnect()
}

const commands = { create, produce, readall, member }

async function main() {
  const [command, ...args] = process.argv.slice(2)
  const run = commands[command]
  if (!run) throw new Error(`usage: kafkajs-cli.js ${Object.keys(commands).join('|')} ...`)
  await run(...args)
}

// stdout to a pipe is asynchronous: wait until everything written has been handed to the OS.
const flushed = () => new Promise((resolve) => process.stdout.write('', resolve))

main().then(
  () => flushed().then(() => process.exit(0)),
  (err) => {
    process.stderr.write(`kafkajs-cli: ${err && err.stack ? err.stack : err}\n`)
    process.exit(1)
  },
)
