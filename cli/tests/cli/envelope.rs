//! `encrypt` / `decrypt`: envelopes streamed from and to files.

use std::path::Path;

use keygate_core::envelope::{EnvelopeHeader, TAG_LEN};

use super::Home;

/// Deterministic bytes that do not repeat within a chunk.
fn data(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Temporary output files left in `dir` (there should never be any once keygate exits).
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".keygate-tmp"))
        .collect()
}

#[test]
fn multi_chunk_files_roundtrip_privately_and_decrypt_checks_the_key() {
    let home = Home::new();
    let dir = home.path().to_owned();
    home.ok(&["keys", "create", "files", "--spec", "AES_256"], b"");
    home.ok(&["keys", "create", "other", "--spec", "AES_256"], b"");
    // Three full 64 KiB chunks and a partial one.
    let plain = data(3 * 65536 + 1234);
    let (pt, ct, back) = (dir.join("in.bin"), dir.join("in.kge"), dir.join("out.bin"));
    std::fs::write(&pt, &plain).unwrap();
    home.ok(
        &[
            "encrypt",
            "--key",
            "files",
            "--context",
            "app=x",
            "-i",
            s(&pt),
            "-o",
            s(&ct),
        ],
        b"",
    );
    let sealed = std::fs::read(&ct).unwrap();
    let (header, header_len) = EnvelopeHeader::decode(&sealed).unwrap();
    assert_eq!(header.key_uri, "local://files");
    assert_eq!(header.context.0["app"], "x");
    assert_eq!(sealed.len(), header_len + plain.len() + 4 * TAG_LEN);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&ct).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    home.ok(
        &["decrypt", "--key", "files", "-i", s(&ct), "-o", s(&back)],
        b"",
    );
    assert_eq!(std::fs::read(&back).unwrap(), plain);
    // By URI, with the context, and through stdin/stdout too.
    let out = home.ok(
        &["decrypt", "--key", "local://files", "--context", "app=x"],
        &sealed,
    );
    assert_eq!(out, plain);

    // --key names another key: refused, and nothing written.
    std::fs::remove_file(&back).unwrap();
    let err = home.fails(
        &["decrypt", "--key", "other", "-i", s(&ct), "-o", s(&back)],
        b"",
    );
    assert!(err.contains("local://files"), "{err}");
    assert!(!back.exists());
    assert_eq!(leftovers(&dir), Vec::<String>::new());
}

#[test]
fn truncated_or_reordered_envelopes_fail_and_leave_no_output() {
    let home = Home::new();
    let dir = home.path().to_owned();
    home.ok(&["keys", "create", "k", "--spec", "AES_256"], b"");
    let plain = data(3 * 65536 + 99);
    let (pt, ct) = (dir.join("p"), dir.join("c"));
    std::fs::write(&pt, &plain).unwrap();
    home.ok(&["encrypt", "--key", "k", "-i", s(&pt), "-o", s(&ct)], b"");
    let sealed = std::fs::read(&ct).unwrap();
    let (_, header_len) = EnvelopeHeader::decode(&sealed).unwrap();
    let chunk = 65536 + TAG_LEN;

    // Cut at a chunk boundary: every chunk left authenticates, but none is the final one.
    let truncated = sealed[..header_len + 3 * chunk].to_vec();
    // Chunks 0 and 1 swapped.
    let mut reordered = sealed.clone();
    reordered[header_len..header_len + chunk]
        .copy_from_slice(&sealed[header_len + chunk..header_len + 2 * chunk]);
    reordered[header_len + chunk..header_len + 2 * chunk]
        .copy_from_slice(&sealed[header_len..header_len + chunk]);
    // One byte flipped in the last chunk, after earlier chunks were already released.
    let mut flipped = sealed.clone();
    let last = flipped.len() - 5;
    flipped[last] ^= 1;

    for (name, bad) in [
        ("truncated", truncated),
        ("reordered", reordered),
        ("flipped", flipped),
    ] {
        let input = dir.join(format!("{name}.kge"));
        let output = dir.join(format!("{name}.out"));
        std::fs::write(&input, &bad).unwrap();
        let err = home.fails(&["decrypt", "-i", s(&input), "-o", s(&output)], b"");
        assert!(err.contains("integrity"), "{name}: {err}");
        assert!(!output.exists(), "{name}: partial plaintext left behind");
        std::fs::remove_file(&input).unwrap();
    }
    assert_eq!(leftovers(&dir), Vec::<String>::new());
}

