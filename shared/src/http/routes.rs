//! The route table: every route the functions serve, declared once. The
//! local API dispatches by it and the template is checked against it.

/// A Lambda function, one crate under `functions/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::VariantArray)]
pub enum Function {
    Captcha,
    Sms,
    Register,
    Session,
    Account,
}

impl Function {
    /// Every function, derived from the enum so none is left out.
    pub const ALL: &[Function] = <Function as strum::VariantArray>::VARIANTS;

    /// The crate, binary and template name.
    pub fn name(self) -> &'static str {
        match self {
            Function::Captcha => "captcha",
            Function::Sms => "sms",
            Function::Register => "register",
            Function::Session => "session",
            Function::Account => "account",
        }
    }
}

/// One method and path template, as API Gateway spells it (`{name}` is a
/// path parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub function: Function,
}

const fn route(method: &'static str, path: &'static str, function: Function) -> Route {
    Route { method, path, function }
}

/// Every route, each with and without a trailing slash (the original's paths
/// end in `/`, except the session's).
pub const ROUTES: &[Route] = &[
    route("GET", "/image_codes/{uuid}/", Function::Captcha),
    route("GET", "/image_codes/{uuid}", Function::Captcha),
    route("GET", "/sms_codes/{mobile}/", Function::Sms),
    route("GET", "/sms_codes/{mobile}", Function::Sms),
    route("POST", "/register/", Function::Register),
    route("POST", "/register", Function::Register),
    route("POST", "/one_tap_login/", Function::Register),
    route("POST", "/one_tap_login", Function::Register),
    route("POST", "/wechat_login/", Function::Register),
    route("POST", "/wechat_login", Function::Register),
    route("POST", "/wechat_phone/", Function::Register),
    route("POST", "/wechat_phone", Function::Register),
    route("GET", "/session", Function::Session),
    route("GET", "/session/", Function::Session),
    route("DELETE", "/session", Function::Session),
    route("DELETE", "/session/", Function::Session),
    route("POST", "/login/", Function::Account),
    route("POST", "/login", Function::Account),
    route("POST", "/sms_login/", Function::Account),
    route("POST", "/sms_login", Function::Account),
    route("POST", "/password_reset/", Function::Account),
    route("POST", "/password_reset", Function::Account),
    route("DELETE", "/sessions", Function::Account),
    route("DELETE", "/sessions/", Function::Account),
    route("DELETE", "/account", Function::Account),
    route("DELETE", "/account/", Function::Account),
    route("POST", "/account/wechat/", Function::Account),
    route("POST", "/account/wechat", Function::Account),
    route("DELETE", "/account/wechat/", Function::Account),
    route("DELETE", "/account/wechat", Function::Account),
    route("POST", "/account/mobile/", Function::Account),
    route("POST", "/account/mobile", Function::Account),
];

/// What a path matched: the route and its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub route: Route,
    pub parameters: Vec<(String, String)>,
}

/// Why no route was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoMatch {
    /// No route has this path.
    NotFound,
    /// Routes have this path, but not with this method.
    MethodNotAllowed,
}

/// Finds the route for `method` and `path`, as API Gateway would: a
/// parameter matches one non-empty path segment.
pub fn find(method: &str, path: &str) -> Result<Matched, NoMatch> {
    let mut path_matched = false;
    for route in ROUTES {
        if let Some(parameters) = match_path(route.path, path) {
            if route.method == method {
                return Ok(Matched { route: *route, parameters });
            }
            path_matched = true;
        }
    }
    Err(if path_matched { NoMatch::MethodNotAllowed } else { NoMatch::NotFound })
}

/// The methods some route serves at `path`, for a 405's `Allow` header.
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    let mut methods: Vec<&'static str> =
        ROUTES.iter().filter(|route| match_path(route.path, path).is_some()).map(|route| route.method).collect();
    methods.dedup();
    methods
}

fn match_path(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let mut template_segments = template.split('/');
    let mut path_segments = path.split('/');
    let mut parameters = Vec::new();
    loop {
        match (template_segments.next(), path_segments.next()) {
            (None, None) => return Some(parameters),
            (Some(t), Some(p)) if t.starts_with('{') && t.ends_with('}') && !p.is_empty() => {
                parameters.push((t[1..t.len() - 1].to_owned(), p.to_owned()));
            }
            (Some(t), Some(p)) if t == p => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_captcha_path_with_and_without_a_slash_finds_the_captcha_function() {
        for path in ["/image_codes/abc/", "/image_codes/abc"] {
            let matched = find("GET", path).unwrap();
            assert_eq!(matched.route.function, Function::Captcha);
            assert_eq!(matched.parameters, vec![("uuid".to_owned(), "abc".to_owned())]);
        }
    }

    #[test]
    fn an_empty_parameter_does_not_match() {
        assert_eq!(find("GET", "/image_codes//"), Err(NoMatch::NotFound));
    }

    #[test]
    fn extra_segments_do_not_match() {
        assert_eq!(find("GET", "/image_codes/abc/def"), Err(NoMatch::NotFound));
    }

    #[test]
    fn a_known_path_with_another_method_is_not_allowed() {
        assert_eq!(find("PUT", "/session"), Err(NoMatch::MethodNotAllowed));
    }

    #[test]
    fn the_allowed_methods_of_a_path_are_its_routes_methods() {
        assert_eq!(allowed_methods("/session"), vec!["GET", "DELETE"]);
        assert_eq!(allowed_methods("/register/"), vec!["POST"]);
        assert!(allowed_methods("/nowhere").is_empty());
    }

    #[test]
    fn every_route_is_served_with_and_without_its_trailing_slash() {
        for route in ROUTES {
            let other = match route.path.strip_suffix('/') {
                Some(bare) => bare.to_owned(),
                None => format!("{}/", route.path),
            };
            let twin = ROUTES.iter().find(|r| r.method == route.method && r.path == other);
            assert_eq!(twin.map(|r| r.function), Some(route.function), "{} {other}", route.method);
        }
    }

    #[test]
    fn every_function_serves_at_least_one_route() {
        for &function in Function::ALL {
            assert!(ROUTES.iter().any(|r| r.function == function), "{function:?}");
        }
    }
}
