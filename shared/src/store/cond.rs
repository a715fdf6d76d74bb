//! Conditions on the item a write touches, evaluated atomically with it.

use super::{Item, Value};
use crate::clock::EpochSeconds;

/// A condition on the stored item; [`Cond::holds`] is the reference
/// semantics that both stores implement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// No condition.
    Always,
    /// No live item: absent, or present with `expires_at <= now`. For
    /// permanent items (no `expires_at`) this is plain absence.
    NotLive,
    /// A live expiring item (`expires_at > now`) whose attributes pass every check.
    Live(Vec<Check>),
    /// A live item, permanent or expiring, whose attributes pass every check.
    Present(Vec<Check>),
    /// No item, or one whose number `attribute` is below `limit`: for
    /// counters, whose keys name their time window (an expired window's key
    /// is never written again).
    Below { attribute: &'static str, limit: i64 },
}

impl Cond {
    /// Whether the condition holds for the stored item (live or not) at `now`.
    pub fn holds(&self, stored: Option<&Item>, now: EpochSeconds) -> bool {
        let passes = |item: &Item, checks: &[Check]| checks.iter().all(|check| check.passes(item));
        match self {
            Cond::Always => true,
            Cond::NotLive => stored.is_none_or(|item| !item.is_live(now)),
            Cond::Live(checks) => {
                stored.is_some_and(|item| item.expires_at().is_some_and(|at| at > now) && passes(item, checks))
            }
            Cond::Present(checks) => stored.is_some_and(|item| item.is_live(now) && passes(item, checks)),
            Cond::Below { attribute, limit } => {
                stored.is_none_or(|item| matches!(item.get(attribute), Some(Value::N(n)) if n < limit))
            }
        }
    }
}

/// One comparison of a stored attribute with a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub attribute: &'static str,
    pub op: CmpOp,
    pub value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Lt,
}

impl Check {
    pub fn eq(attribute: &'static str, value: Value) -> Self {
        Self { attribute, op: CmpOp::Eq, value }
    }

    /// `attribute` equals the string `value`.
    pub fn eq_s(attribute: &'static str, value: impl Into<String>) -> Self {
        Self::eq(attribute, Value::S(value.into()))
    }

    pub fn lt(attribute: &'static str, value: i64) -> Self {
        Self { attribute, op: CmpOp::Lt, value: Value::N(value) }
    }

    fn passes(&self, item: &Item) -> bool {
        match (self.op, item.get(self.attribute), &self.value) {
            (CmpOp::Eq, Some(stored), value) => stored == value,
            (CmpOp::Lt, Some(Value::N(stored)), Value::N(value)) => stored < value,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_needs_an_expiry_in_the_future_and_present_accepts_permanent_items() {
        let permanent = Item::new("user#a").with_s("x", "1");
        let expiring = Item::new("k#1").with_s("x", "1").expiring_at(10);
        assert!(!Cond::Live(vec![]).holds(Some(&permanent), 5));
        assert!(Cond::Live(vec![Check::eq_s("x", "1")]).holds(Some(&expiring), 5));
        assert!(!Cond::Live(vec![]).holds(Some(&expiring), 10));
        assert!(Cond::Present(vec![Check::eq_s("x", "1")]).holds(Some(&permanent), 5));
        assert!(!Cond::Present(vec![Check::eq_s("x", "2")]).holds(Some(&permanent), 5));
        assert!(!Cond::Present(vec![]).holds(Some(&expiring), 10));
        assert!(!Cond::Present(vec![]).holds(None, 5));
    }

    #[test]
    fn below_holds_for_no_item_and_for_a_smaller_count_only() {
        let below = Cond::Below { attribute: "count", limit: 2 };
        assert!(below.holds(None, 0));
        assert!(below.holds(Some(&Item::new("c").with_n("count", 1)), 0));
        assert!(!below.holds(Some(&Item::new("c").with_n("count", 2)), 0));
        assert!(!below.holds(Some(&Item::new("c")), 0));
    }
}
