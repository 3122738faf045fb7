// One IPFS peer (Helia) on loopback with a small HTTP control API for the Python side (oracle/cas/peer.py).
//
//   node ipfs/peer.mjs --repo DIR [--api-port 0] [--swarm-port 0] [--max-bytes N]
//
// libp2p listens on TCP 127.0.0.1 only, with no DHT, no bootstrap list, no mDNS and a connection gater that
// refuses to dial anything but loopback: the peer talks only to peers it is told to connect to. Blocks live in
// DIR/blocks and the peer's key in DIR/peer.key, so a restarted peer keeps its id and its content.
// Files are added as UnixFS with CIDv1, raw leaves, 262144-byte fixed chunks and a balanced layout of at most 174
// children per node (what `ipfs add --cid-version 1 --raw-leaves` makes; oracle/cas/unixfs.py computes the same
// CIDs in Python). When it is listening it prints one line: IPFS-PEER-READY {"peerId", "apiPort", "addrs"}.
//
// Control API (loopback Host headers only; every body bounded):
//   POST /add                 body = the bytes; answers {"cid", "bytes"}; the content is pinned
//   GET  /cat/{cid}           the file's bytes, fetched over bitswap from connected peers if missing;
//                             ?timeout_ms= (default 15000), ?max_bytes= (default and cap --max-bytes); ?pin=1 pins it
//   GET  /has/{cid}           {"has": bool}: the whole file is in the local blockstore
//   POST /pin/{cid}           pin (fetching what is missing); DELETE /pin/{cid} unpins; GET says {"pinned"}
//   GET  /id                  {"peerId", "addrs"}
//   POST /connect             body {"addr": "/ip4/127.0.0.1/tcp/N/p2p/12D3..."}
//   GET  /ipfs/{cid}?format=raw   one raw block from the local blockstore (trustless-gateway style)

import { createServer } from 'node:http'
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { createHeliaLight } from 'helia'
import { withLibp2pLight } from '@helia/libp2p'
import { withBitswap } from '@helia/bitswap'
import { unixfs } from '@helia/unixfs'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { FsBlockstore } from 'blockstore-fs'
import { FsDatastore } from 'datastore-fs'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { CID } from 'multiformats/cid'

const CHUNK_BYTES = 262144
const MAX_CHILDREN = 174
const DEFAULT_CAT_TIMEOUT_MS = 15000
const MAX_CAT_TIMEOUT_MS = 120000
const MAX_JSON_BODY = 4096
const MAX_BLOCK_BYTES = 2 * 1024 * 1024
// answer a want-have with the block itself for blocks up to a chunk: one round trip per block instead of two
const REPLACE_HAVE_WITH_BLOCK_BYTES = CHUNK_BYTES
const RAW_BLOCK_TYPE = 'application/vnd.ipld.raw'

const { values: args } = parseArgs({
  options: {
    repo: { type: 'string' },
    'api-port': { type: 'string', default: '0' },
    'swarm-port': { type: 'string', default: '0' },
    'max-bytes': { type: 'string', default: String(16 * 1024 * 1024) }
  }
})
if (!args.repo) {
  console.error('usage: peer.mjs --repo DIR [--api-port N] [--swarm-port N] [--max-bytes N]')
  process.exit(2)
}
const MAX_BYTES = Number(args['max-bytes'])

class HttpError extends Error {
  constructor (status, message) {
    super(message)
    this.status = status
  }
}

function isLoopbackAddr (ma) {
  const text = ma.toString()
  return text.startsWith('/ip4/127.') || text.startsWith('/ip6/::1/')
}

async function loadKey (path) {
  if (existsSync(path)) return privateKeyFromProtobuf(readFileSync(path))
  const key = await generateKeyPair('Ed25519')
  writeFileSync(path, privateKeyToProtobuf(key), { mode: 0o600 })
  return key
}

mkdirSync(args.repo, { recursive: true })
const blockstore = new FsBlockstore(join(args.repo, 'blocks'))
const datastore = new FsDatastore(join(args.repo, 'data'))
await blockstore.open()
await datastore.open()
const privateKey = await loadKey(join(args.repo, 'peer.key'))

