#!/usr/bin/env node
// An independent verifier of the hub's access-log export, written from docs/audit-log.md alone
// (and the public C2SP signed-note, tlog-checkpoint, tlog-cosignature specs and RFC 9162).
// Node.js built-in modules only.
//
//   node verify.mjs EXPORT_OR_PUBLISHED_DIR --key VERIFIER_KEY [--key ...] [--witness KEY ...] [--threshold K]
//                   [--checkpoint NOTE_FILE ...] [--proofs PROOFS_JSON]
//
// --proofs: a JSON file {"inclusion": [InclusionProof, ...], "consistency": [ConsistencyProof, ...]},
// each object as the GraphQL fields `inclusionProof` / `consistencyProof` answer it (all fields,
// with `note`, `treeSize` and `rootHash` of its checkpoints), checked against the export.
//
// stdout: `OK: ...` (exit 0), or `FAILED at entry <seq>: <what>` / `FAILED: <what>` (exit 1).
// Errors in the arguments exit 2.

import { createHash, createPublicKey, verify as edVerify } from "node:crypto";
import { readFileSync, existsSync, statSync } from "node:fs";

const EM_DASH = "\u2014";
const ENTRY_MEMBERS = [
  "action", "applicant", "client", "department", "fields", "materials", "object", "outcome",
  "principal", "purpose", "reason", "request", "role", "seq", "time",
];

class Failure extends Error {
  constructor(seq, what) {
    super(what);
    this.seq = seq; // null: not tied to an entry
  }
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------------- hashing

const sha256 = (...parts) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};
const LEAF = Buffer.from([0x00]);
const NODE = Buffer.from([0x01]);
const leafHash = (entryBytes) => sha256(LEAF, entryBytes);
const nodeHash = (left, right) => sha256(NODE, left, right);
const EMPTY_ROOT = sha256(Buffer.alloc(0));

// RFC 9162 2.1.1 MTH, recursively (proof checks and small trees only).
function mth(leaves, lo = 0, hi = leaves.length) {
  const n = hi - lo;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leaves[lo];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return nodeHash(mth(leaves, lo, lo + k), mth(leaves, lo + k, hi));
}

// A compact range from 0: the perfect subtrees of the tree so far, largest first.
class CompactRange {
  constructor() {
    this.stack = []; // [hash, height]
    this.size = 0;
  }
  append(hash) {
    let node = [hash, 0];
    while (this.stack.length && this.stack[this.stack.length - 1][1] === node[1]) {
      const [left, height] = this.stack.pop();
      node = [nodeHash(left, node[0]), height + 1];
    }
    this.stack.push(node);
    this.size += 1;
  }
  root() {
    if (this.stack.length === 0) return EMPTY_ROOT;
    let h = this.stack[this.stack.length - 1][0];
    for (let i = this.stack.length - 2; i >= 0; i--) h = nodeHash(this.stack[i][0], h);
    return h;
  }
}

// RFC 9162 2.1.3.2
function verifyInclusion(leafIndex, treeSize, leaf, path, root) {
  if (leafIndex >= treeSize) return false;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

// RFC 9162 2.1.4.2
function verifyConsistency(first, second, firstHash, secondHash, proof) {
  if (first > second) return false;
  if (first === second) return proof.length === 0 && firstHash.equals(secondHash);
  if (first === 0) return proof.length === 0; // the hub's convention: nothing to prove
  let path = proof.slice();
  if ((first & (first - 1)) === 0) path = [firstHash, ...path];
  if (path.length === 0) return false;
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr.equals(firstHash) && sr.equals(secondHash);
}

// ---------------------------------------------------------------------- base64, keys, notes

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
function b64(text, what) {
  if (typeof text !== "string" || !B64.test(text)) throw new Failure(null, `${what} is not standard base64`);
  return Buffer.from(text, "base64");
}

const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");
function edKey(raw) {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: "der", type: "spki" });
}

function keyId(name, type, pub) {
  return sha256(Buffer.from(name, "utf8"), Buffer.from([0x0a, type]), pub).subarray(0, 4);
}

