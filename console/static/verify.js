// Inclusion proof of an access-log entry, verified in the browser (docs/audit-log.md):
// leaf = SHA-256(0x00 || entry), RFC 9162 section 2.1.3.2 to the root, and the checkpoint, a C2SP
// signed note, checked with Ed25519 (WebCrypto) against the trusted verifier key
// "<name>+<hex key id>+<base64(0x01 || public key)>", whose key id is checked too.
(function () {
  "use strict";
  var form = document.querySelector("form[data-verify]");
  if (!form) return;
  var texts = document.getElementById("texts").dataset;
  var encoder = new TextEncoder();

  function Failure(reason) { this.reason = reason; }
  function fail(reason) { throw new Failure(reason); }

  function fromBase64(text) {
    var binary = atob(text);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }
  function concat() {
    var total = 0, offset = 0, parts = Array.prototype.slice.call(arguments);
    parts.forEach(function (p) { total += p.length; });
    var out = new Uint8Array(total);
    parts.forEach(function (p) { out.set(p, offset); offset += p.length; });
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)); }
  function nodeHash(left, right) { return sha256(concat(new Uint8Array([1]), left, right)); }

  async function rootFromInclusion(index, size, leaf, path) {
    if (!(index >= 0 && index < size)) fail(texts.root);
    var fn = index, sn = size - 1, result = leaf;
    for (var i = 0; i < path.length; i++) {
      if (sn === 0) fail(texts.root);
      if (fn & 1 || fn === sn) {
        result = await nodeHash(path[i], result);
        while (!(fn & 1) && fn !== 0) { fn >>= 1; sn >>= 1; }
      } else {
        result = await nodeHash(result, path[i]);
      }
      fn >>= 1; sn >>= 1;
    }
    if (sn !== 0) fail(texts.root);
    return result;
  }

  async function parseKey(text) {
    // The key's base64 may itself hold "+": only the first two separate the parts.
    var parts = /^([^+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(text.trim());
    if (!parts) fail(texts.malformed);
    parts = parts.slice(1);
    var raw = fromBase64(parts[2]);
    if (raw.length !== 33 || raw[0] !== 1) fail(texts.malformed);
    var id = (await sha256(concat(encoder.encode(parts[0] + "\n"), raw))).slice(0, 4);
    var hex = Array.prototype.map.call(id, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
    if (hex !== parts[1]) fail(texts.key);
    return { name: parts[0], id: id, publicKey: raw.slice(1) };
  }

  async function checkSignature(note, key) {
    var cut = note.lastIndexOf("\n\n");
    if (cut < 0) fail(texts.malformed);
    var body = note.slice(0, cut + 1);
    var lines = note.slice(cut + 2).split("\n").filter(function (l) { return l; });
    var publicKey;
    try {
      publicKey = await crypto.subtle.importKey("raw", key.publicKey, { name: "Ed25519" }, false, ["verify"]);
    } catch (error) { fail(texts.unsupported); }
    for (var i = 0; i < lines.length; i++) {
      var match = /^\u2014 (\S+) (\S+)$/.exec(lines[i]);
      if (!match || match[1] !== key.name) continue;
      var raw = fromBase64(match[2]);
      if (raw.length !== 68 || !equal(raw.slice(0, 4), key.id)) continue;
      if (await crypto.subtle.verify({ name: "Ed25519" }, publicKey, raw.slice(4), encoder.encode(body))) return body;
    }
    fail(texts.signature);
  }

  async function verify(keyText, proofText) {
    var proof;
    try { proof = JSON.parse(proofText); } catch (error) { fail(texts.malformed); }
    var key = await parseKey(keyText);
    var body = await checkSignature(String(proof.checkpoint || ""), key);
    var lines = body.split("\n");
    if (lines.length < 4 || lines[0] !== key.name) fail(texts.signature);
    if (String(proof.treeSize) !== lines[1]) fail(texts.size);
    var root = fromBase64(lines[2]);
    var entry = fromBase64(proof.entry);
    var leaf = await sha256(concat(new Uint8Array([0]), entry));
    var path = (proof.hashes || []).map(fromBase64);
    var computed = await rootFromInclusion(Number(proof.leafIndex), Number(proof.treeSize), leaf, path);
    if (!equal(computed, root)) fail(texts.root);
    return JSON.parse(new TextDecoder().decode(entry));
  }

  function show(ok, detail, entry) {
    var verdict = document.getElementById("verdict");
    verdict.hidden = false;
    verdict.className = "card " + (ok ? "verified" : "failed");
    document.getElementById("verdict-title").textContent = ok ? texts.ok : texts.failed;
    document.getElementById("verdict-detail").textContent = detail;
    var list = document.getElementById("verdict-entry");
    list.textContent = "";
    Object.keys(entry || {}).forEach(function (name) {
      var dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = name;
      dd.textContent = JSON.stringify(entry[name]);
      list.append(dt, dd);
    });
    verdict.focus();
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    try {
      var entry = await verify(form.elements.key.value, form.elements.proof.value);
      show(true, texts.entryOf, entry);
    } catch (error) {
      show(false, error instanceof Failure ? error.reason : texts.malformed + " (" + error + ")", null);
    }
  });
})();