#[test]
fn empty_input_and_non_envelopes() {
    let home = Home::new();
    home.ok(&["keys", "create", "k", "--spec", "AES_256"], b"");
    let ct = home.ok(&["encrypt", "--key", "k"], b"");
    assert_eq!(home.ok(&["decrypt"], &ct), b"");
    // Not an envelope, no key: nothing to route on.
    let err = home.fails(&["decrypt"], b"KG");
    assert!(err.contains("integrity"), "{err}");
    // Not an envelope, with a key: the provider gets it whole, and it does not open.
    let err = home.fails(&["decrypt", "--key", "k"], b"not a ciphertext at all");
    assert!(!err.contains("not a ciphertext at all"), "{err}");
    // A large file that is not an envelope is not read whole into memory.
    let err = home.fails(&["decrypt", "--key", "k"], &data(2 * 1024 * 1024));
    assert!(err.contains("not a keygate envelope"), "{err}");
}

#[test]
fn provider_native_ciphertexts_still_decrypt_with_a_key() {
    use keygate_core::{EncryptionContext, KeyProvider as _};
    let home = Home::new();
    home.ok(&["keys", "create", "old", "--spec", "AES_256"], b"");
    // A ciphertext as keygate wrote them before envelopes: the local provider's own format.
    let native = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let provider = keygate_providers::local::LocalProvider::builder()
                .with_name("local")
                .with_path(home.path().join("local.db"))
                .with_root_key_file(home.path().join("root.key"))
                .build()
                .await
                .unwrap();
            let ctx = EncryptionContext::from_pairs(["app=legacy"]).unwrap();
            provider
                .encrypt("old", b"legacy data", &ctx)
                .await
                .unwrap()
                .bytes
        });
    assert!(!native.starts_with(b"KGE"));
    let out = home.ok(
        &["decrypt", "--key", "old", "--context", "app=legacy"],
        &native,
    );
    assert_eq!(out, b"legacy data");
    // It names no key the CLI could route on.
    let err = home.fails(&["decrypt", "--context", "app=legacy"], &native);
    assert!(err.contains("--key"), "{err}");
}

