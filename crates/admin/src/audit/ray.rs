//! The request id: 16 random hex digits, like a Cloudflare Ray ID, made for every admin
//! request, put in its extensions as [`RayId`] and returned in the `cf-ray` response header.
//! Audit records store it as `raw.cf_ray_id`, so a caller can find the record of a request.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The id of the request being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RayId(pub String);

/// The response header that carries the request id.
pub const RAY_HEADER: &str = "cf-ray";

impl RayId {
    /// A new random id (time-ordered randomness is not needed: ids are looked up, not sorted).
    pub fn new() -> Self {
        let mut bytes = [0u8; 8];
        if getrandom::fill(&mut bytes).is_err() {
            // No OS randomness: the random part of a ULID (base 32 rather than hex; still unique).
            let ulid = aigw_core::ids::new_ulid(0);
            return RayId(ulid[ulid.len() - 16..].to_ascii_lowercase());
        }
        RayId(hex::encode(bytes))
    }
}

impl Default for RayId {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware: gives the request its id and the response its `cf-ray` header.
pub(crate) async fn ray_layer(mut req: Request, next: Next) -> Response {
    let ray = req.extensions().get::<RayId>().cloned().unwrap_or_default();
    req.extensions_mut().insert(ray.clone());
    let mut response = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&ray.0) {
        response.headers_mut().insert(RAY_HEADER, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_sixteen_hex_digits_and_differ() {
        let (a, b) = (RayId::new(), RayId::new());
        assert_eq!(a.0.len(), 16);
        assert!(a.0.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
