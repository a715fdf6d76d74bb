//! The one place a [`Cond`] becomes a DynamoDB condition expression, and an
//! `ADD` an update expression, with their placeholders.

use super::{Attributes, to_attribute};
use crate::clock::EpochSeconds;
use crate::store::{CmpOp, Cond};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// Expression texts with the names and values they use. DynamoDB refuses
/// unused placeholders, so each part adds only its own. `pk` and
/// `expires_at` are written as they are (neither is a reserved word); other
/// attribute names go through `#n…` placeholders, since some (`count`) are.
#[derive(Debug, Default)]
pub(super) struct Expression {
    pub condition: Option<String>,
    pub update: Option<String>,
    names: HashMap<String, String>,
    values: Attributes,
}

impl Expression {
    /// The condition expression for `cond` at `now` (none for [`Cond::Always`]).
    pub fn condition(cond: &Cond, now: EpochSeconds) -> Self {
        let mut expression = Self::default();
        let text =
            match cond {
                Cond::Always => None,
                Cond::NotLive => {
                    expression.value(":now", AttributeValue::N(now.to_string()));
                    Some("attribute_not_exists(pk) OR expires_at <= :now".to_owned())
                }
                Cond::Live(checks) => {
                    expression.value(":now", AttributeValue::N(now.to_string()));
                    Some(expression.checks("attribute_exists(pk) AND expires_at > :now", checks))
                }
                Cond::Present(checks) => {
                    expression.value(":now", AttributeValue::N(now.to_string()));
                    Some(expression.checks(
                        "attribute_exists(pk) AND (attribute_not_exists(expires_at) OR expires_at > :now)",
                        checks,
                    ))
                }
                Cond::Below { attribute, limit } => {
                    let name = expression.name(attribute);
                    expression.value(":limit", AttributeValue::N(limit.to_string()));
                    Some(format!("attribute_not_exists(pk) OR {name} < :limit"))
                }
            };
        expression.condition = text;
        expression
    }

    /// Adds `ADD <attribute> :by`, and `SET expires_at` where the item has none.
    pub fn with_add(mut self, attribute: &str, by: i64, expires_at: Option<EpochSeconds>) -> Self {
        let name = self.name(attribute);
        self.value(":by", AttributeValue::N(by.to_string()));
        let mut text = format!("ADD {name} :by");
        if let Some(at) = expires_at {
            self.value(":at", AttributeValue::N(at.to_string()));
            text.push_str(" SET expires_at = if_not_exists(expires_at, :at)");
        }
        self.update = Some(text);
        self
    }

    pub fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub fn values(&self) -> Option<Attributes> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    fn checks(&mut self, base: &str, checks: &[crate::store::Check]) -> String {
        let mut text = base.to_owned();
        for check in checks {
            let value = format!(":v{}", self.names.len());
            let name = self.name(check.attribute);
            self.value(&value, to_attribute(&check.value));
            let op = match check.op {
                CmpOp::Eq => "=",
                CmpOp::Lt => "<",
            };
            text.push_str(&format!(" AND {name} {op} {value}"));
        }
        text
    }

    fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    fn value(&mut self, placeholder: &str, value: AttributeValue) {
        self.values.insert(placeholder.to_owned(), value);
    }
}

/// Sets an expression's condition, names and values on an SDK builder
/// (PutItem, DeleteItem, UpdateItem and their transaction forms are distinct types).
macro_rules! with_expression {
    ($builder:expr, $expression:expr) => {{
        let expression = &$expression;
        $builder
            .set_condition_expression(expression.condition.clone())
            .set_expression_attribute_names(expression.names())
            .set_expression_attribute_values(expression.values())
    }};
}
pub(super) use with_expression;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Check, Value};

    fn n(value: i64) -> AttributeValue {
        AttributeValue::N(value.to_string())
    }

    #[test]
    fn always_has_no_condition_and_no_placeholders() {
        let expression = Expression::condition(&Cond::Always, 7);
        assert_eq!(expression.condition, None);
        assert_eq!((expression.names(), expression.values()), (None, None));
    }

    #[test]
    fn not_live_is_absent_or_expired() {
        let expression = Expression::condition(&Cond::NotLive, 7);
        assert_eq!(expression.condition.as_deref(), Some("attribute_not_exists(pk) OR expires_at <= :now"));
        assert_eq!(expression.names(), None);
        assert_eq!(expression.values(), Some(HashMap::from([(":now".to_owned(), n(7))])));
    }

    #[test]
    fn live_is_present_unexpired_and_every_check() {
        let cond = Cond::Live(vec![Check::eq_s("answer", "abcd"), Check::lt("attempts", 5)]);
        let expression = Expression::condition(&cond, 7);
        assert_eq!(
            expression.condition.as_deref(),
            Some("attribute_exists(pk) AND expires_at > :now AND #n0 = :v0 AND #n1 < :v1")
        );
        assert_eq!(
            expression.names(),
            Some(HashMap::from([("#n0".to_owned(), "answer".to_owned()), ("#n1".to_owned(), "attempts".to_owned())]))
        );
        assert_eq!(expression.values().unwrap().get(":v0"), Some(&AttributeValue::S("abcd".to_owned())));
        assert_eq!(expression.values().unwrap().get(":v1"), Some(&n(5)));
    }

    #[test]
    fn present_accepts_permanent_items() {
        let expression = Expression::condition(&Cond::Present(vec![Check::eq("v", Value::N(1))]), 7);
        assert_eq!(
            expression.condition.as_deref(),
            Some("attribute_exists(pk) AND (attribute_not_exists(expires_at) OR expires_at > :now) AND #n0 = :v0")
        );
    }

    #[test]
    fn below_is_absent_or_under_the_limit() {
        let expression = Expression::condition(&Cond::Below { attribute: "count", limit: 10 }, 7);
        assert_eq!(expression.condition.as_deref(), Some("attribute_not_exists(pk) OR #n0 < :limit"));
        assert_eq!(expression.names(), Some(HashMap::from([("#n0".to_owned(), "count".to_owned())])));
        assert_eq!(expression.values(), Some(HashMap::from([(":limit".to_owned(), n(10))])));
    }

    #[test]
    fn an_add_sets_the_expiry_only_where_there_is_none() {
        let expression =
            Expression::condition(&Cond::Below { attribute: "count", limit: 10 }, 7).with_add("count", 1, Some(60));
        assert_eq!(expression.update.as_deref(), Some("ADD #n1 :by SET expires_at = if_not_exists(expires_at, :at)"));
        assert_eq!(expression.names().unwrap().len(), 2);
        let plain = Expression::condition(&Cond::Always, 7).with_add("attempts", -1, None);
        assert_eq!(plain.update.as_deref(), Some("ADD #n0 :by"));
        assert_eq!(plain.values(), Some(HashMap::from([(":by".to_owned(), n(-1))])));
    }
}