/// `-o` writes into what it names: a FIFO stays a FIFO, a symlink stays a link (its target
/// gets the output), `/dev/stdout` is the caller's stdout, a device stays a device.
#[cfg(unix)]
#[test]
fn output_into_fifos_links_and_devices_never_replaces_them() {
    use std::io::Read as _;
    use std::os::unix::fs::{FileTypeExt as _, symlink};

    let home = Home::new();
    let dir = home.path();
    home.ok(&["keys", "create", "k", "--spec", "AES_256"], b"");
    let plain = data(300_000);
    let ct = dir.join("ct");
    std::fs::write(&ct, home.ok(&["encrypt", "--key", "k"], &plain)).unwrap();

    // A FIFO, read by another thread while keygate writes into it.
    let fifo = dir.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut got = Vec::new();
            std::fs::File::open(&fifo)
                .unwrap()
                .read_to_end(&mut got)
                .unwrap();
            let _ = tx.send(got);
        });
    }
    home.ok(&["decrypt", "-i", s(&ct), "-o", s(&fifo)], b"");
    // A FIFO replaced by a file is never opened for writing: its reader would wait forever.
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("nothing was written into the FIFO");
    assert_eq!(got, plain);
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert!(leftovers(dir).iter().all(|n| !n.contains("keygate-tmp")));

    // A symlink to a file, and a dangling one: the links stay, their targets get the output.
    let target = dir.join("target.txt");
    std::fs::write(&target, b"old").unwrap();
    symlink(&target, dir.join("link")).unwrap();
    home.ok(&["decrypt", "-i", s(&ct), "-o", s(&dir.join("link"))], b"");
    assert!(
        std::fs::symlink_metadata(dir.join("link"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&target).unwrap(), plain);
    symlink("made-by-keygate", dir.join("dangling")).unwrap();
    home.ok(
        &["decrypt", "-i", s(&ct), "-o", s(&dir.join("dangling"))],
        b"",
    );
    assert!(
        std::fs::symlink_metadata(dir.join("dangling"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(dir.join("made-by-keygate")).unwrap(), plain);

    // /dev/stdout is the caller's stdout (a pipe here), not a file to rename over.
    let out = home.ok(&["decrypt", "-i", s(&ct), "-o", "/dev/stdout"], b"");
    assert_eq!(out, plain);

    // A character device (the null device), where the test may create one.
    let dev = dir.join("null");
    let mknod = std::process::Command::new("mknod")
        .args(["-m", "666"])
        .arg(&dev)
        .args(["c", "1", "3"])
        .output();
    match mknod {
        Ok(o) if o.status.success() => {
            home.ok(&["decrypt", "-i", s(&ct), "-o", s(&dev)], b"");
            let kind = std::fs::symlink_metadata(&dev).unwrap().file_type();
            assert!(kind.is_char_device(), "{kind:?}");
        }
        _ => eprintln!("skipped the character device case: mknod needs root here"),
    }
    // A directory is refused with one line, and nothing is left behind.
    let err = home.fails(&["decrypt", "-i", s(&ct), "-o", s(dir)], b"");
    assert!(err.contains("directory"), "{err}");
    assert!(leftovers(dir).iter().all(|n| !n.contains("keygate-tmp")));
}

/// A `decrypt -o` killed while it writes leaves no plaintext behind: not under the name
/// asked for, not under any temporary name; a temporary file a killed run left under the
/// fallback name is removed by the next run.
#[cfg(target_os = "linux")]
#[test]
fn a_killed_decrypt_leaves_no_partial_plaintext() {
    use std::io::Write as _;

    let home = Home::new();
    let dir = home.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    home.ok(&["keys", "create", "k", "--spec", "AES_256"], b"");
    let plain = data(4 * 1024 * 1024);
    let ct = home.ok(&["encrypt", "--key", "k"], &plain);
    let fifo = home.path().join("in.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let out = dir.join("plain.bin");
    let mut child = home
        .cmd(&["decrypt", "-i", s(&fifo), "-o", s(&out)])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Opening the FIFO waits for keygate to open it; half the envelope, then nothing more.
    let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    writer.write_all(&ct[..ct.len() / 2]).unwrap();
    // Wait until keygate holds its output file open, with plaintext written into it.
    let fds = format!("/proc/{}/fd", child.id());
    let started = std::time::Instant::now();
    let writing = loop {
        let open_output = std::fs::read_dir(&fds)
            .into_iter()
            .flatten()
            .flatten()
            .find_map(|fd| {
                let target = std::fs::read_link(fd.path()).ok()?;
                target
                    .starts_with(&dir)
                    .then(|| std::fs::metadata(fd.path()).ok())
                    .flatten()
            });
        if let Some(meta) = open_output.filter(|m| m.len() > 0) {
            break meta.len();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "keygate never wrote"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(writing > 0);
    child.kill().unwrap();
    child.wait().unwrap();
    drop(writer);
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    // With O_TMPFILE nothing was ever named; without it, the named temporary file stays
    // until the next run, checked below.
    assert!(!out.exists());
    assert!(
        left.iter()
            .all(|n| n.to_string_lossy().contains(".keygate-tmp-")),
        "{left:?}"
    );

    // The fallback's leftover of a killed run (its pid gone) goes at the next run.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let stale = dir.join(format!(".plain.bin.keygate-tmp-{dead}-0123456789ab"));
    std::fs::write(&stale, &plain[..1000]).unwrap();
    let small = home.ok(&["encrypt", "--key", "k"], b"hello");
    let ct_path = home.path().join("small.kge");
    std::fs::write(&ct_path, small).unwrap();
    home.ok(
        &[
            "decrypt",
            "-i",
            s(&ct_path),
            "-o",
            s(&dir.join("small.txt")),
        ],
        b"",
    );
    assert_eq!(std::fs::read(dir.join("small.txt")).unwrap(), b"hello");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["small.txt".to_owned()], "{left:?}");
}
