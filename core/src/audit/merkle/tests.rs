//! RFC 6962 test vectors (the certificate-transparency reference leaves and roots) and
//! round trips of every proof against a naive tree.
#![allow(clippy::unwrap_used)]

use super::*;

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn h(hex: &str) -> Hash {
    parse_hex(hex).unwrap()
}

fn leaves() -> Vec<Hash> {
    LEAVES.iter().map(|l| leaf_hash(&bytes(l))).collect()
}

#[test]
fn roots_match_the_reference_vectors() {
    let leaves = leaves();
    let mut range = CompactRange::new();
    assert_eq!(
        crate::audit::hex(&range.root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    for (i, leaf) in leaves.iter().enumerate() {
        range.push(*leaf);
        assert_eq!(range.size(), i as u64 + 1);
        assert_eq!(range.root(), h(ROOTS[i]), "compact range, size {}", i + 1);
        assert_eq!(
            root(&leaves[..=i]),
            h(ROOTS[i]),
            "full tree, size {}",
            i + 1
        );
    }
}

#[test]
fn proofs_match_the_reference_vectors() {
    let leaves = leaves();
    let inclusion = inclusion_proof(&leaves, 5).unwrap();
    assert_eq!(
        inclusion,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ]
    );
    verify_inclusion(5, 8, &leaves[5], &inclusion, &h(ROOTS[7])).unwrap();
    verify_inclusion(4, 8, &leaves[5], &inclusion, &h(ROOTS[7])).unwrap_err();
    let consistency = consistency_proof(&leaves, 6).unwrap();
    assert_eq!(
        consistency,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ]
    );
    verify_consistency(6, 8, &consistency, &h(ROOTS[5]), &h(ROOTS[7])).unwrap();
    verify_consistency(6, 8, &consistency, &h(ROOTS[4]), &h(ROOTS[7])).unwrap_err();
    let short = consistency_proof(&leaves[..5], 2).unwrap();
    assert_eq!(
        short,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ]
    );
    verify_consistency(2, 5, &short, &h(ROOTS[1]), &h(ROOTS[4])).unwrap();
}

#[test]
fn every_proof_round_trips_and_any_change_fails() {
    let leaves: Vec<Hash> = (0u32..37).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    for n in 1..=leaves.len() {
        let tree = &leaves[..n];
        let r = root(tree);
        for i in 0..n {
            let proof = inclusion_proof(tree, i as u64).unwrap();
            verify_inclusion(i as u64, n as u64, &tree[i], &proof, &r).unwrap();
            let other = leaf_hash(b"forged");
            verify_inclusion(i as u64, n as u64, &other, &proof, &r).unwrap_err();
        }
        for m in 0..=n {
            let proof = consistency_proof(tree, m as u64).unwrap();
            let old = root(&tree[..m]);
            verify_consistency(m as u64, n as u64, &proof, &old, &r).unwrap();
            if m > 0 && m < n {
                let mut bad = proof.clone();
                bad[0][0] ^= 1;
                verify_consistency(m as u64, n as u64, &bad, &old, &r).unwrap_err();
                let wrong_old = root(&leaves[1..=m]);
                verify_consistency(m as u64, n as u64, &proof, &wrong_old, &r).unwrap_err();
            }
        }
    }
    inclusion_proof(&leaves[..3], 3).unwrap_err();
    consistency_proof(&leaves[..3], 4).unwrap_err();
    verify_consistency(4, 3, &[], &root(&leaves[..4]), &root(&leaves[..3])).unwrap_err();
}

#[test]
fn a_range_rebuilt_from_its_hashes_extends_like_the_original() {
    let leaves = leaves();
    for size in 0..=leaves.len() {
        let mut range = CompactRange::new();
        leaves[..size].iter().for_each(|l| range.push(*l));
        let mut rebuilt = CompactRange::from_hashes(range.size(), &range.hashes()).unwrap();
        assert_eq!(rebuilt, range);
        leaves[size..].iter().for_each(|l| rebuilt.push(*l));
        assert_eq!(rebuilt.root(), root(&leaves), "from size {size}");
    }
    assert!(CompactRange::from_hashes(5, &[[0; 32]]).is_err());
    assert!(CompactRange::from_hashes(4, &[[0; 32], [1; 32]]).is_err());
}
