//! `encrypt --key K1 --key K2`, `envelope inspect` and `envelope rewrap` (one file, in place
//! or copied; a directory with its journal).

use std::path::Path;

use keygate_core::envelope::EnvelopeHeader;

use super::Home;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn keys_of(file: &Path) -> Vec<String> {
    let bytes = std::fs::read(file).unwrap();
    let (header, _) = EnvelopeHeader::decode(&bytes).unwrap();
    header.recipients().into_iter().map(|r| r.key_uri).collect()
}

/// A home with AES keys k1, k2 and k3.
fn home_with_keys() -> Home {
    let home = Home::new();
    for k in ["k1", "k2", "k3"] {
        home.ok(&["keys", "create", k, "--spec", "AES_256"], b"");
    }
    home
}

#[test]
fn multi_key_envelopes_inspect_without_a_gateway_and_rewrap_in_place() {
    let home = home_with_keys();
    let dir = home.path().to_owned();
    let plain: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let (pt, ct) = (dir.join("in.bin"), dir.join("in.kge"));
    std::fs::write(&pt, &plain).unwrap();
    home.ok(
        &[
            "encrypt",
            "--key",
            "k1",
            "--key",
            "k2",
            "--context",
            "app=x",
            "-i",
            s(&pt),
            "-o",
            s(&ct),
        ],
        b"",
    );
    assert_eq!(keys_of(&ct), vec!["local://k1", "local://k2"]);

    // Inspect reads the header only: it works with a gateway address and no token at all.
    let out = home.ok(
        &[
            "--gateway",
            "http://127.0.0.1:9",
            "envelope",
            "inspect",
            s(&ct),
        ],
        b"",
    );
    let text = String::from_utf8(out).unwrap();
    for expected in [
        "version 2",
        "app=x",
        "local://k1",
        "local://k2",
        "plaintext:  300000 bytes",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    let json = home.json(&["envelope", "inspect", s(&ct), "--output", "json"]);
    assert_eq!(json["format"], 2);
    assert_eq!(json["plaintext_bytes"], 300_000);
    assert_eq!(json["keys"].as_array().unwrap().len(), 2);
    assert_eq!(json["keys"][1]["provider"], "local");
    assert!(
        home.fails(&["envelope", "inspect", s(&pt)], b"")
            .contains("not a keygate envelope")
    );

    // In place: the header is overwritten, the body bytes stay where they are.
    let before = std::fs::read(&ct).unwrap();
    let (_, hl) = EnvelopeHeader::decode(&before).unwrap();
    #[cfg(unix)]
    let inode = {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(&ct).unwrap().ino()
    };
    home.ok(
        &[
            "envelope",
            "rewrap",
            "-i",
            s(&ct),
            "-o",
            s(&ct),
            "--add-key",
            "k3",
            "--remove-key",
            "k1",
        ],
        b"",
    );
    let after = std::fs::read(&ct).unwrap();
    assert_eq!(after.len(), before.len());
    assert_eq!(after[hl..], before[hl..]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        assert_eq!(std::fs::metadata(&ct).unwrap().ino(), inode);
    }
    assert_eq!(keys_of(&ct), vec!["local://k2", "local://k3"]);
    assert!(!dir.join(".in.kge.keygate-rewrap").exists());
    assert_eq!(home.ok(&["decrypt", "-i", s(&ct)], b""), plain);
    // `decrypt --key` accepts any key the envelope carries, and names them all otherwise.
    assert_eq!(
        home.ok(&["decrypt", "--key", "k3", "-i", s(&ct)], b""),
        plain
    );
    let refused = home.fails(&["decrypt", "--key", "k1", "-i", s(&ct)], b"");
    assert!(refused.contains("local://k2, local://k3"), "{refused}");

    // To another file: header and body copied; the input is left alone.
    let copy = dir.join("copy.kge");
    home.ok(
        &[
            "envelope",
            "rewrap",
            "-i",
            s(&ct),
            "-o",
            s(&copy),
            "--add-key",
            "k1",
        ],
        b"",
    );
    assert_eq!(std::fs::read(&ct).unwrap(), after);
    assert_eq!(
        keys_of(&copy),
        vec!["local://k2", "local://k3", "local://k1"]
    );
    assert_eq!(home.ok(&["decrypt", "-i", s(&copy)], b""), plain);

    // Typed refusals: a key it already carries, a key it does not, nothing to do.
    for args in [
        vec!["--add-key", "k2"],
        vec!["--remove-key", "missing-key"],
        vec![],
    ] {
        let mut cmd = vec!["envelope", "rewrap", "-i", s(&ct), "-o", s(&copy)];
        cmd.extend(args);
        home.fails(&cmd, b"");
    }
}

#[test]
fn a_directory_rewrap_keeps_a_journal_and_resumes_an_interrupted_header_write() {
    let home = home_with_keys();
    let dir = home.path().join("data");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let files = [
        dir.join("a.kge"),
        dir.join("sub").join("b.kge"),
        dir.join("c.kge"),
    ];
    for (i, f) in files.iter().enumerate() {
        let plain = format!("file {i}");
        home.ok(&["encrypt", "--key", "k1", "-o", s(f)], plain.as_bytes());
    }
    std::fs::write(dir.join("notes.txt"), b"not an envelope").unwrap();

    // A run killed after announcing c.kge's new header, before writing it: its journal
    // holds the header (made here as a copy's header would be).
    let prepared = home.path().join("prepared.kge");
    home.ok(
        &[
            "envelope",
            "rewrap",
            "-i",
            s(&files[2]),
            "-o",
            s(&prepared),
            "--add-key",
            "k2",
        ],
        b"",
    );
    let new = std::fs::read(&prepared).unwrap();
    let (_, hl) = EnvelopeHeader::decode(&new).unwrap();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let journal = dir.join(".keygate-rewrap.journal");
    std::fs::write(
        &journal,
        format!(
            "keygate-rewrap 1 {}\npending {} {}\npending 61",
            hex(b"add k2 remove "),
            hex(files[2].to_str().unwrap().as_bytes()),
            hex(&new[..hl])
        ),
    )
    .unwrap();

    let out = home.run_with(
        &["envelope", "rewrap", "--dir", s(&dir), "--add-key", "k2"],
        b"",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("re-wrapped 2 envelopes"), "{stderr}");
    assert!(stderr.contains("1 done before"), "{stderr}");
    assert!(stderr.contains("1 files are not envelopes"), "{stderr}");
    // The interrupted write was completed with the journal's header: the very bytes.
    assert_eq!(std::fs::read(&files[2]).unwrap(), new);
    for (i, f) in files.iter().enumerate() {
        assert_eq!(keys_of(f), vec!["local://k1", "local://k2"]);
        let plain = home.ok(&["decrypt", "-i", s(f)], b"");
        assert_eq!(plain, format!("file {i}").as_bytes());
    }
    // Re-running skips everything (the file that is not an envelope was recorded too);
    // another operation refuses the old journal.
    let again = home.run_with(
        &["envelope", "rewrap", "--dir", s(&dir), "--add-key", "k2"],
        b"",
    );
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("re-wrapped 0 envelopes") && stderr.contains("4 done before"),
        "{stderr}"
    );
    let other = home.fails(
        &["envelope", "rewrap", "--dir", s(&dir), "--add-key", "k3"],
        b"",
    );
    assert!(other.contains("another re-wrap"), "{other}");
    // With its own journal, files that already carry the keys count as done (the old
    // journal is now just a file that is not an envelope).
    let fresh = home.path().join("fresh.journal");
    let third = home.run_with(
        &[
            "envelope",
            "rewrap",
            "--dir",
            s(&dir),
            "--add-key",
            "k2",
            "--journal",
            s(&fresh),
        ],
        b"",
    );
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert!(
        stderr.contains("3 done before") && stderr.contains("2 files are not envelopes"),
        "{stderr}"
    );
}
