//! `GET|POST /v1/CustomerAddressBilling` (alias `/v1/CustomerBillingAddress`): the billing
//! address, partially updated.

use super::validate::{self, Problems, TEXT_MAX_CHARS, clip, given};
use super::{CustomerKey, CustomerView, iso, locate, vat};
use crate::error::Result;
use abo_store::Store;
use abo_store::customers::{self, BillingAddressPatch};

/// A `CustomerAddressBillingRequest`: each field given (non-blank) replaces the stored one;
/// the others are unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillingAddressInput {
    pub company: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub zip_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub region: Option<String>,
    pub phone: Option<String>,
    pub tax_information: Option<String>,
}

/// Postal codes are at most 10 characters worldwide; 20 leaves room for a country prefix.
const ZIP_MAX_CHARS: usize = 20;
/// E.164 numbers have at most 15 digits; 30 leaves room for spaces and an extension.
const PHONE_MAX_CHARS: usize = 30;
/// Tax identifiers outside the EU (GST, ABN, EIN, ...) are all far shorter.
const TAX_MAX_CHARS: usize = 50;

/// The stored billing address of a customer.
pub async fn billing_address(
    store: &Store,
    business_id: i64,
    key: &CustomerKey,
) -> Result<CustomerView> {
    let mut conn = store.acquire().await?;
    let (customer, segment) = locate(&mut conn, business_id, key).await?;
    Ok(CustomerView::of(customer, segment))
}

/// Partial update. `Country` is upper-cased and must be ISO 3166-1 alpha-2; `Region` must be
/// an ISO 3166-2 subdivision when the country is US, CA or ES (where tax depends on it;
/// `NY` is accepted for `US-NY`), and is kept as given elsewhere; an EU VAT number
/// (`TaxInformation` starting with an EU prefix, or given for an EU country) must have its
/// country's format. Only the syntax is checked: whether the number is registered (a VIES
/// query, which ProAbono runs asynchronously) is not verified.
pub async fn update_billing_address(
    store: &Store,
    business_id: i64,
    key: &CustomerKey,
    input: &BillingAddressInput,
    now_us: i64,
) -> Result<CustomerView> {
    let mut tx = store.begin().await?;
    let (customer, segment) = locate(&mut tx, business_id, key).await?;
    let stored = &customer.billing_address;
    let mut problems = Problems::default();
    let mut text = |field: &str, value: &Option<String>, max: usize| {
        given(value.as_deref()).and_then(|v| problems.take(validate::text(field, v, max)))
    };
    let mut patch = BillingAddressPatch {
        company: text("Company", &input.company, TEXT_MAX_CHARS),
        first_name: text("FirstName", &input.first_name, TEXT_MAX_CHARS),
        last_name: text("LastName", &input.last_name, TEXT_MAX_CHARS),
        address_line1: text("AddressLine1", &input.address_line1, TEXT_MAX_CHARS),
        address_line2: text("AddressLine2", &input.address_line2, TEXT_MAX_CHARS),
        zip_code: text("ZipCode", &input.zip_code, ZIP_MAX_CHARS),
        city: text("City", &input.city, TEXT_MAX_CHARS),
        country: None,
        region: None,
        phone: text("Phone", &input.phone, PHONE_MAX_CHARS),
        tax_information: None,
    };
    if let Some(country) = given(input.country.as_deref()) {
        patch.country = problems.take(check_country(country));
    }
    // Region and VAT are checked against the country the address will have.
    let country = patch.country.as_deref().or(stored.country.as_deref());
    match given(input.region.as_deref()) {
        Some(region) => patch.region = problems.take(check_region(region, country)),
        None => {
            // A country change must not leave a region of another country behind.
            if patch.country.is_some()
                && let Some(old) = stored.region.as_deref()
                && check_region(old, country).is_err()
            {
                problems.push(format!(
                    "Region: the stored region '{}' is not in {}; send Region with Country",
                    clip(old),
                    country.unwrap_or_default()
                ));
            }
        }
    }
    if let Some(tax) = given(input.tax_information.as_deref()) {
        patch.tax_information = problems.take(check_tax_information(tax, country));
    }
    problems.into_result()?;
    let customer =
        customers::update_billing_address(&mut tx, business_id, customer.id, &patch, now_us)
            .await?;
    crate::events::customer(&mut tx, "CustomerBillingAddressUpdated", &customer, now_us).await?;
    tx.commit().await?;
    Ok(CustomerView::of(customer, segment))
}

