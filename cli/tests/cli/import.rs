//! `keys create --origin external`, `keys import` and `keys delete-material`, embedded and
//! against `keygate serve` over `--gateway`: material from a file is wrapped locally and
//! imported in one step; the key is pending import before and after its material is deleted;
//! different material, and material of the wrong length, are typed refusals.

use std::process::Output;

use serde_json::Value;

use super::Home;
use super::remote::{Server, token};

fn ok(run: &dyn Fn(&[&str], &[u8]) -> Output, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let out = run(args, stdin);
    assert!(
        out.status.success(),
        "keygate {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn fails(run: &dyn Fn(&[&str], &[u8]) -> Output, args: &[&str]) -> String {
    let out = run(args, b"");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "keygate {args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    stderr
}

fn import_cycle(home: &Home, run: &dyn Fn(&[&str], &[u8]) -> Output, key: &str) {
    let material = home.path().join(format!("{key}.bin"));
    std::fs::write(&material, [0x24u8; 32]).unwrap();
    let other = home.path().join(format!("{key}-other.bin"));
    std::fs::write(&other, [0x25u8; 32]).unwrap();
    let short = home.path().join(format!("{key}-short.bin"));
    std::fs::write(&short, [0x26u8; 16]).unwrap();
    let (material, other, short) = (
        material.to_str().unwrap(),
        other.to_str().unwrap(),
        short.to_str().unwrap(),
    );
    let fast = ["--wrapping-key-spec", "RSA_2048"];

    let created: Value = serde_json::from_slice(&ok(
        run,
        &[
            "keys", "create", key, "--spec", "AES_256", "--origin", "external", "--output", "json",
        ],
        b"",
    ))
    .unwrap();
    assert_eq!(created["state"], "pending_import", "{created}");
    let refused = fails(run, &["encrypt", "--key", key]);
    assert!(refused.contains("pending_import"), "{refused}");

    let wrong = fails(
        run,
        &[&["keys", "import", key, "--material", short][..], &fast].concat(),
    );
    assert!(wrong.contains("32 bytes"), "{wrong}");
    let line = String::from_utf8(ok(
        run,
        &[&["keys", "import", key, "--material", material][..], &fast].concat(),
        b"",
    ))
    .unwrap();
    assert!(line.starts_with("imported key material into "), "{line}");
    assert!(line.contains("enabled"), "{line}");
    let sealed = ok(run, &["encrypt", "--key", key], b"my own key");

    let deleted = String::from_utf8(ok(run, &["keys", "delete-material", key], b"")).unwrap();
    assert!(deleted.contains("pending_import"), "{deleted}");
    let refused = fails(
        run,
        &[&["keys", "import", key, "--material", other][..], &fast].concat(),
    );
    assert!(refused.contains("differs"), "{refused}");
    // The default wrapping (RSA_AES_KEY_WRAP_SHA_256 under RSA_4096) with an expiry, which
    // AWS allows at most 365 days ahead: 200 days from now, at midnight UTC.
    let expires = (time::OffsetDateTime::now_utc() + time::Duration::days(200))
        .replace_time(time::Time::MIDNIGHT);
    let valid_to = format!(
        "{:04}-{:02}-{:02}T00:00:00Z",
        expires.year(),
        u8::from(expires.month()),
        expires.day()
    );
    let shown_at = format!(
        "external (material expires {:04}-{:02}-{:02} 00:00 UTC)",
        expires.year(),
        u8::from(expires.month()),
        expires.day()
    );
    let shown: Value = serde_json::from_slice(&ok(
        run,
        &[
            "keys",
            "import",
            key,
            "--material",
            material,
            "--valid-to",
            &valid_to,
            "--output",
            "json",
        ],
        b"",
    ))
    .unwrap();
    assert_eq!(shown["state"], "enabled", "{shown}");
    assert_eq!(
        shown["import"]["expiration_model"], "KEY_MATERIAL_EXPIRES",
        "{shown}"
    );
    let detail = String::from_utf8(ok(run, &["keys", "show", key], b"")).unwrap();
    assert!(detail.contains(&shown_at), "{detail}");
    assert_eq!(ok(run, &["decrypt"], &sealed), b"my own key");
}

#[test]
fn import_embedded() {
    let home = Home::new();
    let run = |args: &[&str], stdin: &[u8]| home.run_with(args, stdin);
    import_cycle(&home, &run, "byok-local");
}

#[test]
fn import_through_a_gateway() {
    let home = Home::new();
    let server = Server::start(&home);
    let admin = token(&home, "ops", "admin");
    let run = |args: &[&str], stdin: &[u8]| {
        let mut all = vec!["--gateway", server.url.as_str(), "--token", admin.as_str()];
        all.extend_from_slice(args);
        home.run_with(&all, stdin)
    };
    import_cycle(&home, &run, "byok-remote");
}