const helia = withBitswap(withLibp2pLight(createHeliaLight({ blockstore, datastore }), {
  privateKey,
  addresses: { listen: [`/ip4/127.0.0.1/tcp/${Number(args['swarm-port'])}`] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  peerDiscovery: [],
  services: { identify: identify() },
  connectionGater: {
    denyDialMultiaddr: async (ma) => !isLoopbackAddr(ma)
  }
}), { maxSizeReplaceHasWithBlock: REPLACE_HAVE_WITH_BLOCK_BYTES })
await helia.start()
const fs = unixfs(helia)

function parseCid (text) {
  try {
    return CID.parse(text)
  } catch (err) {
    throw new HttpError(400, `not a CID: ${String(text).slice(0, 100)}`)
  }
}

async function readBody (req, limit) {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw new HttpError(413, `body of ${declared} bytes is over the limit of ${limit}`)
  const parts = []
  let size = 0
  for await (const part of req) {
    size += part.length
    if (size > limit) throw new HttpError(413, `body is over the limit of ${limit} bytes`)
    parts.push(part)
  }
  return Buffer.concat(parts)
}

async function drain (iterable) {
  for await (const _ of iterable) { /* consume */ } // eslint-disable-line no-unused-vars
}

function boundedInt (text, fallback, max) {
  if (text == null) return fallback
  const value = Number(text)
  if (!Number.isInteger(value) || value <= 0) throw new HttpError(400, `expected a positive integer, got ${text}`)
  return Math.min(value, max)
}

async function catBytes (cid, { timeoutMs, maxBytes, offline = false }) {
  const parts = []
  let size = 0
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    for await (const part of fs.cat(cid, { signal, offline })) {
      size += part.length
      if (size > maxBytes) throw new HttpError(413, `content ${cid} is over the limit of ${maxBytes} bytes`)
      parts.push(part)
    }
  } catch (err) {
    if (err instanceof HttpError) throw err
    if (signal.aborted) throw new HttpError(504, `content ${cid} not found on connected peers within ${timeoutMs} ms`)
    if (offline) throw new HttpError(404, `content ${cid} is not complete in this peer`)
    throw new HttpError(502, `content ${cid} could not be read: ${err.message}`)
  }
  return Buffer.concat(parts)
}

function json (res, status, body) {
  const data = Buffer.from(JSON.stringify(body))
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': data.length })
  res.end(data)
}

function allowedHost (host, port) {
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(String(host ?? '').toLowerCase())
}

let apiPort = 0