// `<name>+<hex key id>+<base64(type || public key)>` (C2SP signed-note verifier key).
function parseVerifierKey(text, type) {
  const s = text.trim();
  // The name holds no `+`, the key id is hex, the base64 key may hold `+`.
  const mid = s.indexOf("+");
  const last = s.indexOf("+", mid + 1);
  if (mid <= 0 || last < 0) throw new UsageError(`not a verifier key: ${s}`);
  const name = s.slice(0, mid);
  const hexId = s.slice(mid + 1, last);
  if (!/^[0-9a-f]{8}$/.test(hexId)) throw new UsageError(`bad key id in verifier key: ${s}`);
  let raw;
  try {
    raw = b64(s.slice(last + 1), "verifier key");
  } catch {
    throw new UsageError(`bad base64 in verifier key: ${s}`);
  }
  if (raw.length !== 33 || raw[0] !== type) {
    throw new UsageError(`verifier key ${s}: expected key type 0x0${type} and a 32-byte Ed25519 key`);
  }
  const pub = raw.subarray(1);
  const id = keyId(name, type, pub);
  if (id.toString("hex") !== hexId) throw new UsageError(`verifier key ${s}: key id does not match the key`);
  return { name, id, pub, key: edKey(pub), text: s };
}

// A signed note: text (ending in \n), a blank line, signature lines `— name base64\n`.
function parseNote(note) {
  if (typeof note !== "string") throw new Failure(null, "a checkpoint is not a string");
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new Failure(null, "a checkpoint is not a signed note");
  const body = note.slice(0, split + 1);
  const sigLines = note.slice(split + 2, -1).split("\n");
  const signatures = [];
  for (const line of sigLines) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new Failure(null, `malformed signature line in a checkpoint: ${JSON.stringify(line)}`);
    signatures.push({ name: m[1], raw: b64(m[2], "a signature") });
  }
  const lines = body.slice(0, -1).split("\n");
  if (lines.length < 3) throw new Failure(null, "a checkpoint body has fewer than three lines");
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new Failure(null, `bad tree size in a checkpoint: ${sizeText}`);
  const root = b64(rootText, "a checkpoint's root hash");
  if (root.length !== 32) throw new Failure(null, "a checkpoint's root hash is not 32 bytes");
  return { note, body, bodyBytes: Buffer.from(body, "utf8"), origin, size: Number(sizeText), root, extensions, signatures };
}

// Does `cp` carry a valid note signature by `vk` (type 0x01)?
function signedBy(cp, vk) {
  for (const s of cp.signatures) {
    if (s.name !== vk.name || s.raw.length !== 68 || !s.raw.subarray(0, 4).equals(vk.id)) continue;
    if (edVerify(null, cp.bodyBytes, vk.key, s.raw.subarray(4))) return true;
  }
  return false;
}

// tlog-cosignature/v1: base64(key id || u64 BE timestamp || signature over
// "cosignature/v1\ntime <timestamp>\n" + body). Returns the timestamp or null.
function cosignedBy(cp, wk) {
  for (const s of cp.signatures) {
    if (s.name !== wk.name || s.raw.length !== 76 || !s.raw.subarray(0, 4).equals(wk.id)) continue;
    const ts = s.raw.readBigUInt64BE(4);
    const msg = Buffer.concat([Buffer.from(`cosignature/v1\ntime ${ts}\n`, "utf8"), cp.bodyBytes]);
    if (edVerify(null, msg, wk.key, s.raw.subarray(12))) return ts;
  }
  return null;
}

// -------------------------------------------------------------------- canonical entries

// RFC 8785 for the value types entries use (strings, integers, null, arrays, objects):
// JSON.stringify escapes exactly as RFC 8785 does; members sorted by UTF-16 code units.
function jcs(value) {
  if (Array.isArray(value)) return `[${value.map(jcs).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const names = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${names.map((n) => `${JSON.stringify(n)}:${jcs(value[n])}`).join(",")}}`;
  }
  if (typeof value === "number" && !Number.isSafeInteger(value)) throw new Error("not an integer");
  return JSON.stringify(value);
}

