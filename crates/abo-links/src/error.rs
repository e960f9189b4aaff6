//! The crate's one error type (house rule: one error enum per crate).

/// Everything that can go wrong in `abo-links`.
///
/// Each function documents which variants it returns. The rejection reasons of the crylk
/// validator are not errors (a rejected crylk falls back to the customer's home) and live in
/// [`crate::RejectReason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a token of ours: wrong characters or length, bad base64, unknown version, or
    /// a payload that does not parse.
    #[error("malformed link token")]
    Malformed,
    /// The token's key id is not in the keyring (rotated out, or another business's key).
    #[error("link token signed with an unknown key")]
    UnknownKey,
    /// The signature does not match: the token was forged or altered.
    #[error("link token signature does not match")]
    BadSignature,
    /// The link's lifetime is over.
    #[error("link has expired")]
    Expired,
    /// The link was issued before the customer's current links epoch: it was revoked.
    #[error("link has been revoked")]
    Revoked,
    /// The link belongs to another business than the one serving the request.
    #[error("link belongs to another business")]
    WrongBusiness,
    /// Two keys with the same key id in one keyring.
    #[error("duplicate link key id {0}")]
    DuplicateKeyId(u16),
    /// A `%` not followed by two hexadecimal digits.
    #[error("invalid percent-encoding")]
    InvalidPercentEncoding,
    /// Percent-decoding produced bytes that are not UTF-8.
    #[error("percent-decoded value is not UTF-8")]
    NotUtf8,
    /// A merchant integration URL or Abo base URL was refused; the detail says why.
    #[error("invalid URL: {0}")]
    InvalidUrl(UrlProblem),
}

/// Why a merchant integration URL ("URL of the integrated form/portal") or an Abo base URL
/// was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    /// Empty, or longer than [`crate::MAX_URL_LEN`].
    #[error("empty or too long")]
    Length,
    /// Control characters, whitespace, backslashes or non-ASCII characters (enter IDN hosts
    /// in their punycode form).
    #[error("forbidden character")]
    ForbiddenChar,
    /// Not an absolute `http://` or `https://` URL.
    #[error("scheme must be https (or http for a loopback host)")]
    Scheme,
    /// `http` for a host that is not loopback: the portal would be framed over clear text.
    #[error("http is only allowed for loopback hosts")]
    InsecureHttp,
    /// `user:password@` in the authority.
    #[error("user information is not allowed")]
    UserInfo,
    /// Missing or malformed host.
    #[error("invalid host")]
    Host,
    /// Malformed or zero port.
    #[error("invalid port")]
    Port,
    /// A malformed `%` escape in the path, query or fragment.
    #[error("invalid percent-encoding")]
    PercentEncoding,
    /// A base URL (see [`crate::LinkPolicy::for_base_url`]) with a path, query or fragment:
    /// hosted pages are served at the root of their host.
    #[error("a base URL must not have a path, query or fragment")]
    NotABase,
}
