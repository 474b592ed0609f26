//! The bytes of a checkpoint: each task's snapshot is its source's position and one
//! section per stateful operator (and the watermark), each under the operator's id with a
//! fingerprint of its state's types, so that a snapshot is only ever read back into the
//! operator that wrote it. Values are encoded with postcard (compact, not
//! self-describing); the SQL value types encode themselves exactly for it (see
//! [`crate::types`]).

use crate::error::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Appends `value`, encoded, to `out`.
pub fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<()> {
    let bytes = postcard::to_stdvec(value).map_err(|e| Error::State(format!("cannot encode state: {e}")))?;
    out.extend_from_slice(&bytes);
    Ok(())
}

/// Decodes a value from the front of `input`, advancing it.
pub fn decode<T: DeserializeOwned>(input: &mut &[u8]) -> Result<T> {
    let (value, rest) =
        postcard::take_from_bytes(input).map_err(|e| Error::State(format!("cannot decode state: {e}")))?;
    *input = rest;
    Ok(value)
}

/// What a stateful operator does at a checkpoint and a restore.
pub trait Snapshot {
    /// Appends the operator's state to `out`.
    fn save(&mut self, out: &mut Vec<u8>) -> Result<()>;
    /// Replaces the operator's state by what [`save`](Self::save) wrote.
    fn load(&mut self, input: &mut &[u8]) -> Result<()>;
}

/// What an operator keyed by `K` does at a restore from a checkpoint taken at another
/// parallelism: each of the new workers merges the snapshots of the old workers that held
/// some of its key groups, keeping the keys it owns.
pub trait Rescale<K>: Snapshot {
    /// Adds to the operator's state what [`Snapshot::save`] wrote (in another worker) for
    /// the keys `keep` holds; what is not per key (the watermark, the windows pending) is
    /// combined.
    fn merge(&mut self, input: &mut &[u8], keep: &dyn Fn(&K) -> bool) -> Result<()>;
}

/// One section of a task snapshot: an operator's id, its fingerprint and its bytes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Section {
    id: String,
    fingerprint: String,
    bytes: Vec<u8>,
}

/// A task's snapshot while it is written.
#[derive(Debug, Default)]
pub struct SnapshotWriter {
    sections: Vec<Section>,
}

impl SnapshotWriter {
    /// Saves `op` as the section `id` with the fingerprint of its state's layout.
    pub fn save(&mut self, id: &str, fingerprint: &str, op: &mut impl Snapshot) -> Result<()> {
        let mut bytes = Vec::new();
        op.save(&mut bytes)?;
        self.sections.push(Section { id: id.to_string(), fingerprint: fingerprint.to_string(), bytes });
        Ok(())
    }

    /// Each section's id and size in bytes.
    pub fn sizes(&self) -> Vec<(&str, u64)> {
        self.sections.iter().map(|s| (s.id.as_str(), s.bytes.len() as u64)).collect()
    }

    /// The snapshot of a task at `position` (its source's, encoded by the source).
    pub fn finish(self, position: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        encode(&(position, &self.sections), &mut out)?;
        Ok(out)
    }
}

/// A task's snapshot read back, for restoring its source and operators.
#[derive(Debug)]
pub struct SnapshotReader {
    /// Where the snapshot comes from (for messages).
    origin: String,
    position: Vec<u8>,
    sections: Vec<Option<Section>>,
}

impl SnapshotReader {
    /// Reads the snapshot `bytes` that came from `origin` (a file, for messages).
    pub fn new(origin: String, bytes: &[u8]) -> Result<Self> {
        let mut input = bytes;
        let (position, sections): (Vec<u8>, Vec<Section>) =
            decode(&mut input).map_err(|e| Error::State(format!("{origin}: {e}")))?;
        Ok(SnapshotReader { origin, position, sections: sections.into_iter().map(Some).collect() })
    }

    /// The source's position.
    pub fn position(&self) -> &[u8] {
        &self.position
    }

    /// Restores `op` from section `id`, which must have been written with `fingerprint`.
    pub fn load(&mut self, id: &str, fingerprint: &str, op: &mut impl Snapshot) -> Result<()> {
        self.read(id, fingerprint, |input| op.load(input))
    }