const ROLES = ["department_system", "clerk", "auditor", "admin", "applicant"];
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
// Decode an entry line as documented; returns [entry, problem or null].
function decodeEntry(bytes) {
  let entry;
  try {
    entry = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return [null, "not UTF-8 JSON"];
  }
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return [null, "not a JSON object"];
  const names = Object.keys(entry).sort();
  if (names.join(",") !== ENTRY_MEMBERS.join(",")) return [entry, `members are not exactly the documented 15 (${names.join(",")})`];
  const str = (n) => typeof entry[n] === "string";
  for (const n of ["action", "applicant", "client", "department", "object", "outcome", "purpose", "reason", "request", "role", "time"]) {
    if (!str(n)) return [entry, `${n} is not a string`];
  }
  for (const n of ["fields", "materials"]) {
    const a = entry[n];
    if (!Array.isArray(a) || !a.every((x) => typeof x === "string")) return [entry, `${n} is not an array of strings`];
    for (let i = 1; i < a.length; i++) if (!(a[i - 1] < a[i])) return [entry, `${n} is not sorted without duplicates`];
  }
  if (!Number.isSafeInteger(entry.seq) || entry.seq < 1) return [entry, "seq is not a positive integer"];
  if (entry.principal !== null && !Number.isSafeInteger(entry.principal)) return [entry, "principal is neither an integer nor null"];
  if (!["allowed", "denied", "refused"].includes(entry.outcome)) return [entry, `unknown outcome ${entry.outcome}`];
  if (!TIME.test(entry.time)) return [entry, `time ${entry.time} is not YYYY-MM-DDTHH:MM:SS.ffffffZ`];
  if (entry.outcome === "allowed" && entry.reason !== "") return [entry, "an allowed entry has a reason"];
  // A principal's role; no principal: a token that belongs to nobody (role "") or the hub's own
  // scheduled jobs (role "system"), both with department "".
  if (entry.principal === null) {
    if (!["", "system"].includes(entry.role) || entry.department !== "") {
      return [entry, `an entry with no principal has role ${JSON.stringify(entry.role)} and department ${JSON.stringify(entry.department)}`];
    }
  } else if (!ROLES.includes(entry.role)) {
    return [entry, `unknown role ${JSON.stringify(entry.role)}`];
  }
  if (!Buffer.from(jcs(entry), "utf8").equals(bytes)) return [entry, "its bytes are not the canonical (RFC 8785) encoding"];
  return [entry, null];
}

// ------------------------------------------------------------------------------ the export

function splitLines(buf) {
  const lines = [];
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) break;
    lines.push(buf.subarray(start, nl));
    start = nl + 1;
  }
  const tail = start < buf.length ? buf.subarray(start) : null; // a last line without \n
  return { lines, tail };
}

function readExport(path) {
  const { lines, tail } = splitLines(readFileSync(path));
  if (lines.length === 0) throw new Failure(null, "the export has no header line");
  let header;
  try {
    header = JSON.parse(lines[0].toString("utf8"));
  } catch {
    throw new Failure(null, "the header line is not JSON");
  }
  if (header.format !== "hub-access-log-export/1") throw new Failure(null, `unknown format ${header.format}`);
  if (header.tile_width !== 256) throw new Failure(null, `tile width ${header.tile_width}, expected 256`);
  if (!Number.isSafeInteger(header.tree_size) || header.tree_size < 0) throw new Failure(null, "bad tree_size in the header");
  const checkpoints = [];
  const tiles = []; // {tile, entries, leafHashes: Buffer[]}
  const entries = []; // {bytes, tile, line}
  let i = 1;
  for (; i < lines.length; i++) {
    const text = lines[i].toString("utf8");
    if (!text.startsWith('{"checkpoint":')) break;
    checkpoints.push(parseNote(JSON.parse(text).checkpoint));
  }
  if (checkpoints.length !== header.checkpoints) {
    throw new Failure(null, `the header announces ${header.checkpoints} checkpoints, the export holds ${checkpoints.length}`);
  }
  for (; i < lines.length; i++) {
    const line = lines[i];
    // A tile line is `{"tile":…`; an entry's canonical bytes start with `{"action":`.
    if (line.subarray(0, 8).toString("latin1") === '{"tile":') {
      const t = JSON.parse(line.toString("utf8"));
      const raw = b64(t.leaf_hashes, `tile ${t.tile}'s leaf_hashes`);
      if (raw.length % 32 !== 0) throw new Failure(null, `tile ${t.tile}'s leaf_hashes is not a whole number of hashes`);
      const hashes = [];
      for (let o = 0; o < raw.length; o += 32) hashes.push(raw.subarray(o, o + 32));
      tiles.push({ tile: t.tile, entries: t.entries, leafHashes: hashes, line: i + 1 });
    } else {
      if (tiles.length === 0) throw new Failure(null, `line ${i + 1} is neither a checkpoint nor a tile line`);
      entries.push({ bytes: line, tile: tiles[tiles.length - 1].tile, line: i + 1 });
    }
  }
  if (tail !== null && tiles.length) entries.push({ bytes: tail, tile: tiles[tiles.length - 1].tile, line: i + 1, unterminated: true });
  return { header, checkpoints, tiles, entries };
}

// ----------------------------------------------------------------------------- verification

function hex(b) {
  return b.toString("base64");
}

