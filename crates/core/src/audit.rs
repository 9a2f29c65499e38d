//! The audit trail's record: one administrative action (a change through the admin API or the
//! CLI, a log-in or log-out, a failed authentication or a permission denial), with the fields
//! of Cloudflare's Audit Logs v2 (seed 004): account, action, actor, raw request, resource.
//!
//! Records are built by whoever performs the action and appended by
//! `aigw_store::audit::append` in the same transaction as the change. The store redacts
//! secrets from `resource.request`, `resource.response` and the query of `raw.uri` on the way
//! in (see [`redact`]), so builders may hand over bodies as they are.
//!
//! # Layout
//! - this file: [`AuditRecord`] and its parts, the enums with their wire names, the product
//!   names aigw uses and their categories.
//! - [`query`]: the list query (since/before, filters and their `.not` forms, direction,
//!   limit, cursor) and its query-string parser.
//! - [`redact`]: removal of secrets from what a record stores.

pub mod query;
pub mod redact;

use serde_json::Value;

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// A ULID (26 characters, sortable by time), unique across accounts.
    pub id: String,
    pub account: AuditAccount,
    pub action: AuditAction,
    pub actor: AuditActor,
    pub raw: AuditRaw,
    pub resource: AuditResource,
    /// Always empty in aigw (there are no zones); kept so that zone filters have a column.
    pub zone: AuditZone,
}

impl AuditRecord {
    /// The record with `resource.response` set (e.g. to what the change produced).
    pub fn with_response(mut self, response: Value) -> Self {
        self.resource.response = Some(response);
        self
    }

    /// The record with `resource.id` set (e.g. to an id the change assigned).
    pub fn with_resource_id(mut self, id: &str) -> Self {
        self.resource.id = Some(id.to_string());
        self
    }
}

/// The account the action was performed in (the `{account_id}` of the request path).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditAccount {
    pub id: String,
    /// The configured name of the account, when it has one.
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditAction {
    pub kind: ActionType,
    pub result: ActionResult,
    /// A short sentence, e.g. "Create gateway" or "Authentication failed".
    pub description: String,
    /// When the action happened, ms since the Unix epoch.
    pub time_ms: i64,
}

/// Who performed the action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditActor {
    /// The account id for account-owned API tokens (as Cloudflare reports them), the user id
    /// for users, a fixed name for the system (`cli`, `aigw`); `None` when unknown (a request
    /// without valid credentials).
    pub id: Option<String>,
    pub kind: ActorType,
    /// How the actor authenticated; `None` for the system and for missing credentials.
    pub context: Option<ActorContext>,
    pub email: Option<String>,
    pub ip_address: Option<String>,
    pub token_id: Option<String>,
    pub token_name: Option<String>,
}

impl AuditActor {
    /// The local operator acting through the `aigw` command line (`id` = `cli`).
    pub fn cli() -> Self {
        Self::system("cli")
    }

    /// aigw itself or another non-human actor named `id`.
    pub fn system(id: &str) -> Self {
        Self {
            id: Some(id.to_string()),
            kind: ActorType::System,
            context: None,
            email: None,
            ip_address: None,
            token_id: None,
            token_name: None,
        }
    }
}

/// The request as it arrived and the status it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRaw {
    /// The request id, also returned to the caller in the `cf-ray` response header.
    pub cf_ray_id: String,
    /// HTTP method; `None` outside HTTP (the CLI).
    pub method: Option<String>,
    pub status_code: Option<u16>,
    /// Path and query of the request (or the CLI command); secrets in the query are redacted.
    pub uri: Option<String>,
    pub user_agent: Option<String>,
}

/// What was acted on.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditResource {
    /// The resource's id (a gateway id, a log id, a token id, ...), when there is one.
    pub id: Option<String>,
    /// One of [`product`]'s names.
    pub product: String,
    /// The kind of resource, singular: `gateway`, `log`, `token`, `key`, `user`, `session`.
    pub kind: String,
    /// `accounts` for everything aigw has (the other Cloudflare scopes are `user`, `zones`,
    /// `memberships`).
    pub scope: String,
    /// What the caller asked for (body or query), secrets redacted.
    pub request: Option<Value>,
    /// What the change produced, secrets redacted.
    pub response: Option<Value>,
}

impl AuditResource {
    /// A resource in the account scope with neither request nor response.
    pub fn new(product: &str, kind: &str, id: Option<&str>) -> Self {
        Self {
            id: id.map(str::to_string),
            product: product.to_string(),
            kind: kind.to_string(),
            scope: "accounts".to_string(),
            request: None,
            response: None,
        }
    }

