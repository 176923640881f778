#!/usr/bin/env python3
"""Check a keygate audit inclusion proof with nothing but the log's public key.

Usage: verify_proof.py PROOF.json 'keygate/audit/…+xxxxxxxx+…' [--no-openssl]

PROOF.json is what `keygate audit prove SEQ --output json` (or GET /v1/audit/proof?seq=SEQ)
printed. The public key is the verifier key `keygate audit public-key` printed, obtained from
a channel you trust. Python 3 standard library only; the Ed25519 signature of the checkpoint is
checked with `openssl pkeyutl -verify -rawin` (OpenSSL 3). Exits 0 and prints OK when the row is
in the log at the signed checkpoint, 1 otherwise.
"""
import base64, calendar, hashlib, json, os, struct, subprocess, sys, tempfile


def fail(why):
    print("FAILED:", why)
    sys.exit(1)


# --- the row's canonical encoding (keygate_core::audit::encode_row) -------------------------
def u64(n):
    return struct.pack(">Q", n)


def text(s):
    b = s.encode()
    return u64(len(b)) + b


def opt(s):
    return b"\x00" if s is None else b"\x01" + text(s)


def nanos(t):
    """Nanoseconds since the epoch of an RFC 3339 UTC time such as 2026-12-07T17:50:06.6068Z."""
    if not t.endswith("Z"):
        fail("row time is not in UTC")
    t = t[:-1]
    whole, _, frac = t.partition(".")
    date, _, clock = whole.partition("T")
    y, mo, d = (int(x) for x in date.split("-"))
    h, mi, s = (int(x) for x in clock.split(":"))
    return calendar.timegm((y, mo, d, h, mi, s)) * 10**9 + int(frac.ljust(9, "0") or "0")


def encode_row(r):
    return (u64(r["seq"]) + nanos(r["time"]).to_bytes(16, "big", signed=True)
            + text(r["request_id"]) + text(r["principal"]) + text(r["source"]) + text(r["action"])
            + opt(r.get("provider")) + opt(r.get("key")) + opt(r.get("key_version"))
            + text(r["outcome"]) + opt(r.get("error_kind")) + u64(r["duration_us"]))


# --- RFC 6962 / RFC 9162 ---------------------------------------------------------------------
def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index, size, leaf, path, root):
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# --- C2SP signed note and checkpoint ---------------------------------------------------------
def open_checkpoint(note, vkey, use_openssl=True):
    name, key_id, key_b64 = vkey.split("+", 2)
    key = base64.b64decode(key_b64)
    if key[0] != 1 or len(key) != 33:
        fail("not an Ed25519 verifier key")
    if hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() != key_id:
        fail("the verifier key's id does not match its key")
    body, sep, sigs = note.partition("\n\n")
    if not sep:
        fail("the checkpoint has no signature")
    body += "\n"
    for line in sigs.splitlines():
        if not line.startswith("\u2014 "):
            fail("malformed signature line")
        signer, _, blob = line[2:].partition(" ")
        blob = base64.b64decode(blob)
        if signer != name or blob[:4].hex() != key_id or len(blob) != 68:
            continue
        if not use_openssl or ed25519_verify(key[1:], body.encode(), blob[4:]):
            origin, size, root = body.splitlines()[:3]
            if origin != name:
                fail("the checkpoint is of another log")
            return int(size), base64.b64decode(root)
    fail("no valid signature of this key on the checkpoint")


def ed25519_verify(public_key, message, signature):
    spki = bytes.fromhex("302a300506032b6570032100") + public_key
    pem = ("-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(spki).decode()
           + "\n-----END PUBLIC KEY-----\n")
    with tempfile.TemporaryDirectory() as d:
        paths = {n: os.path.join(d, n) for n in ("key.pem", "msg", "sig")}
        for n, data in (("key.pem", pem.encode()), ("msg", message), ("sig", signature)):
            with open(paths[n], "wb") as f:
                f.write(data)
        done = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
                               paths["key.pem"], "-rawin", "-in", paths["msg"],
                               "-sigfile", paths["sig"]], capture_output=True)
        return done.returncode == 0


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    with open(sys.argv[1]) as f:
        proof = json.load(f)
    size, root = open_checkpoint(proof["checkpoint"]["note"], sys.argv[2],
                                 "--no-openssl" not in sys.argv)
    row = proof["row"]
    leaf = hashlib.sha256(b"\x00" + encode_row(row)).digest()
    path = [bytes.fromhex(h) for h in proof["proof"]]
    if not verify_inclusion(row["seq"] - 1, size, leaf, path, root):
        fail("row %d is not in the signed tree of %d rows" % (row["seq"], size))
    print("OK: row %d is in the log at the signed checkpoint of %d rows" % (row["seq"], size))


if __name__ == "__main__":
    main()