function verifyExport(exp, opts) {
  const { header, checkpoints, tiles, entries } = exp;
  const origin = header.origin;
  const notes = [];

  // 1. Checkpoints: origin, increasing sizes, a signature by a trusted key. Keys listed in the
  //    export are trusted only through a co-signature on a checkpoint a trusted key signed.
  let previous = -1;
  for (const cp of checkpoints) {
    if (cp.origin !== origin) throw new Failure(null, `a checkpoint's origin ${cp.origin} is not the export's ${origin}`);
    if (cp.size <= previous) throw new Failure(null, `checkpoints are not in increasing tree size (${cp.size} after ${previous})`);
    previous = cp.size;
  }
  const trusted = opts.keys.slice();
  for (const k of trusted) {
    if (k.name !== origin) throw new Failure(null, `the trusted key is named ${k.name}, the log's origin is ${origin}`);
  }
  const listed = [];
  for (const text of header.keys || []) {
    try {
      listed.push(parseVerifierKey(text, 0x01));
    } catch (e) {
      throw new Failure(null, `the export lists a malformed key: ${e.message}`);
    }
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const cp of checkpoints) {
      if (!trusted.some((k) => signedBy(cp, k))) continue;
      for (const k of listed) {
        if (!trusted.some((t) => t.id.equals(k.id) && t.pub.equals(k.pub)) && signedBy(cp, k)) {
          trusted.push(k);
          notes.push(`key ${k.text} learnt from the co-signed checkpoint of size ${cp.size}`);
          grew = true;
        }
      }
    }
  }
  for (const cp of checkpoints) {
    if (!trusted.some((k) => signedBy(cp, k))) {
      throw new Failure(null, `the checkpoint of tree size ${cp.size} carries no valid signature by a trusted key`);
    }
  }
  // Checkpoints the auditor kept: the export must hold the same note body at that size, or extend it.
  for (const kept of opts.kept) {
    if (kept.origin !== origin) throw new Failure(null, `a kept checkpoint is of origin ${kept.origin}`);
    if (!trusted.some((k) => signedBy(kept, k))) throw new Failure(null, `the kept checkpoint of size ${kept.size} carries no valid signature by a trusted key`);
  }

  // 2. Tiles: numbered 0, 1, …, their leaf hashes up to the tree size.
  const N = header.tree_size;
  const stored = [];
  tiles.forEach((t, index) => {
    if (t.tile !== index) throw new Failure(null, `tile line ${t.tile} where tile ${index} was expected`);
    const want = Math.min(256, N - 256 * index);
    if (t.leafHashes.length !== want) throw new Failure(256 * index + 1, `tile ${index} holds ${t.leafHashes.length} leaf hashes, expected ${want}`);
    stored.push(...t.leafHashes);
  });
  if (stored.length !== N) throw new Failure(stored.length + 1, `the export holds ${stored.length} leaf hashes for a tree of ${N}`);
  const covered = checkpoints.length ? checkpoints[checkpoints.length - 1].size : 0;
  if (covered > N) {
    throw new Failure(N + 1, `entries missing after a checkpoint that covers them: the checkpoint of size ${covered} covers entries up to ${covered}, the export ends at ${N}`);
  }

  // Which stored leaf hashes a signed root vouches for: the prefix up to the largest checkpoint
  // whose root they rebuild (they are untrusted otherwise).
  const storedRange = new CompactRange();
  let vouched = 0;
  let cpIndex = 0;
  while (cpIndex < checkpoints.length && checkpoints[cpIndex].size === 0) cpIndex++;
  for (let p = 0; p < stored.length && cpIndex < checkpoints.length; p++) {
    storedRange.append(stored[p]);
    while (cpIndex < checkpoints.length && checkpoints[cpIndex].size === p + 1) {
      if (!storedRange.root().equals(checkpoints[cpIndex].root)) {
        cpIndex = checkpoints.length;
        break;
      }
      vouched = p + 1;
      cpIndex++;
    }
  }

  // 3. Entries, hashed as read, in file order, into a compact range; each checked against the
  //    signed roots at every checkpoint size.
  const range = new CompactRange();
  const hashes = entries.map((e) => leafHash(e.bytes));
  const decoded = entries.map((e) => decodeEntry(e.bytes));
  const locate = (p) => diagnose(p, entries, hashes, decoded, stored, vouched, N);
  let lastGood = 0;
  cpIndex = 0;
  const checkAt = (size) => {
    while (cpIndex < checkpoints.length && checkpoints[cpIndex].size === size) {
      const cp = checkpoints[cpIndex];
      if (!range.root().equals(cp.root)) {
        // The first entry that differs, located with the vouched stored hashes.
        const found = firstBad(size);
        if (found) throw found;
        throw new Failure(lastGood + 1, `the entries do not rebuild the signed root of tree size ${cp.size} (the last checkpoint that verifies is of size ${lastGood})`);
      }
      lastGood = size;
      cpIndex++;
    }
  };
  const firstBad = (limit) => {
    for (let p = 0; p < Math.max(limit, entries.length); p++) {
      const f = locate(p);
      if (f) return f;
    }
    return null;
  };
  checkAt(0);
  for (let p = 0; p < entries.length; p++) {
    if (p >= N) {
      throw locate(p) || new Failure(p + 1, `an entry beyond the tree size ${N}`);
    }
    range.append(hashes[p]);
    checkAt(p + 1);
  }
  if (entries.length < covered) {
    throw firstBad(covered) || new Failure(entries.length + 1, `entries missing after a checkpoint that covers them (size ${covered})`);
  }
  // Everything a signature covers matches. Entries beyond the last checkpoint are not covered.
  if (entries.length > covered) {
    throw new Failure(covered + 1, `not covered by any signed checkpoint (the newest is of size ${covered})`);
  }
  if (entries.length < N) throw new Failure(entries.length + 1, "missing");
  // Each entry is well formed and numbered by its place.
  for (let p = 0; p < entries.length; p++) {
    const [entry, problem] = decoded[p];
    if (problem) throw new Failure(p + 1, `signed, but malformed: ${problem}`);
    if (entry.seq !== p + 1) throw new Failure(p + 1, `signed, but its seq member says ${entry.seq}`);
    if (entries[p].tile !== Math.floor(p / 256)) throw new Failure(p + 1, `under tile ${entries[p].tile}'s line`);
  }
  tiles.forEach((t, index) => {
    const k = entries.filter((e) => e.tile === index).length;
    if (t.entries !== k) throw new Failure(256 * index + 1, `tile ${index} announces ${t.entries} entries, ${k} follow it`);
  });
  for (let p = 0; p < N; p++) {
    if (!stored[p].equals(hashes[p])) notes.push(`stored leaf hash ${p + 1} differs from its entry, but the signed roots agree with the entries`);
  }

  // 4. The witness policy on the newest checkpoint.
  if (opts.witnesses.length) {
    const K = opts.threshold ?? opts.witnesses.length;
    if (K < 1 || K > opts.witnesses.length) throw new UsageError(`threshold ${K} for ${opts.witnesses.length} witnesses`);
    const count = (cp) => opts.witnesses.filter((w) => cosignedBy(cp, w) !== null).length;
    const newest = checkpoints[checkpoints.length - 1];
    if (!newest) throw new Failure(null, "no checkpoint to be cosigned");
    const j = count(newest);
    if (j < K) {
      let best = 0;
      for (const cp of checkpoints) if (count(cp) >= K) best = cp.size;
      throw new Failure(best + 1, `the newest checkpoint (tree size ${newest.size}) is cosigned by ${j} of the ${K} witnesses required`);
    }
    notes.push(`witnessed: the checkpoint of tree size ${newest.size} is cosigned by ${j} of ${opts.witnesses.length} witnesses (${K} required)`);
  }

  // 5. Kept checkpoints: the same body at their size, or a consistent prefix.
  for (const kept of opts.kept) {
    const same = checkpoints.find((cp) => cp.size === kept.size);
    if (same && same.body !== kept.body) throw new Failure(kept.size, `the kept checkpoint of size ${kept.size} differs from the export's`);
    if (kept.size > N) throw new Failure(N + 1, `the export ends at ${N}, before the kept checkpoint of size ${kept.size}`);
    if (!mth(hashes, 0, kept.size).equals(kept.root)) throw new Failure(null, `the export does not extend the kept checkpoint of size ${kept.size}`);
  }

  // 6. Proofs obtained over GraphQL (inclusionProof / consistencyProof results).
  for (const proof of opts.proofs.inclusion || []) notes.push(checkInclusion(proof, exp, trusted, hashes));
  for (const proof of opts.proofs.consistency || []) notes.push(checkConsistency(proof, exp, trusted, hashes));

  return { N, checkpoints: checkpoints.length, trusted, notes };
}