    pub fn with_request(mut self, request: Value) -> Self {
        self.request = Some(request);
        self
    }

    pub fn with_response(mut self, response: Value) -> Self {
        self.response = Some(response);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditZone {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// Declares a string-backed enum with its wire names, `as_str` and `parse`.
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every wire name, in declaration order.
            pub const ALL: &'static [&'static str] = &[$($wire),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

wire_enum!(
    /// `action.type`.
    ActionType { Create = "create", Update = "update", Delete = "delete", View = "view" }
);
wire_enum!(
    /// `action.result`.
    ActionResult { Success = "success", Failure = "failure" }
);
wire_enum!(
    /// `actor.type`. aigw writes `account` (API tokens), `user` (people) and `system`.
    ActorType {
        Account = "account",
        CloudflareAdmin = "cloudflare_admin",
        DelegatedService = "delegated_service",
        System = "system",
        User = "user",
    }
);
wire_enum!(
    /// `actor.context`. aigw writes `api_token` (Bearer), `api_key` (X-Auth-Email + X-Auth-Key)
    /// and `dash` (the web UI's session).
    ActorContext {
        Api = "api",
        ApiKey = "api_key",
        ApiToken = "api_token",
        Dash = "dash",
        Oauth = "oauth",
        OriginCaKey = "origin_ca_key",
    }
);
wire_enum!(
    /// `resource.scope` values Cloudflare filters accept.
    ResourceScope { Accounts = "accounts", User = "user", Zones = "zones", Memberships = "memberships" }
);

impl ActionType {
    /// What an HTTP method does: GET/HEAD view, POST create, PUT/PATCH update, DELETE delete.
    pub fn from_method(method: &str) -> Self {
        match method {
            "POST" => ActionType::Create,
            "PUT" | "PATCH" => ActionType::Update,
            "DELETE" => ActionType::Delete,
            _ => ActionType::View,
        }
    }
}

/// `resource.product` names. Handlers record their changes with these, and the admin API's
/// audit layer maps each route's collection to the same names when it records a failed
/// request (`aigw-admin`'s `audit/layer.rs`), so both kinds of record agree.
pub mod product {
    /// Gateways and their logs (`/ai-gateway/...`).
    pub const AI_GATEWAY: &str = "ai_gateway";
    /// The audit trail itself (`/logs/audit`; only failed attempts to read it are recorded).
    pub const LOGS: &str = "logs";
    /// Admin API tokens (`aigw tokens ...`).
    pub const TOKENS: &str = "tokens";
    /// Virtual keys.
    pub const KEYS: &str = "keys";
    /// Users of the web UI.
    pub const USERS: &str = "users";
    /// Log-ins and log-outs of the web UI.
    pub const SESSIONS: &str = "sessions";
}

/// A product category of the `product_category` filter: its value, label and products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductCategory {
    pub value: &'static str,
    pub label: &'static str,
    /// `(resource_product value, label)`.
    pub products: &'static [(&'static str, &'static str)],
}

/// The product categories aigw knows (`GET .../logs/audit/product_categories`).
pub const PRODUCT_CATEGORIES: &[ProductCategory] = &[
    ProductCategory { value: "ai_gateway", label: "AI Gateway", products: &[(product::AI_GATEWAY, "AI Gateway")] },
    ProductCategory {
        value: "access_management",
        label: "Access management",
        products: &[
            (product::TOKENS, "API tokens"),
            (product::KEYS, "Virtual keys"),
            (product::USERS, "Users"),
            (product::SESSIONS, "Sessions"),
        ],
    },
    ProductCategory { value: "audit", label: "Audit Logs", products: &[(product::LOGS, "Audit Logs")] },
];

/// The category named `value`, matched case-insensitively.
pub fn product_category(value: &str) -> Option<&'static ProductCategory> {
    PRODUCT_CATEGORIES.iter().find(|c| c.value.eq_ignore_ascii_case(value.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for s in ActorContext::ALL {
            assert_eq!(ActorContext::parse(s).map(|c| c.as_str()), Some(*s));
        }
        assert_eq!(ActorType::parse("robot"), None);
        assert_eq!(ActionType::from_method("PATCH"), ActionType::Update);
        assert_eq!(ActionType::from_method("GET"), ActionType::View);
    }

    #[test]
    fn categories_match_case_insensitively() {
        assert_eq!(product_category("AI_Gateway").map(|c| c.products[0].0), Some(product::AI_GATEWAY));
        assert!(product_category("dns").is_none());
    }
}
