//! Customers: reference unique per segment; upsert by reference; partial updates of the
//! billing address and payment settings (`None` = unchanged).

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::error::{OrNotFound, Result, StoreError};
use crate::row::RowExt;
use crate::{Page, PageRequest};

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BillingAddress {
    pub company: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub zip_code: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// ISO 3166-2 (US, CA, ES only).
    pub region: Option<String>,
    pub phone: Option<String>,
    pub tax_information: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PaymentSettings {
    /// "Free", "ExternalCheck", "ExternalCash", "ExternalBank", "ExternalOther", "Card",
    /// "DirectDebit".
    pub type_payment: String,
    pub mode_billing: String,
    pub is_grey_listed: bool,
    pub note_invoice: Option<String>,
    pub date_next_billing_us: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Customer {
    pub id: i64,
    pub business_id: i64,
    pub segment_id: i64,
    pub reference: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
    /// "Enabled" or "Suspended".
    pub status: String,
    pub reference_affiliation: Option<String>,
    pub date_affiliation_us: Option<i64>,
    /// JSON object text.
    pub metadata: Option<String>,
    /// Incremented by each link revocation; links carry the epoch they were issued at.
    pub links_epoch: i64,
    pub billing_address: BillingAddress,
    pub payment_settings: PaymentSettings,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCustomer {
    pub business_id: i64,
    pub segment_id: i64,
    pub reference: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
    pub reference_affiliation: Option<String>,
    pub date_affiliation_us: Option<i64>,
    pub metadata: Option<String>,
}

/// Partial update of the customer's own fields; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerPatch {
    /// Changing the reference is how invalidation works; duplicate → `Conflict`.
    pub reference: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
    pub status: Option<String>,
    pub reference_affiliation: Option<String>,
    pub date_affiliation_us: Option<i64>,
    pub metadata: Option<String>,
}

/// Partial update of the billing address; `None` leaves a field unchanged.
pub type BillingAddressPatch = BillingAddress;

/// Partial update of payment settings; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentSettingsPatch {
    pub type_payment: Option<String>,
    pub mode_billing: Option<String>,
    pub is_grey_listed: Option<bool>,
    pub note_invoice: Option<String>,
    pub date_next_billing_us: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFilter {
    pub segment_id: Option<i64>,
    pub status: Option<String>,
    pub email: Option<String>,
}

fn from_row(r: &impl RowExt) -> sqlx::Result<Customer> {
    Ok(Customer {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        segment_id: r.i("segment_id")?,
        reference: r.s("reference")?,
        name: r.os("name")?,
        email: r.os("email")?,
        language: r.os("language")?,
        status: r.s("status")?,
        reference_affiliation: r.os("reference_affiliation")?,
        date_affiliation_us: r.oi("date_affiliation_us")?,
        metadata: r.os("metadata")?,
        links_epoch: r.i("links_epoch")?,
        billing_address: BillingAddress {
            company: r.os("company")?,
            first_name: r.os("first_name")?,
            last_name: r.os("last_name")?,
            address_line1: r.os("address_line1")?,
            address_line2: r.os("address_line2")?,
            zip_code: r.os("zip_code")?,
            city: r.os("city")?,
            country: r.os("country")?,
            region: r.os("region")?,
            phone: r.os("phone")?,
            tax_information: r.os("tax_information")?,
        },
        payment_settings: PaymentSettings {
            type_payment: r.s("type_payment")?,
            mode_billing: r.s("mode_billing")?,
            is_grey_listed: r.b("is_grey_listed")?,
            note_invoice: r.os("note_invoice")?,
            date_next_billing_us: r.oi("date_next_billing_us")?,
        },
        created_at_us: r.i("created_at_us")?,
        updated_at_us: r.i("updated_at_us")?,
    })
}

macro_rules! insert_sql {
    () => {
        "INSERT INTO customers (business_id, segment_id, reference, name, email, language, \
         reference_affiliation, date_affiliation_us, metadata, created_at_us, updated_at_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)"
    };
}

macro_rules! list_where {
    () => {
        " WHERE business_id = $1 AND ($2 IS NULL OR segment_id = $2) \
         AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR email = $4)"
    };
}

fn insert_query<'q>(
    sql: &'static str,
    new: &'q NewCustomer,
    now_us: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(sql)
        .bind(new.business_id)
        .bind(new.segment_id)
        .bind(&new.reference)
        .bind(new.name.as_deref())
        .bind(new.email.as_deref())
        .bind(new.language.as_deref())
        .bind(new.reference_affiliation.as_deref())
        .bind(new.date_affiliation_us)
        .bind(new.metadata.as_deref())
        .bind(now_us)
}

/// Create a customer. Duplicate reference in the segment → `Conflict`.
pub async fn create(conn: &mut AnyConnection, new: &NewCustomer, now_us: i64) -> Result<Customer> {
    const SQL: &str = concat!(insert_sql!(), " RETURNING *");
    let row = insert_query(SQL, new, now_us).fetch_one(&mut *conn).await?;
    Ok(from_row(&row)?)
}

/// Create the customer, or update the given fields (`None` = unchanged) of the existing one
/// with this reference in this segment. Returns `(customer, created)`. Safe under races: a
/// concurrent insert of the same reference turns into an update.
pub async fn upsert(
    conn: &mut AnyConnection,
    new: &NewCustomer,
    now_us: i64,
) -> Result<(Customer, bool)> {
    const SQL: &str = concat!(
        insert_sql!(),
        " ON CONFLICT (segment_id, reference) DO NOTHING RETURNING *"
    );
    if find_by_reference(conn, new.business_id, new.segment_id, &new.reference)
        .await?
        .is_none()
        && let Some(row) = insert_query(SQL, new, now_us)
            .fetch_optional(&mut *conn)
            .await?
    {
        return Ok((from_row(&row)?, true));
    }
    let existing = get_by_reference(conn, new.business_id, new.segment_id, &new.reference).await?;
    let patch = CustomerPatch {
        reference: None,
        name: new.name.clone(),
        email: new.email.clone(),
        language: new.language.clone(),
        status: None,
        reference_affiliation: new.reference_affiliation.clone(),
        date_affiliation_us: new.date_affiliation_us,
        metadata: new.metadata.clone(),
    };
    let updated = update(conn, existing.business_id, existing.id, &patch, now_us).await?;
    Ok((updated, false))
}

pub async fn get(conn: &mut AnyConnection, business_id: i64, id: i64) -> Result<Customer> {
    let row = sqlx::query("SELECT * FROM customers WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .or_not_found("customer")?;
    Ok(from_row(&row)?)
}

pub async fn find_by_reference(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    reference: &str,
) -> Result<Option<Customer>> {
    let row = sqlx::query(
        "SELECT * FROM customers WHERE business_id = $1 AND segment_id = $2 AND reference = $3",
    )
    .bind(business_id)
    .bind(segment_id)
    .bind(reference)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

pub async fn get_by_reference(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    reference: &str,
) -> Result<Customer> {
    find_by_reference(conn, business_id, segment_id, reference)
        .await?
        .or_not_found("customer")
}

/// Customers of the business, newest id last, with optional filters.
pub async fn list(
    conn: &mut AnyConnection,
    business_id: i64,
    filter: &CustomerFilter,
    page: PageRequest,
) -> Result<Page<Customer>> {
    let (offset, limit) = page.clamped();
    const COUNT: &str = concat!("SELECT COUNT(*) AS n FROM customers", list_where!());
    const SELECT: &str = concat!(
        "SELECT * FROM customers",
        list_where!(),
        " ORDER BY id LIMIT $5 OFFSET $6"
    );
    let total = sqlx::query(COUNT)
        .bind(business_id)
        .bind(filter.segment_id)
        .bind(filter.status.as_deref())
        .bind(filter.email.as_deref())
        .fetch_one(&mut *conn)
        .await?
        .i("n")?;
    let rows = sqlx::query(SELECT)
        .bind(business_id)
        .bind(filter.segment_id)
        .bind(filter.status.as_deref())
        .bind(filter.email.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let items = rows.iter().map(from_row).collect::<sqlx::Result<_>>()?;
    Ok(Page { items, total })
}

pub async fn update(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    patch: &CustomerPatch,
    now_us: i64,
) -> Result<Customer> {
    let row = sqlx::query(
        "UPDATE customers SET reference = COALESCE($1, reference), name = COALESCE($2, name), \
         email = COALESCE($3, email), language = COALESCE($4, language), \
         status = COALESCE($5, status), \
         reference_affiliation = COALESCE($6, reference_affiliation), \
         date_affiliation_us = COALESCE($7, date_affiliation_us), \
         metadata = COALESCE($8, metadata), updated_at_us = $9 \
         WHERE business_id = $10 AND id = $11 RETURNING *",
    )
    .bind(patch.reference.as_deref())
    .bind(patch.name.as_deref())
    .bind(patch.email.as_deref())
    .bind(patch.language.as_deref())
    .bind(patch.status.as_deref())
    .bind(patch.reference_affiliation.as_deref())
    .bind(patch.date_affiliation_us)
    .bind(patch.metadata.as_deref())
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .or_not_found("customer")?;
    Ok(from_row(&row)?)
}

pub async fn update_billing_address(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    patch: &BillingAddressPatch,
    now_us: i64,
) -> Result<Customer> {
    let row = sqlx::query(
        "UPDATE customers SET company = COALESCE($1, company), \
         first_name = COALESCE($2, first_name), last_name = COALESCE($3, last_name), \
         address_line1 = COALESCE($4, address_line1), \
         address_line2 = COALESCE($5, address_line2), zip_code = COALESCE($6, zip_code), \
         city = COALESCE($7, city), country = COALESCE($8, country), \
         region = COALESCE($9, region), phone = COALESCE($10, phone), \
         tax_information = COALESCE($11, tax_information), updated_at_us = $12 \
         WHERE business_id = $13 AND id = $14 RETURNING *",
    )
    .bind(patch.company.as_deref())
    .bind(patch.first_name.as_deref())
    .bind(patch.last_name.as_deref())
    .bind(patch.address_line1.as_deref())
    .bind(patch.address_line2.as_deref())
    .bind(patch.zip_code.as_deref())
    .bind(patch.city.as_deref())
    .bind(patch.country.as_deref())
    .bind(patch.region.as_deref())
    .bind(patch.phone.as_deref())
    .bind(patch.tax_information.as_deref())
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .or_not_found("customer")?;
    Ok(from_row(&row)?)
}

pub async fn update_payment_settings(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    patch: &PaymentSettingsPatch,
    now_us: i64,
) -> Result<Customer> {
    let row = sqlx::query(
        "UPDATE customers SET type_payment = COALESCE($1, type_payment), \
         mode_billing = COALESCE($2, mode_billing), \
         is_grey_listed = COALESCE($3, is_grey_listed), \
         note_invoice = COALESCE($4, note_invoice), \
         date_next_billing_us = COALESCE($5, date_next_billing_us), updated_at_us = $6 \
         WHERE business_id = $7 AND id = $8 RETURNING *",
    )
    .bind(patch.type_payment.as_deref())
    .bind(patch.mode_billing.as_deref())
    .bind(patch.is_grey_listed)
    .bind(patch.note_invoice.as_deref())
    .bind(patch.date_next_billing_us)
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .or_not_found("customer")?;
    Ok(from_row(&row)?)
}

/// Revoke every link issued so far: bumps `links_epoch` and returns the new value.
pub async fn revoke_links(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    now_us: i64,
) -> Result<i64> {
    let row = sqlx::query(
        "UPDATE customers SET links_epoch = links_epoch + 1, updated_at_us = $1 \
         WHERE business_id = $2 AND id = $3 RETURNING links_epoch",
    )
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .or_not_found("customer")?;
    Ok(row.i("links_epoch")?)
}

/// Replace the whole stored billing address and clear the personal fields (anonymization):
/// unlike the patch functions, `None` here means "set to NULL".
pub async fn replace_personal_data(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    name: Option<&str>,
    email: Option<&str>,
    address: &BillingAddress,
    now_us: i64,
) -> Result<Customer> {
    let row = sqlx::query(
        "UPDATE customers SET name = $1, email = $2, company = $3, first_name = $4, \
         last_name = $5, address_line1 = $6, address_line2 = $7, zip_code = $8, city = $9, \
         country = $10, region = $11, phone = $12, tax_information = $13, updated_at_us = $14 \
         WHERE business_id = $15 AND id = $16 RETURNING *",
    )
    .bind(name)
    .bind(email)
    .bind(address.company.as_deref())
    .bind(address.first_name.as_deref())
    .bind(address.last_name.as_deref())
    .bind(address.address_line1.as_deref())
    .bind(address.address_line2.as_deref())
    .bind(address.zip_code.as_deref())
    .bind(address.city.as_deref())
    .bind(address.country.as_deref())
    .bind(address.region.as_deref())
    .bind(address.phone.as_deref())
    .bind(address.tax_information.as_deref())
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("customer"))?;
    Ok(from_row(&row)?)
}

// ---------------------------------------------------------------------------------------------
// Added for the Customers use cases (abo-service::customers): lookups across segments, the
// `ReferenceFeature` filter of `GET /v1/Customers`, and what blocks an anonymization.

/// Every customer of the business with this reference, whatever its segment (a reference is
/// unique per segment only), oldest first. Used by lookups that do not name a segment.
pub async fn find_all_by_reference(
    conn: &mut AnyConnection,
    business_id: i64,
    reference: &str,
) -> Result<Vec<Customer>> {
    // Through the `(segment_id, reference)` unique index, one probe per segment of the
    // business: with `business_id = $1` usable, SQLite's planner (no statistics) picks the
    // `(business_id, id)` index and scans every customer of the business instead.
    let rows = sqlx::query(
        "SELECT * FROM customers WHERE +business_id = $1 AND reference = $2 \
         AND segment_id IN (SELECT id FROM segments WHERE business_id = $1) ORDER BY id",
    )
    .bind(business_id)
    .bind(reference)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}

macro_rules! with_active_feature_where {
    () => {
        " WHERE business_id = $1 AND ($2 IS NULL OR segment_id = $2) AND id IN \
         (SELECT s.customer_id FROM subscriptions s JOIN subscription_features sf \
         ON sf.subscription_id = s.id AND sf.business_id = s.business_id \
         WHERE s.business_id = $1 AND sf.feature_id = $3 AND s.state LIKE 'Active%')"
    };
}

/// Customers (optionally of one segment) having an active subscription (`Active*` state)
/// whose features include `feature_id`; oldest id first.
pub async fn list_with_active_feature(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: Option<i64>,
    feature_id: i64,
    page: PageRequest,
) -> Result<Page<Customer>> {
    let (offset, limit) = page.clamped();
    const COUNT: &str = concat!(
        "SELECT COUNT(*) AS n FROM customers",
        with_active_feature_where!()
    );
    const SELECT: &str = concat!(
        "SELECT * FROM customers",
        with_active_feature_where!(),
        " ORDER BY id LIMIT $4 OFFSET $5"
    );
    let total = sqlx::query(COUNT)
        .bind(business_id)
        .bind(segment_id)
        .bind(feature_id)
        .fetch_one(&mut *conn)
        .await?
        .i("n")?;
    let rows = sqlx::query(SELECT)
        .bind(business_id)
        .bind(segment_id)
        .bind(feature_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let items = rows.iter().map(from_row).collect::<sqlx::Result<_>>()?;
    Ok(Page { items, total })
}

/// What still ties a customer to money owed or services running; anonymization is refused
/// while any count is non-zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ErasureBlockers {
    /// Issued debit invoices still owed: `Due*` or `Problem*` states.
    pub due_invoices: i64,
    /// Subscriptions the customer holds or pays for that are active, suspended (restartable)
    /// or scheduled to start (`DraftDelayed*`).
    pub live_subscriptions: i64,
}

pub async fn erasure_blockers(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_id: i64,
) -> Result<ErasureBlockers> {
    let due_invoices = sqlx::query(
        "SELECT COUNT(*) AS n FROM invoices WHERE business_id = $1 AND customer_id = $2 \
         AND is_credit_note = FALSE AND (state LIKE 'Due%' OR state LIKE 'Problem%')",
    )
    .bind(business_id)
    .bind(customer_id)
    .fetch_one(&mut *conn)
    .await?
    .i("n")?;
    let live_subscriptions = sqlx::query(
        "SELECT COUNT(*) AS n FROM subscriptions WHERE business_id = $1 \
         AND (customer_id = $2 OR customer_buyer_id = $2) \
         AND (state LIKE 'Active%' OR state LIKE 'Suspended%' OR state LIKE 'DraftDelayed%')",
    )
    .bind(business_id)
    .bind(customer_id)
    .fetch_one(&mut *conn)
    .await?
    .i("n")?;
    Ok(ErasureBlockers {
        due_invoices,
        live_subscriptions,
    })
}

// ---------------------------------------------------------------------------------------------
// The customer with its segment in one query (the hot `GET /v1/Customer`).

/// The segment columns of [`find_all_by_reference_with_segment`], each aliased `g_<column>`
/// so that they cannot collide with the customer's.
const SEGMENT_COLUMNS: &str = "g.id AS g_id, g.business_id AS g_business_id, \
     g.reference AS g_reference, g.name AS g_name, g.currency AS g_currency, \
     g.time_zone AS g_time_zone, g.locale AS g_locale, g.is_default AS g_is_default, \
     g.url_integrated_form AS g_url_integrated_form, \
     g.url_integrated_portal AS g_url_integrated_portal, \
     g.block_renewal_without_payment_method AS g_block_renewal_without_payment_method, \
     g.upgrade_at_renewal AS g_upgrade_at_renewal, g.invoice_prefix AS g_invoice_prefix, \
     g.credit_note_prefix AS g_credit_note_prefix, \
     g.next_invoice_number AS g_next_invoice_number, \
     g.next_credit_note_number AS g_next_credit_note_number, \
     g.created_at_us AS g_created_at_us, g.updated_at_us AS g_updated_at_us";

fn segment_from_row(r: &AnyRow) -> sqlx::Result<crate::segments::Segment> {
    Ok(crate::segments::Segment {
        id: r.i("g_id")?,
        business_id: r.i("g_business_id")?,
        reference: r.s("g_reference")?,
        name: r.s("g_name")?,
        currency: r.s("g_currency")?,
        time_zone: r.s("g_time_zone")?,
        locale: r.s("g_locale")?,
        is_default: r.b("g_is_default")?,
        url_integrated_form: r.os("g_url_integrated_form")?,
        url_integrated_portal: r.os("g_url_integrated_portal")?,
        block_renewal_without_payment_method: r.b("g_block_renewal_without_payment_method")?,
        upgrade_at_renewal: r.b("g_upgrade_at_renewal")?,
        invoice_prefix: r.s("g_invoice_prefix")?,
        credit_note_prefix: r.s("g_credit_note_prefix")?,
        next_invoice_number: r.i("g_next_invoice_number")?,
        next_credit_note_number: r.i("g_next_credit_note_number")?,
        created_at_us: r.i("g_created_at_us")?,
        updated_at_us: r.i("g_updated_at_us")?,
    })
}

/// [`find_all_by_reference`] with each customer's segment, in one query.
pub async fn find_all_by_reference_with_segment(
    conn: &mut AnyConnection,
    business_id: i64,
    reference: &str,
) -> Result<Vec<(Customer, crate::segments::Segment)>> {
    // The same index path as `find_all_by_reference` (one probe per segment of the business).
    let sql = format!(
        "SELECT c.*, {SEGMENT_COLUMNS} FROM customers c JOIN segments g ON g.id = c.segment_id \
         WHERE +c.business_id = $1 AND c.reference = $2 AND g.business_id = $1 \
         AND c.segment_id IN (SELECT id FROM segments WHERE business_id = $1) ORDER BY c.id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(business_id)
        .bind(reference)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .iter()
        .map(|r| Ok((from_row(r)?, segment_from_row(r)?)))
        .collect::<sqlx::Result<_>>()?)
}

/// [`get`] for many customers (the engine's batches); unknown ids are left out.
pub async fn get_many(
    conn: &mut AnyConnection,
    business_id: i64,
    ids: &[i64],
) -> Result<Vec<Customer>> {
    let select = "SELECT * FROM customers WHERE";
    let rows = crate::many::select_in(
        conn,
        "customers.get_many",
        select,
        business_id,
        "id",
        ids,
        "",
    )
    .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}
