//! Businesses and their secrets: API credentials and link-signing keys.

use crate::error::{Result, ServiceError};
use abo_store::{Store, businesses, credentials, link_keys};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// What an operator gives to create a business.
#[derive(Debug, Clone)]
pub struct BusinessSpec {
    pub name: String,
    /// ISO 3166-1 alpha-2 country of the business (its default tax rules).
    pub country: String,
    pub default_language: String,
    /// Test businesses get sandbox gateways and a movable clock.
    pub is_test: bool,
}

/// A pair of API credentials. The API key is only ever shown here, once:
/// the store keeps its hash.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Credentials {
    pub agent_key: String,
    pub api_key: String,
}

pub struct CreatedBusiness {
    pub business: businesses::Business,
    pub credentials: Credentials,
}

/// Creates a business with one pair of API credentials and a link-signing key.
pub async fn create_business(
    store: &Store,
    spec: &BusinessSpec,
    now_us: i64,
) -> Result<CreatedBusiness> {
    let name = spec.name.trim();
    if name.is_empty() {
        return Err(ServiceError::invalid("business name cannot be empty"));
    }
    let country = spec.country.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ServiceError::invalid(format!(
            "country must be an ISO 3166-1 alpha-2 code such as FR, not '{}'",
            spec.country
        )));
    }
    if abo_core::Locale::parse(&spec.default_language).is_none() {
        return Err(ServiceError::invalid(format!(
            "language must be en or fr, not '{}'",
            spec.default_language
        )));
    }
    let mut tx = store.begin().await?;
    let business = businesses::create(
        &mut tx,
        &businesses::NewBusiness {
            name: name.to_string(),
            country,
            default_language: spec.default_language.clone(),
            is_test: spec.is_test,
        },
        now_us,
    )
    .await?;
    let credentials = insert_credentials(&mut tx, business.id, "default", now_us).await?;
    link_keys::create(
        &mut tx,
        business.id,
        // Key ids are small integers: tokens carry them in two bytes.
        "1",
        &hex(&random_bytes::<32>()),
        now_us,
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedBusiness {
        business,
        credentials,
    })
}

/// Adds a pair of API credentials to an existing business. `legacy_states`
/// makes the API answer pre-2022 subscription state names (`Running`) to
/// this client, for integrations written against the old vocabulary.
pub async fn add_credentials(
    store: &Store,
    business_id: i64,
    label: &str,
    legacy_states: bool,
    now_us: i64,
) -> Result<Credentials> {
    let mut tx = store.begin().await?;
    businesses::get(&mut tx, business_id).await?;
    let credentials = insert_credentials(&mut tx, business_id, label, now_us).await?;
    if legacy_states {
        let (_, stored) = credentials::authenticate(
            &mut tx,
            &credentials.agent_key,
            &hash_api_key(&credentials.api_key),
        )
        .await?;
        credentials::set_legacy_states(&mut tx, business_id, stored.id, true).await?;
    }
    tx.commit().await?;
    Ok(credentials)
}

/// The business these credentials open, if they are live.
pub async fn authenticate(
    store: &Store,
    agent_key: &str,
    api_key: &str,
) -> Result<Option<businesses::Business>> {
    let mut conn = store.acquire().await?;
    match credentials::find_business_by_credentials(&mut conn, agent_key, &hash_api_key(api_key))
        .await
    {
        Ok(business) => Ok(Some(business)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn insert_credentials(
    conn: &mut abo_store::AnyConnection,
    business_id: i64,
    label: &str,
    now_us: i64,
) -> Result<Credentials> {
    // 128 random bits for the public agent key, 192 for the secret API key.
    let credentials = Credentials {
        agent_key: hex(&random_bytes::<16>()),
        api_key: hex(&random_bytes::<24>()),
    };
    credentials::create(
        conn,
        &credentials::NewApiCredential {
            business_id,
            agent_key: credentials.agent_key.clone(),
            api_key_hash: hash_api_key(&credentials.api_key),
            label: label.to_string(),
        },
        now_us,
    )
    .await?;
    Ok(credentials)
}

/// Lower-case SHA-256 hex of an API key: what the store keeps.
pub fn hash_api_key(api_key: &str) -> String {
    hex(&Sha256::digest(api_key.as_bytes()))
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_hash_is_sha256_hex() {
        assert_eq!(
            hash_api_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
