// A department's webhook receiver written in Node, as a department's own system would be: every
// delivery is verified before it is accepted, and the outcome recorded for the test to read.
//
// - v1 (HMAC-SHA256): with the npm `standardwebhooks` package's Webhook class, unchanged.
// - v1a (Ed25519): the npm package (1.1.1) verifies v1 only (it skips every other version), so v1a
//   is verified here with node:crypto, per Standard Webhooks 1.0: the signed content is
//   "<webhook-id>.<webhook-timestamp>.<body>", the key is the hub's `whpk_` + base64 raw 32-byte
//   Ed25519 public key, the header lists space-separated "v1a,<base64 signature>" entries, and a
//   timestamp more than 5 minutes from now is refused, as the package refuses one for v1.
//
// Configured after start (the hub must know the URL before it issues a secret): POST /_config
// {"paths": {"/a": {"scheme": "v1", "secrets": ["whsec_..."]}, "/b": {"scheme": "v1a",
// "publicKeys": ["whpk_..."]}}}. GET /_received lists what arrived. Prints "listening <port>".
"use strict";

const crypto = require("node:crypto");
const http = require("node:http");
const { Webhook } = require("standardwebhooks");

const TOLERANCE_SECONDS = 5 * 60;
const PUBLIC_KEY_PREFIX = "whpk_";

let paths = {};
const received = [];

function header(headers, name) {
  const value = headers[name];
  if (!value) throw new Error(`missing ${name}`);
  return value;
}

function verifyV1(secrets, body, headers) {
  const errors = [];
  for (const secret of secrets) {
    try {
      new Webhook(secret).verify(body, headers);
      return;
    } catch (error) {
      errors.push(error.message);
    }
  }
  throw new Error(`v1: ${errors.join("; ") || "no secret"}`);
}

function ed25519Key(text) {
  if (!text.startsWith(PUBLIC_KEY_PREFIX)) throw new Error("not a whpk_ key");
  const raw = Buffer.from(text.slice(PUBLIC_KEY_PREFIX.length), "base64");
  if (raw.length !== 32) throw new Error("an Ed25519 public key is 32 bytes");
  return crypto.createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
}

function verifyV1a(publicKeys, body, headers) {
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const seconds = Number.parseInt(timestamp, 10);
  if (!/^\d+$/.test(timestamp) || Math.abs(Math.floor(Date.now() / 1000) - seconds) > TOLERANCE_SECONDS) {
    throw new Error("v1a: timestamp missing or out of tolerance");
  }
  const content = Buffer.from(`${id}.${timestamp}.${body}`, "utf8");
  const keys = publicKeys.map(ed25519Key);
  for (const entry of header(headers, "webhook-signature").split(" ")) {
    const [version, signature] = entry.split(",");
    if (version !== "v1a" || !signature) continue;
    const bytes = Buffer.from(signature, "base64");
    if (keys.some((key) => crypto.verify(null, content, key, bytes))) return;
  }
  throw new Error("v1a: no matching signature");
}

function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function answer(response, status, body) {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

const server = http.createServer(async (request, response) => {
  const body = await readBody(request);
  if (request.url === "/_config" && request.method === "POST") {
    paths = JSON.parse(body).paths;
    return answer(response, 200, { ok: true });
  }
  if (request.url === "/_received" && request.method === "GET") {
    return answer(response, 200, received);
  }
  const config = paths[request.url];
  if (!config || request.method !== "POST") return answer(response, 404, { error: "unknown path" });
  const record = { path: request.url, id: request.headers["webhook-id"] || null, scheme: config.scheme, body };
  try {
    if (config.scheme === "v1") verifyV1(config.secrets || [], body, request.headers);
    else verifyV1a(config.publicKeys || [], body, request.headers);
    record.verified = true;
  } catch (error) {
    record.verified = false;
    record.error = error.message;
  }
  received.push(record);
  // A receiver stores a verified message, then answers 2xx; an unverified one is refused.
  answer(response, record.verified ? 200 : 400, record.verified ? { ok: true } : { error: record.error });
});

server.listen(Number(process.argv[2] || 0), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
