//! The writes of a transaction, each labelled with what its failed
//! condition means, and the refusal that names the labels that failed.

use super::{Cond, Item};
use crate::clock::EpochSeconds;

/// What a write's failed condition means to the service that built it
/// (`"send flag held"`): services tell refusals apart by label, never by
/// the write's position in the transaction.
pub type Label = &'static str;

/// Adds `by` (negative to subtract) to the number `attribute` if `cond`
/// holds, creating the item, and the attribute at 0, if missing, and sets
/// `expires_at`, if given, where the item has none: alone (`Store::add`)
/// or in a transaction (`Op::Add`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    pub pk: String,
    pub attribute: &'static str,
    pub by: i64,
    pub expires_at: Option<EpochSeconds>,
    pub cond: Cond,
}

/// One write, before it is labelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put {
        item: Item,
        cond: Cond,
    },
    Delete {
        pk: String,
        cond: Cond,
    },
    Add(Add),
    /// Writes nothing: the transaction goes through only if `cond` holds.
    Check {
        pk: String,
        cond: Cond,
    },
}

impl Op {
    pub fn pk(&self) -> &str {
        match self {
            Op::Put { item, .. } => item.pk(),
            Op::Delete { pk, .. } | Op::Add(Add { pk, .. }) | Op::Check { pk, .. } => pk,
        }
    }

    pub fn cond(&self) -> &Cond {
        match self {
            Op::Put { cond, .. } | Op::Delete { cond, .. } | Op::Add(Add { cond, .. }) | Op::Check { cond, .. } => cond,
        }
    }

    /// Names what this write's failed condition means.
    pub fn labelled(self, label: Label) -> Write {
        Write { label, op: self }
    }
}

/// A write of a transaction with its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub label: Label,
    pub op: Op,
}

/// One write of a cancelled transaction whose condition failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub label: Label,
    /// The live item the condition saw, if any.
    pub current: Option<Item>,
}

/// A transaction that wrote nothing because conditions failed: which ones,
/// by label.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cancelled {
    failed: Vec<Failed>,
}

impl Cancelled {
    pub fn new(failed: Vec<Failed>) -> Self {
        Self { failed }
    }

    /// `Some(current)` if the write labelled `label` failed, with the live
    /// item its condition saw.
    pub fn failed(&self, label: Label) -> Option<Option<&Item>> {
        self.failed.iter().find(|failed| failed.label == label).map(|failed| failed.current.as_ref())
    }

    /// The labels whose conditions failed.
    pub fn labels(&self) -> impl Iterator<Item = Label> + '_ {
        self.failed.iter().map(|failed| failed.label)
    }
}

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let labels: Vec<Label> = self.labels().collect();
        write!(f, "failed: {}", labels.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_found_by_label_and_shows_no_value() {
        let current = Item::new("smscode#13800138000").with_s("code", "123456");
        let cancelled = Cancelled::new(vec![Failed { label: "send flag held", current: Some(current.clone()) }]);
        assert_eq!(cancelled.failed("send flag held"), Some(Some(&current)));
        assert_eq!(cancelled.failed("captcha wrong"), None);
        let shown = format!("{cancelled} {cancelled:?}");
        assert!(shown.contains("send flag held") && !shown.contains("123456") && !shown.contains("13800138000"));
    }
}
