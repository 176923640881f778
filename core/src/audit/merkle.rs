//! The RFC 6962 Merkle tree over the audit rows (RFC 9162 §2.1): leaf hash
//! `SHA-256(0x00 || data)`, interior node `SHA-256(0x01 || left || right)`, the empty tree's
//! root `SHA-256("")`; inclusion and consistency proofs and their verification.

use aws_lc_rs::digest;

use crate::error::{Error, Result};

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// The hash of one leaf: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&[0]);
    ctx.update(data);
    to_hash(ctx.finish())
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&[1]);
    ctx.update(left);
    ctx.update(right);
    to_hash(ctx.finish())
}

fn to_hash(d: digest::Digest) -> Hash {
    let mut h = [0u8; 32];
    h.copy_from_slice(d.as_ref());
    h
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    to_hash(digest::digest(&digest::SHA256, b""))
}

/// The tree's right edge: the roots of the perfect subtrees that make up a tree of `size`
/// leaves, left to right (one per set bit of `size`). Appending a leaf and computing the root
/// cost O(log size) hashes and memory, so a writer can follow the tree without its leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    /// (height, root) of each perfect subtree, heights strictly decreasing.
    nodes: Vec<(u32, Hash)>,
}

impl CompactRange {
    /// The range of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many leaves the tree holds.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends the leaf whose hash is `leaf`.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (0u32, leaf);
        while let Some(&(height, left)) = self.nodes.last() {
            if height != node.0 {
                break;
            }
            self.nodes.pop();
            node = (height + 1, node_hash(&left, &node.1));
        }
        self.nodes.push(node);
        self.size += 1;
    }

    /// The roots of the perfect subtrees, left to right (one per set bit of
    /// [`size`](Self::size), the largest first): with the size, all a verifier needs to go on
    /// extending the tree later ([`CompactRange::from_hashes`]).
    pub fn hashes(&self) -> Vec<Hash> {
        self.nodes.iter().map(|&(_, hash)| hash).collect()
    }

    /// The range of a tree of `size` leaves whose subtree roots are `hashes`, as
    /// [`CompactRange::hashes`] returned them. Nothing here proves they are that tree's: a
    /// caller holding a signed root compares it with [`root`](Self::root).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when there is not one hash per set bit of `size`.
    pub fn from_hashes(size: u64, hashes: &[Hash]) -> Result<Self> {
        if usize::try_from(size.count_ones()).ok() != Some(hashes.len()) {
            return Err(Error::invalid(format!(
                "a tree of {size} leaves has {} subtree roots, not {}",
                size.count_ones(),
                hashes.len()
            )));
        }
        let heights = (0..u64::BITS).rev().filter(|h| size & (1u64 << h) != 0);
        Ok(Self {
            size,
            nodes: heights.zip(hashes.iter().copied()).collect(),
        })
    }

    /// The root hash of the tree so far.
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some(&(_, mut root)) = nodes.next() else {
            return empty_root();
        };
        for (_, left) in nodes {
            root = node_hash(left, &root);
        }
        root
    }
}

/// The root of the tree over `leaves` (leaf hashes), computed from all of them.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let k = n.next_power_of_two();
    if k == n { n / 2 } else { k / 2 }
}

/// The inclusion proof (audit path) of leaf `index` in the tree over `leaves`.
///
/// # Errors
/// [`Error::InvalidArgument`] when `index` is not a leaf of the tree.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>> {
    let index = usize::try_from(index)
        .ok()
        .filter(|&i| i < leaves.len())
        .ok_or_else(|| {
            Error::invalid(format!(
                "leaf {index} is not in a tree of {} leaves",
                leaves.len()
            ))
        })?;
    let mut path = Vec::new();
    path_into(leaves, index, &mut path);
    Ok(path)
}

fn path_into(leaves: &[Hash], index: usize, path: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split(leaves.len());
    if index < k {
        path_into(&leaves[..k], index, path);
        path.push(root(&leaves[k..]));
    } else {
        path_into(&leaves[k..], index - k, path);
        path.push(root(&leaves[..k]));
    }
}

/// The consistency proof that the tree over `leaves` extends its first `old_size` leaves.
///
/// # Errors
/// [`Error::InvalidArgument`] when `old_size` exceeds the tree.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>> {
    let m = usize::try_from(old_size)
        .ok()
        .filter(|&m| m <= leaves.len())
        .ok_or_else(|| {
            Error::invalid(format!(
                "a tree of {} leaves does not extend one of {old_size}",
                leaves.len()
            ))
        })?;
    let mut proof = Vec::new();
    if m > 0 && m < leaves.len() {
        subproof(m, leaves, true, &mut proof);
    }
    Ok(proof)
}

fn subproof(m: usize, leaves: &[Hash], whole: bool, proof: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !whole {
            proof.push(root(leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &leaves[..k], whole, proof);
        proof.push(root(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], false, proof);
        proof.push(root(&leaves[..k]));
    }
}

fn proof_error(what: &str) -> Error {
    Error::invalid(format!("{what} proof does not verify"))
}

/// Checks that `leaf` (a leaf hash) is leaf `index` of the tree of `size` leaves whose root is
/// `root` (RFC 9162 §2.1.3.2).
///
/// # Errors
/// [`Error::InvalidArgument`] when it is not.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    if index >= size {
        return Err(proof_error("inclusion"));
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(proof_error("inclusion"));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode == 0 && r == *root {
        Ok(())
    } else {
        Err(proof_error("inclusion"))
    }
}

/// Checks that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2). Every tree extends the empty
/// one, with an empty proof.
///
/// # Errors
/// [`Error::InvalidArgument`] when it does not.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<()> {
    let fail = || Err(proof_error("consistency"));
    if old_size > new_size {
        return fail();
    }
    if old_size == 0 {
        return if proof.is_empty() && *old_root == empty_root() {
            Ok(())
        } else {
            fail()
        };
    }
    if old_size == new_size {
        return if proof.is_empty() && old_root == new_root {
            Ok(())
        } else {
            fail()
        };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return fail();
    };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return fail();
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if fr == *old_root && sr == *new_root && snode == 0 {
        Ok(())
    } else {
        fail()
    }
}

/// Serde of a [`Hash`](type@Hash) as lowercase hex.
pub mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Hash;

    /// Writes the hash as lowercase hex.
    pub fn serialize<S: Serializer>(hash: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::audit::hex(hash))
    }

    /// Reads a hash from 64 hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_hex(&text).ok_or_else(|| serde::de::Error::custom("not 64 hex digits"))
    }
}

/// A hash from 64 hex digits.
pub fn parse_hex(text: &str) -> Option<Hash> {
    if text.len() != 64 {
        return None;
    }
    let mut h = [0u8; 32];
    for (i, b) in h.iter_mut().enumerate() {
        *b = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(h)
}

#[cfg(test)]
mod tests;
