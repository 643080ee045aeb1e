'use strict'
// The Node.js side of make bench-peers: npm write-file-atomic, driven by bench/peers/run.py over
// the line protocol described in bench/peers/peers_c.c (load, write, timed, loop, quit).
//
//   wfa          await writeFileAtomic(path, buffer): its defaults, fsync of the temp, no
//                directory fsync; the promise API, the one its README leads with
//   wfa-nofsync  the same with { fsync: false }
//   wfa-sync     writeFileAtomic.sync(path, buffer): the same steps with blocking calls, no
//                event loop or thread pool in between
//   wfa-sync-nofsync  the same with { fsync: false }
//
// The module is found through NODE_PATH (build/bench-peers/node_modules, installed by npm ci
// from bench/peers/package-lock.json). Timing is taken here, around the writes only.

const fs = require('fs')
const readline = require('readline')

let writeFileAtomic = null
let loadError = null
try {
  writeFileAtomic = require('write-file-atomic')
} catch (e) {
  loadError = e
}

function writer (variant) {
  if (writeFileAtomic === null) {
    throw new Error('write-file-atomic is not installed: ' + loadError.message)
  }
  if (variant === 'wfa') return (path, data) => writeFileAtomic(path, data)
  if (variant === 'wfa-nofsync') {
    return (path, data) => writeFileAtomic(path, data, { fsync: false })
  }
  if (variant === 'wfa-sync') return (path, data) => writeFileAtomic.sync(path, data)
  if (variant === 'wfa-sync-nofsync') {
    return (path, data) => writeFileAtomic.sync(path, data, { fsync: false })
  }
  throw new Error('unknown variant ' + variant)
}

let payloads = []

async function run (words) {
  const [cmd, ...args] = words
  if (cmd === 'load') {
    payloads = args.map((name) => fs.readFileSync(name))
    if (payloads.length === 0) throw new Error('load: no file')
    return 'ok ' + payloads[0].length
  }
  if (cmd !== 'write' && cmd !== 'timed' && cmd !== 'loop') {
    throw new Error('unknown command ' + cmd)
  }
  const [variant, path, count] = args
  const fn = writer(variant)
  const k = payloads.length
  if (k === 0) throw new Error('no payload loaded')
  if (cmd === 'write') {
    const n = Number(count)
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) await fn(path, payloads[i % k])
    return 'ok ' + (process.hrtime.bigint() - t0)
  }
  if (cmd === 'timed') {
    const deadline = process.hrtime.bigint() + BigInt(count) * 1000000n
    let i = 0
    while (process.hrtime.bigint() < deadline) await fn(path, payloads[i++ % k])
    return 'ok ' + i
  }
  process.stdout.write('ok started\n')
  for (let i = 0; ; i++) await fn(path, payloads[i % k])
}

async function main () {
  const rl = readline.createInterface({ input: process.stdin, terminal: false })
  for await (const line of rl) {
    const words = line.trim().split(/\s+/).filter((w) => w.length > 0)
    if (words.length === 0) continue
    if (words[0] === 'quit') break
    let reply
    try {
      reply = await run(words)
    } catch (e) {
      // One failed command must not end the worker.
      reply = 'err ' + String(e.message).replace(/\n/g, ' ')
    }
    process.stdout.write(reply + '\n')
  }
  rl.close()
}

main()