async function handle (req, res) {
  if (!allowedHost(req.headers.host, apiPort)) throw new HttpError(403, 'only loopback Host headers are served')
  const url = new URL(req.url, `http://127.0.0.1:${apiPort}`)
  const [, route, arg, ...rest] = url.pathname.split('/')
  if (rest.length) throw new HttpError(404, 'no such route')
  const method = req.method
  if (method === 'POST' && route === 'add' && arg === undefined) {
    const data = await readBody(req, MAX_BYTES)
    const cid = await fs.addBytes(data, {
      cidVersion: 1,
      rawLeaves: true,
      chunker: fixedSize({ chunkSize: CHUNK_BYTES }),
      layout: balanced({ maxChildrenPerNode: MAX_CHILDREN })
    })
    if (!(await helia.pins.isPinned(cid))) await drain(helia.pins.add(cid))
    return json(res, 200, { cid: cid.toString(), bytes: data.length })
  }
  if (method === 'GET' && route === 'cat' && arg) {
    const cid = parseCid(arg)
    const timeoutMs = boundedInt(url.searchParams.get('timeout_ms'), DEFAULT_CAT_TIMEOUT_MS, MAX_CAT_TIMEOUT_MS)
    const maxBytes = boundedInt(url.searchParams.get('max_bytes'), MAX_BYTES, MAX_BYTES)
    const data = await catBytes(cid, { timeoutMs, maxBytes })
    if (url.searchParams.get('pin') === '1' && !(await helia.pins.isPinned(cid))) await drain(helia.pins.add(cid))
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length })
    return res.end(data)
  }
  if (method === 'GET' && route === 'has' && arg) {
    const cid = parseCid(arg)
    if (await helia.pins.isPinned(cid)) return json(res, 200, { has: true })
    try {
      await catBytes(cid, { timeoutMs: DEFAULT_CAT_TIMEOUT_MS, maxBytes: MAX_BYTES, offline: true })
      return json(res, 200, { has: true })
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return json(res, 200, { has: false })
      throw err
    }
  }
  if (method === 'GET' && route === 'pin' && arg) {
    const cid = parseCid(arg)
    return json(res, 200, { cid: cid.toString(), pinned: await helia.pins.isPinned(cid) })
  }
  if (route === 'pin' && arg && (method === 'POST' || method === 'DELETE')) {
    const cid = parseCid(arg)
    const pinned = await helia.pins.isPinned(cid)
    if (method === 'POST' && !pinned) await drain(helia.pins.add(cid, { signal: AbortSignal.timeout(MAX_CAT_TIMEOUT_MS) }))
    if (method === 'DELETE' && pinned) await drain(helia.pins.rm(cid))
    return json(res, 200, { cid: cid.toString(), pinned: method === 'POST' })
  }
  if (method === 'GET' && route === 'id' && arg === undefined) {
    return json(res, 200, { peerId: helia.libp2p.peerId.toString(), addrs: helia.libp2p.getMultiaddrs().map(String) })
  }
  if (method === 'POST' && route === 'connect' && arg === undefined) {
    let addr
    try {
      addr = multiaddr(JSON.parse((await readBody(req, MAX_JSON_BODY)).toString('utf8')).addr)
    } catch (err) {
      if (err instanceof HttpError) throw err
      throw new HttpError(400, 'body must be JSON {"addr": "<multiaddr with /p2p/ peer id>"}')
    }
    if (!isLoopbackAddr(addr)) throw new HttpError(400, 'this peer dials loopback addresses only')
    try {
      await helia.libp2p.dial(addr, { signal: AbortSignal.timeout(10000) })
    } catch (err) {
      throw new HttpError(502, `could not connect to ${addr}: ${err.message}`)
    }
    return json(res, 200, { connected: addr.toString() })
  }
  if (method === 'GET' && route === 'ipfs' && arg) {
    const cid = parseCid(arg)
    const accept = String(req.headers.accept ?? '')
    if (url.searchParams.get('format') !== 'raw' && !accept.includes(RAW_BLOCK_TYPE)) {
      throw new HttpError(406, `only raw blocks are served: ask with ?format=raw or Accept: ${RAW_BLOCK_TYPE}`)
    }
    let block
    try {
      block = await helia.blockstore.get(cid, { offline: true })
    } catch (err) {
      throw new HttpError(404, `block ${cid} is not in this peer`)
    }
    if (typeof block?.[Symbol.asyncIterator] === 'function') {
      const parts = []
      for await (const part of block) parts.push(part)
      block = Buffer.concat(parts)
    }
    if (block.length > MAX_BLOCK_BYTES) throw new HttpError(413, `block ${cid} is over ${MAX_BLOCK_BYTES} bytes`)
    res.writeHead(200, {
      'Content-Type': RAW_BLOCK_TYPE,
      'Content-Length': block.length,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'public, max-age=29030400, immutable'
    })
    return res.end(block)
  }
  throw new HttpError(404, 'no such route')
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    const status = err instanceof HttpError ? err.status : 500
    if (status === 500) console.error('peer: unexpected error', err)
    if (res.headersSent) return res.destroy()
    json(res, status, { error: err.message })
    req.resume()
  })
})
server.requestTimeout = 130000
server.listen(Number(args['api-port']), '127.0.0.1', () => {
  apiPort = server.address().port
  const ready = { peerId: helia.libp2p.peerId.toString(), apiPort, addrs: helia.libp2p.getMultiaddrs().map(String) }
  console.log(`IPFS-PEER-READY ${JSON.stringify(ready)}`)
})

async function shutdown () {
  server.close()
  try {
    await helia.stop()
  } finally {
    process.exit(0)
  }
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
// the parent (oracle/cas/peer.py) closes our stdin when it goes away: stop with it, so no peer outlives it
process.stdin.on('end', shutdown)
process.stdin.resume()