function proofCheckpoint(cpObj, exp, trusted, what) {
  const cp = parseNote(cpObj.note);
  if (cp.origin !== exp.header.origin) throw new Failure(null, `${what}: checkpoint of another origin`);
  if (!trusted.some((k) => signedBy(cp, k))) throw new Failure(null, `${what}: its checkpoint carries no valid signature by a trusted key`);
  if (cpObj.treeSize !== cp.size || cpObj.rootHash !== cp.root.toString("base64")) {
    throw new Failure(null, `${what}: treeSize/rootHash differ from the signed note`);
  }
  const same = exp.checkpoints.find((c) => c.size === cp.size);
  if (same && same.body !== cp.body) throw new Failure(cp.size, `${what}: a different checkpoint of size ${cp.size} than the export's (a split view)`);
  return cp;
}

function checkInclusion(p, exp, trusted, hashes) {
  const what = `inclusion proof of entry ${p.seq}`;
  const cp = proofCheckpoint(p.checkpoint, exp, trusted, what);
  const bytes = Buffer.from(p.entry, "utf8");
  const leaf = leafHash(bytes);
  if (p.leafHash !== leaf.toString("base64")) throw new Failure(p.seq, `${what}: leafHash is not SHA-256(0x00 || entry)`);
  const [entry, problem] = decodeEntry(bytes);
  if (problem || entry.seq !== p.seq || p.leafIndex !== p.seq - 1 || p.treeSize !== cp.size) {
    throw new Failure(p.seq, `${what}: the entry or indexes disagree (${problem || "seq/leafIndex/treeSize"})`);
  }
  const path = p.hashes.map((h) => b64(h, `${what}: a hash`));
  if (!verifyInclusion(p.seq - 1, cp.size, leaf, path, cp.root)) throw new Failure(p.seq, `${what}: the audit path does not lead to the signed root of size ${cp.size}`);
  if (p.seq <= hashes.length && !hashes[p.seq - 1].equals(leaf)) throw new Failure(p.seq, `${what}: the entry differs from the export's`);
  return `inclusion of entry ${p.seq} in the checkpoint of size ${cp.size}: verified`;
}