    /// Merges section `id` (written with `fingerprint` by a worker at another parallelism)
    /// into `op`, keeping the keys `keep` holds ([`Rescale`]).
    pub fn merge<K>(
        &mut self,
        id: &str,
        fingerprint: &str,
        op: &mut impl Rescale<K>,
        keep: &dyn Fn(&K) -> bool,
    ) -> Result<()> {
        self.read(id, fingerprint, |input| op.merge(input, keep))
    }

    /// Reads section `id`, written with `fingerprint`, whole with `read`.
    fn read(&mut self, id: &str, fingerprint: &str, read: impl FnOnce(&mut &[u8]) -> Result<()>) -> Result<()> {
        let origin = &self.origin;
        let Some(slot) = self.sections.iter_mut().find(|s| s.as_ref().is_some_and(|s| s.id == id)) else {
            return Err(Error::State(format!(
                "{origin} has no state for operator `{id}`: it was taken from a different query \
                 (restore it with the query that wrote it, or start without it)"
            )));
        };
        let section = slot.take().expect("found above");
        if section.fingerprint != fingerprint {
            return Err(Error::State(format!(
                "{origin}: the state of operator `{id}` was written by a query whose state for it differs \
                 (its keys, aggregates or windows changed): it cannot be restored into this one"
            )));
        }
        let mut input = section.bytes.as_slice();
        read(&mut input).map_err(|e| Error::State(format!("{origin}: operator `{id}`: {e}")))?;
        if !input.is_empty() {
            return Err(Error::State(format!("{origin}: operator `{id}`: {} bytes of state left unread", input.len())));
        }
        Ok(())
    }

    /// Checks that every section was restored: state that this query has no operator for
    /// would be lost silently otherwise.
    pub fn done(self) -> Result<()> {
        let left: Vec<String> = self.sections.into_iter().flatten().map(|s| format!("`{}`", s.id)).collect();
        if left.is_empty() {
            return Ok(());
        }
        Err(Error::State(format!(
            "{} holds state for operator(s) {} that this query does not have: it was taken from a different query",
            self.origin,
            left.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq)]
    struct Counter(Vec<(String, i64)>);

    impl Snapshot for Counter {
        fn save(&mut self, out: &mut Vec<u8>) -> Result<()> {
            encode(&self.0, out)
        }
        fn load(&mut self, input: &mut &[u8]) -> Result<()> {
            self.0 = decode(input)?;
            Ok(())
        }
    }

    fn snapshot() -> Vec<u8> {
        let mut w = SnapshotWriter::default();
        w.save("count_0", "f1", &mut Counter(vec![("a".into(), 3), ("b".into(), -1)])).unwrap();
        w.save("count_1", "f2", &mut Counter(vec![])).unwrap();
        w.finish(b"pos").unwrap()
    }

    #[test]
    fn a_snapshot_restores_its_operators_and_position() {
        let mut r = SnapshotReader::new("chk-1".into(), &snapshot()).unwrap();
        assert_eq!(r.position(), b"pos");
        let (mut a, mut b) = (Counter::default(), Counter(vec![("x".into(), 1)]));
        r.load("count_1", "f2", &mut b).unwrap();
        r.load("count_0", "f1", &mut a).unwrap();
        r.done().unwrap();
        assert_eq!(a, Counter(vec![("a".into(), 3), ("b".into(), -1)]));
        assert_eq!(b, Counter(vec![]));
    }

    #[test]
    fn a_snapshot_of_another_query_is_refused() {
        let mut r = SnapshotReader::new("chk-1".into(), &snapshot()).unwrap();
        let err = r.load("count_0", "other", &mut Counter::default()).unwrap_err().to_string();
        assert!(err.contains("operator `count_0`") && err.contains("differs"), "{err}");
        let mut r = SnapshotReader::new("chk-1".into(), &snapshot()).unwrap();
        let err = r.load("window_0", "f1", &mut Counter::default()).unwrap_err().to_string();
        assert!(err.contains("no state for operator `window_0`"), "{err}");
        let mut r = SnapshotReader::new("chk-1".into(), &snapshot()).unwrap();
        r.load("count_0", "f1", &mut Counter::default()).unwrap();
        let err = r.done().unwrap_err().to_string();
        assert!(err.contains("`count_1`") && err.contains("does not have"), "{err}");
        let err = SnapshotReader::new("chk-9".into(), b"\xff\xff").unwrap_err().to_string();
        assert!(err.starts_with("checkpoint: chk-9"), "{err}");
    }
}