fn check_country(value: &str) -> Result<String, String> {
    let code = value.trim().to_ascii_uppercase();
    if code.len() == 2 && iso::is_country(&code) {
        Ok(code)
    } else {
        Err(format!(
            "Country: '{}' is not an ISO 3166-1 alpha-2 country code (e.g. FR)",
            clip(value)
        ))
    }
}

/// `Region` for the given (effective) country: see [`update_billing_address`].
fn check_region(value: &str, country: Option<&str>) -> Result<String, String> {
    let upper = value.trim().to_ascii_uppercase();
    let (prefix, code) = match upper.split_once('-') {
        Some((p, c)) if p.len() == 2 => (Some(p), c),
        _ => (None, upper.as_str()),
    };
    // The country whose subdivision list applies: the address's, else the region's prefix.
    let checked = country
        .filter(|c| iso::subdivisions(c).is_some())
        .or(prefix.filter(|p| iso::subdivisions(p).is_some()));
    let Some(checked) = checked else {
        return validate::text("Region", value, TEXT_MAX_CHARS);
    };
    if let Some(c) = country
        && c != checked
    {
        return Err(format!("Region: '{}' is not in {c}", clip(value)));
    }
    if let Some(p) = prefix
        && p != checked
    {
        return Err(format!("Region: '{}' is not in {checked}", clip(value)));
    }
    match iso::subdivisions(checked) {
        Some(list) if list.binary_search(&code).is_ok() => Ok(format!("{checked}-{code}")),
        _ => Err(format!(
            "Region: '{}' is not an ISO 3166-2 subdivision of {checked} (e.g. {})",
            clip(value),
            match checked {
                "US" => "US-NY",
                "CA" => "CA-QC",
                _ => "ES-M",
            }
        )),
    }
}

/// `TaxInformation`: EU VAT numbers are normalised (no separators, upper case) and checked
/// against their country's format; a number without prefix for an EU country gets the
/// country's prefix when that makes it well formed. Other identifiers are kept as given.
fn check_tax_information(value: &str, country: Option<&str>) -> Result<String, String> {
    let normalised = vat::normalise(value);
    match vat::is_well_formed(&normalised) {
        Some(true) => return Ok(normalised),
        Some(false) => {
            return Err(format!(
                "TaxInformation: '{}' is not a well-formed {} VAT number",
                clip(value),
                &normalised[..2]
            ));
        }
        None => {}
    }
    if let Some(prefix) = country.and_then(vat::prefix_for_country) {
        let prefixed = format!("{prefix}{normalised}");
        return match vat::is_well_formed(&prefixed) {
            Some(true) => Ok(prefixed),
            _ => Err(format!(
                "TaxInformation: '{}' is not a well-formed {prefix} VAT number (expected {prefix} \
                 followed by the national number)",
                clip(value)
            )),
        };
    }
    validate::text("TaxInformation", value, TAX_MAX_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_are_upper_cased_and_checked() {
        assert_eq!(check_country("fr").unwrap(), "FR");
        assert!(check_country("UK").is_err());
        assert!(check_country("FRA").is_err());
    }

    #[test]
    fn regions() {
        assert_eq!(check_region("ny", Some("US")).unwrap(), "US-NY");
        assert_eq!(check_region("US-CA", Some("US")).unwrap(), "US-CA");
        assert_eq!(check_region("QC", Some("CA")).unwrap(), "CA-QC");
        assert_eq!(check_region("ES-M", Some("ES")).unwrap(), "ES-M");
        assert_eq!(check_region("US-TX", None).unwrap(), "US-TX");
        // Other countries: informational, kept as given (ProAbono's example: FR-75).
        assert_eq!(check_region("FR-75", Some("FR")).unwrap(), "FR-75");
        assert!(check_region("XX", Some("US")).is_err());
        assert!(check_region("CA-QC", Some("US")).is_err());
        assert!(check_region("US-NY", Some("FR")).is_err());
    }

    #[test]
    fn tax_information() {
        assert_eq!(
            check_tax_information("fr 40 303 265 045", Some("FR")).unwrap(),
            "FR40303265045"
        );
        assert_eq!(
            check_tax_information("123456789", Some("DE")).unwrap(),
            "DE123456789"
        );
        assert_eq!(
            check_tax_information("123456789", Some("GR")).unwrap(),
            "EL123456789"
        );
        assert!(check_tax_information("FR1234567890", Some("FR")).is_err());
        assert!(check_tax_information("12", Some("DE")).is_err());
        // Outside the EU: a GST/ABN/EIN number is kept as given.
        assert_eq!(
            check_tax_information("12-3456789", Some("US")).unwrap(),
            "12-3456789"
        );
        assert_eq!(
            check_tax_information("GB123456789", None).unwrap(),
            "GB123456789"
        );
    }
}