function checkConsistency(p, exp, trusted, hashes) {
  const what = `consistency proof ${p.oldSize} -> ${p.newSize}`;
  const cp = proofCheckpoint(p.newCheckpoint, exp, trusted, what);
  if (cp.size !== p.newSize) throw new Failure(null, `${what}: newCheckpoint is of size ${cp.size}`);
  // The old root: the one the auditor holds, here rebuilt from the export's verified entries.
  if (p.oldSize > hashes.length) throw new Failure(null, `${what}: the export is shorter than the old size`);
  const oldRoot = mth(hashes, 0, p.oldSize);
  if (p.oldCheckpoint) {
    const old = proofCheckpoint(p.oldCheckpoint, exp, trusted, what);
    if (old.size !== p.oldSize || !old.root.equals(oldRoot)) throw new Failure(null, `${what}: oldCheckpoint disagrees with the export`);
  }
  const proof = p.hashes.map((h) => b64(h, `${what}: a hash`));
  if (!verifyConsistency(p.oldSize, p.newSize, oldRoot, cp.root, proof)) throw new Failure(null, `${what}: does not verify`);
  return `consistency of ${p.oldSize} with the checkpoint of size ${p.newSize}: verified`;
}

// Name what happened at file position p (leaf index p), using the stored leaf hashes the signed
// roots vouch for (indexes < vouched). Returns a Failure or null when position p is fine.
function diagnose(p, entries, hashes, decoded, stored, vouched, N) {
  const seqAt = (q) => (q < entries.length && decoded[q][0] && Number.isSafeInteger(decoded[q][0].seq) ? decoded[q][0].seq : null);
  const isStored = (seq, h) => seq >= 1 && seq <= vouched && stored[seq - 1].equals(h);
  const reencoded = (q, seq) => {
    const e = decoded[q][0];
    if (!e || typeof e !== "object") return null;
    try {
      return leafHash(Buffer.from(jcs({ ...e, seq }), "utf8"));
    } catch {
      return null;
    }
  };
  if (p >= entries.length) {
    if (p < N) return new Failure(p + 1, p < vouched ? "missing (entries missing after a checkpoint that covers them)" : "missing");
    return null;
  }
  const here = p + 1;
  const seq = seqAt(p);
  if (p < vouched && stored[p].equals(hashes[p])) return null;
  if (p >= vouched) return null; // nothing vouched to compare with
  if (entries[p].unterminated) return new Failure(here, "changed: the export is cut inside this entry's line");
  const reHere = reencoded(p, here);
  if (seq === here) {
    const reNext = reencoded(p, here + 1);
    if (reNext && isStored(here + 1, reNext)) return new Failure(here, "missing, with the later entries renumbered to close the gap");
    if (p + 1 < entries.length && seqAt(p + 1) === here && isStored(here, hashes[p + 1])) {
      return new Failure(here, "inserted: a forged entry stands before the signed entry of that number");
    }
    const nextAtHere = p + 1 < entries.length ? reencoded(p + 1, here) : null;
    if (nextAtHere && isStored(here, nextAtHere)) return new Failure(here, "inserted, with the later entries renumbered to make room");
    return new Failure(here, "changed");
  }
  if (seq !== null && isStored(seq, hashes[p])) {
    // An authentic entry in the wrong place.
    const other = seq - 1;
    if (seqAt(other) === here && isStored(here, hashes[other])) return new Failure(here, `two entries swapped (${here} and ${seq})`);
    for (let q = p + 1; q < entries.length; q++) {
      if (seqAt(q) === here && isStored(here, hashes[q])) return new Failure(here, `out of place: found at position ${q + 1}`);
    }
    if (seq > here) return new Failure(here, seq - here === 1 ? "missing" : `missing (entries ${here} to ${seq - 1})`);
    return new Failure(here, `out of place: entry ${seq} is at position ${here}`);
  }
  if (reHere && isStored(here, reHere)) return new Failure(here, `renumbered (its seq says ${seq})`);
  return new Failure(here, "changed");
}

