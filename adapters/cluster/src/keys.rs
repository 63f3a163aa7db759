//! Where the cluster keeps things in etcd, all under one prefix (several
//! clusters may share an etcd).

/// The key layout of one cluster.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix` (e.g. `switchboard/`).
    pub fn new(prefix: &str) -> Keys {
        let mut prefix = prefix.to_owned();
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        Keys { prefix }
    }

    /// `{node} {url}` of the leader, attached to its lease.
    pub fn leader(&self) -> Vec<u8> {
        format!("{}leader", self.prefix).into_bytes()
    }

    /// The sequence of the log's last entry.
    pub fn head(&self) -> Vec<u8> {
        format!("{}head", self.prefix).into_bytes()
    }

    /// The prefix of every log entry.
    pub fn entries(&self) -> Vec<u8> {
        format!("{}log/", self.prefix).into_bytes()
    }

    /// Entry `seq` (zero-padded, so that key order is log order).
    pub fn entry(&self, seq: u64) -> Vec<u8> {
        format!("{}log/{seq:020}", self.prefix).into_bytes()
    }

    /// The sequence of an entry's key.
    pub fn seq_of(&self, key: &[u8]) -> Option<u64> {
        key.strip_prefix(self.entries().as_slice())
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(|s| s.parse().ok())
    }

    /// The seed every node's center is made with (set by the first node).
    pub fn seed(&self) -> Vec<u8> {
        format!("{}seed", self.prefix).into_bytes()
    }

    /// The settings every node must bring (set by the first node).
    pub fn settings(&self) -> Vec<u8> {
        format!("{}settings", self.prefix).into_bytes()
    }

    /// The key visitors' tokens are signed with, shared by every node.
    pub fn auth_secret(&self) -> Vec<u8> {
        format!("{}auth_secret", self.prefix).into_bytes()
    }

    /// The secret the nodes prove themselves to each other with.
    pub fn cluster_secret(&self) -> Vec<u8> {
        format!("{}cluster_secret", self.prefix).into_bytes()
    }

    /// A live node's advertised URL, attached to its lease.
    pub fn node(&self, id: &str) -> Vec<u8> {
        format!("{}nodes/{id}", self.prefix).into_bytes()
    }

    /// The prefix of the live nodes.
    pub fn nodes(&self) -> Vec<u8> {
        format!("{}nodes/", self.prefix).into_bytes()
    }

    /// How far a node has applied the log (its own report).
    pub fn applied(&self, id: &str) -> Vec<u8> {
        format!("{}applied/{id}", self.prefix).into_bytes()
    }

    /// The prefix of the nodes' applied reports.
    pub fn applied_all(&self) -> Vec<u8> {
        format!("{}applied/", self.prefix).into_bytes()
    }

    /// The id within a `nodes/` or `applied/` key.
    pub fn id_of<'a>(&self, key: &'a [u8]) -> &'a str {
        let text = std::str::from_utf8(key).unwrap_or_default();
        text.rsplit('/').next().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_sort_in_log_order_and_parse_back() {
        let k = Keys::new("sb");
        assert!(k.entry(9) < k.entry(10));
        assert!(k.entry(99_999) < k.entry(100_000));
        assert_eq!(k.seq_of(&k.entry(42)), Some(42));
        assert_eq!(k.seq_of(&k.head()), None);
        assert_eq!(k.id_of(&k.node("n2")), "n2");
    }
}
