//! The malformed parts the requests are made of, drawn from a seeded xorshift PRNG.

use serde_json::{Value, json};

/// The body limit the gateway runs with here (bodies over it are among the cases).
pub(super) const LIMIT: usize = 64 * 1024;

/// xorshift64: deterministic, seeded per door.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(super) fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())].clone()
    }

    pub(super) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A key name no key has: traversal, NULs, control and bidi characters, very long, unicode.
pub(super) fn odd_name(rng: &mut Rng) -> String {
    let n = rng.next();
    rng.pick(&[
        "..".to_owned(),
        "../../etc/passwd".to_owned(),
        "%00".to_owned(),
        "a\u{0}b".to_owned(),
        "k".repeat(5000),
        "ключ-🔑".to_owned(),
        " ".to_owned(),
        "alias/..".to_owned(),
        "a/b/c".to_owned(),
        "\u{202e}evil".to_owned(),
        "<script>".to_owned(),
        "'; drop table keys; --".to_owned(),
        format!("missing-{n:x}"),
        "\u{7f}\u{1}".to_owned(),
    ])
}

/// A JSON value of the wrong type for a required field, or a string that is not base64 (nor
/// a name any key has, nor a valid spec or algorithm).
pub(super) fn bad_value(rng: &mut Rng) -> Value {
    rng.pick(&[
        json!(3.5),
        json!(-1),
        json!(1e308),
        json!([1, 2]),
        json!({"a": "b"}),
        json!(true),
        json!(null),
        json!("***"),
        json!("a"),
        json!("===="),
        json!("🔑🔑"),
        json!("\u{0}"),
    ])
}

/// A body that is not JSON, or JSON too deep, too large or of the wrong root type.
pub(super) fn garbage(rng: &mut Rng) -> Vec<u8> {
    match rng.below(9) {
        0 => {
            let n = rng.below(3000);
            rng.bytes(n)
        }
        1 => b"\xff\xfe\xfd{\"key\": \"\xc3\x28\"}".to_vec(),
        2 => "[".repeat(50_000).into_bytes(),
        3 => "{\"a\":".repeat(20_000).into_bytes(),
        4 => vec![b' '; LIMIT + 1 + rng.below(LIMIT)],
        5 => b"{\"key\":".to_vec(),
        6 => rng.pick(&[
            b"[]".to_vec(),
            b"\"s\"".to_vec(),
            b"1".to_vec(),
            b"null".to_vec(),
        ]),
        7 => format!("{{\"key\": \"{}\"}}", "x".repeat(LIMIT * 2)).into_bytes(),
        _ => b"{\"a\": 1, \"a\": 2, }".to_vec(),
    }
}

/// A credential that does not authenticate: missing, malformed or unknown.
pub(super) fn bad_bearer(rng: &mut Rng) -> Option<String> {
    let n = rng.next();
    rng.pick(&[
        None,
        Some("Bearer".to_owned()),
        Some("Bearer ".to_owned()),
        Some(format!("Bearer kgt_{n:x}.{n:x}")),
        Some("Basic dXNlcjpwYXNz".to_owned()),
        Some(format!("Bearer {}", "t".repeat(9000))),
        Some("Bearer ключ".to_owned()),
        Some("bearer kgt_..".to_owned()),
    ])
}
