//! Where state is kept and how long a login lasts.

use super::var::{Number, Var};

pub const TABLE_NAME: &str = "TABLE_NAME";
/// 14 days: Django's `SESSION_COOKIE_AGE`.
pub const SESSION_TTL_SECONDS: Number = Number::seconds("SESSION_TTL_SECONDS", 14 * 24 * 3600);

/// The section's variables.
pub(super) const VARIABLES: [Var; 2] = [Var::plain(TABLE_NAME), SESSION_TTL_SECONDS.var()];