// ----------------------------------------------------------- static tiles (hub audit publish)

// C2SP tlog-tiles: `<N>` in 3-digit path elements, all but the last prefixed `x`.
function tileIndexPath(n) {
  const parts = [];
  do {
    parts.unshift(String(n % 1000).padStart(3, "0"));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return parts.map((p, i) => (i < parts.length - 1 ? `x${p}` : p)).join("/");
}

function readTile(dir, kind, index, width, what) {
  const path = `${dir}/tile/${kind}/${tileIndexPath(index)}${width === 256 ? "" : `.p/${width}`}`;
  if (!existsSync(path)) throw new Failure(null, `${what}: ${path} is missing`);
  return readFileSync(path);
}

// A published directory: `checkpoint`, `tile/<L>/<N>[.p/<W>]`, and `tile/entries/…` if present.
function verifyTiles(dir, opts) {
  const cp = parseNote(readFileSync(`${dir}/checkpoint`, "utf8"));
  if (!opts.keys.some((k) => k.name === cp.origin && signedBy(cp, k))) {
    throw new Failure(null, `the checkpoint of tree size ${cp.size} carries no valid signature by a trusted key`);
  }
  const S = cp.size;
  const leaves = [];
  const fullTiles = Math.floor(S / 256);
  for (let t = 0; t * 256 < S; t++) {
    const width = t < fullTiles ? 256 : S % 256;
    const raw = readTile(dir, "0", t, width, `level-0 tile ${t}`);
    if (raw.length !== 32 * width) throw new Failure(256 * t + 1, `level-0 tile ${t} holds ${raw.length / 32} hashes, expected ${width}`);
    for (let o = 0; o < raw.length; o += 32) leaves.push(raw.subarray(o, o + 32));
  }
  if (!mth(leaves).equals(cp.root)) {
    // Locate the first bad tile with the higher levels: a level-1 hash is a full level-0 tile's root.
    throw new Failure(null, `the level-0 tiles do not rebuild the signed root of tree size ${S}`);
  }
  // Higher levels: tile L holds the roots of the full tiles of level L-1 (tree level 8L).
  let below = leaves;
  for (let L = 1; below.length >= 256; L++) {
    const nodes = [];
    for (let i = 0; i + 256 <= below.length; i += 256) nodes.push(mth(below, i, i + 256));
    for (let t = 0; t * 256 < nodes.length; t++) {
      const width = Math.min(256, nodes.length - 256 * t);
      const raw = readTile(dir, String(L), t, width, `level-${L} tile ${t}`);
      for (let o = 0; o < width; o++) {
        if (!raw.subarray(32 * o, 32 * o + 32).equals(nodes[256 * t + o])) {
          throw new Failure(null, `level-${L} tile ${t}, hash ${o}, is not the root of the tiles below it`);
        }
      }
    }
    below = nodes;
  }
  let entries = 0;
  if (existsSync(`${dir}/tile/entries`)) {
    for (let t = 0; t * 256 < S; t++) {
      const width = t < fullTiles ? 256 : S % 256;
      const bundle = readTile(dir, "entries", t, width, `entry bundle ${t}`);
      let o = 0;
      for (let i = 0; i < width; i++) {
        const seq = 256 * t + i + 1;
        if (o + 2 > bundle.length) throw new Failure(seq, "missing: the entry bundle ends before it");
        const length = bundle.readUInt16BE(o);
        const bytes = bundle.subarray(o + 2, o + 2 + length);
        o += 2 + length;
        if (bytes.length !== length) throw new Failure(seq, "missing: the entry bundle is cut inside it");
        if (!leafHash(bytes).equals(leaves[seq - 1])) throw new Failure(seq, "changed: it does not match its signed leaf hash");
        const [entry, problem] = decodeEntry(bytes);
        if (problem) throw new Failure(seq, `signed, but malformed: ${problem}`);
        if (entry.seq !== seq) throw new Failure(seq, `signed, but its seq member says ${entry.seq}`);
        entries++;
      }
      if (o !== bundle.length) throw new Failure(256 * t + width + 1, `entry bundle ${t} holds more than ${width} entries`);
    }
  }
  return { S, root: cp.root, entries };
}

// ---------------------------------------------------------------------------------- the CLI

function readKeys(arg, type) {
  // A key, or a file of them (one a line).
  const texts = existsSync(arg) && statSync(arg).isFile()
    ? readFileSync(arg, "utf8").split("\n").filter((l) => l.trim())
    : [arg];
  return texts.map((t) => parseVerifierKey(t, type));
}

function parseArgs(argv) {
  const opts = { keys: [], witnesses: [], threshold: null, kept: [], proofs: {}, export: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--key" || a === "--public-key") opts.keys.push(...readKeys(value(), 0x01));
    else if (a === "--witness") opts.witnesses.push(...readKeys(value(), 0x04));
    else if (a === "--threshold" || a === "--witness-threshold") {
      const v = value();
      if (!/^[0-9]+$/.test(v)) throw new UsageError(`bad threshold ${v}`);
      opts.threshold = Number(v);
    } else if (a === "--checkpoint") {
      const path = value();
      try {
        opts.kept.push(parseNote(readFileSync(path, "utf8")));
      } catch (e) {
        throw new UsageError(`cannot read the checkpoint ${path}: ${e.message}`);
      }
    } else if (a === "--proofs") {
      const path = value();
      try {
        opts.proofs = JSON.parse(readFileSync(path, "utf8"));
      } catch (e) {
        throw new UsageError(`cannot read the proofs ${path}: ${e.message}`);
      }
    } else if (a.startsWith("--")) throw new UsageError(`unknown option ${a}`);
    else if (opts.export === null) opts.export = a;
    else throw new UsageError(`unexpected argument ${a}`);
  }
  if (opts.export === null) throw new UsageError("no export given");
  if (opts.keys.length === 0) throw new UsageError("no --key given");
  return opts;
}

function main(argv) {
  let opts;
  try {
    opts = parseArgs(argv);
    if (!existsSync(opts.export)) throw new UsageError(`no such export: ${opts.export}`);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\nusage: node verify.mjs EXPORT --key KEY [--witness KEY ...] [--threshold K] [--checkpoint NOTE] [--proofs JSON]\n`);
      return 2;
    }
    throw e;
  }
  try {
    if (statSync(opts.export).isDirectory()) {
      const r = verifyTiles(opts.export, opts);
      process.stdout.write(
        `OK: tiles of tree size ${r.S} rebuild the signed root ${hex(r.root)}` +
          (r.entries ? `; ${r.entries} entries match their leaf hashes\n` : "; no entry bundles\n"),
      );
      return 0;
    }
    const exp = readExport(opts.export);
    const result = verifyExport(exp, opts);
    const newest = exp.checkpoints[exp.checkpoints.length - 1];
    process.stdout.write(
      `OK: ${result.N} entries, ${result.checkpoints} checkpoints, the newest of tree size ${newest ? newest.size : 0}` +
        ` with root ${newest ? hex(newest.root) : hex(EMPTY_ROOT)}, signed by a trusted key\n`,
    );
    for (const note of result.notes) process.stdout.write(`${note}\n`);
    return 0;
  } catch (e) {
    if (e instanceof Failure) {
      process.stdout.write(e.seq === null ? `FAILED: ${e.message}\n` : `FAILED at entry ${e.seq}: ${e.message}\n`);
      return 1;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    if (e instanceof SyntaxError) {
      process.stdout.write(`FAILED: the export is malformed: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
