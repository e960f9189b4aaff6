//! The ProAbono API Live contract (`shared/contracts/proabono-live-openapi.yaml`)
//! loaded at test time, and checks of requests and responses against it.
//!
//! ```no_run
//! use abo_testkit::Contract;
//! use serde_json::json;
//!
//! let contract = Contract::shared();
//! let op = contract.operation("GET", "/v1/Customer");
//! op.validate_response(200, Some(&json!({"Id": 1, "ReferenceCustomer": "c"}))).unwrap();
//! assert!(op.validate_response(200, Some(&json!({"Id": "1"}))).is_err());
//! ```

pub mod datetime;
pub mod schema;

pub use schema::ValidateOptions;

use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Environment variable that overrides where the contract is read from.
pub const CONTRACT_PATH_ENV: &str = "ABO_CONTRACT_PATH";

/// HTTP methods an OpenAPI Path Item can hold.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Why the contract could not be loaded.
#[derive(Debug, Clone)]
pub struct ContractError(pub String);

impl fmt::Display for ContractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ContractError {}

/// The parsed contract, with its operations indexed.
#[derive(Debug, Clone)]
pub struct Contract {
    doc: Value,
    source: PathBuf,
    /// (METHOD, path template), in document order.
    operations: Vec<(String, String)>,
}

impl Contract {
    /// Where [`Contract::load`] reads: `$ABO_CONTRACT_PATH`, else
    /// `<workspace>/../shared/contracts/proabono-live-openapi.yaml`.
    pub fn default_path() -> PathBuf {
        match std::env::var_os(CONTRACT_PATH_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/contracts/proabono-live-openapi.yaml"),
        }
    }

    /// Loads and checks the contract from [`Contract::default_path`].
    pub fn load() -> Result<Contract, ContractError> {
        Self::load_from(Self::default_path())
    }

    pub fn load_from(path: impl AsRef<Path>) -> Result<Contract, ContractError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ContractError(format!(
                "cannot read the API contract {} ({e}); set {CONTRACT_PATH_ENV} to its path",
                path.display()
            ))
        })?;
        let mut contract = Self::from_yaml(&text)
            .map_err(|e| ContractError(format!("{}: {e}", path.display())))?;
        contract.source = path.to_path_buf();
        Ok(contract)
    }

    /// Parses an OpenAPI 3.0 document and checks that the validator implements
    /// every schema keyword it uses and that every `$ref` resolves.
    pub fn from_yaml(text: &str) -> Result<Contract, ContractError> {
        let doc: Value = serde_norway::from_str(text)
            .map_err(|e| ContractError(format!("not valid YAML for an OpenAPI document: {e}")))?;
        let version = doc.get("openapi").and_then(Value::as_str).unwrap_or("");
        if !version.starts_with("3.0.") {
            return Err(ContractError(format!(
                "expected an OpenAPI 3.0.x document, found openapi: {version:?}"
            )));
        }
        let mut operations = Vec::new();
        let mut problems = Vec::new();
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| ContractError("the document has no paths".into()))?;
        for (template, item) in paths {
            let Some(item) = item.as_object() else {
                problems.push(format!("paths/{template}: not an object"));
                continue;
            };
            for (method, op) in item {
                if !METHODS.contains(&method.as_str()) {
                    continue;
                }
                operations.push((method.to_ascii_uppercase(), template.clone()));
                let at = format!("{} {template}", method.to_ascii_uppercase());
                check_operation(&doc, op, &at, &mut problems);
            }
        }
        if let Some(schemas) = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
        {
            for (name, s) in schemas {
                schema::check_schema_keywords(
                    &doc,
                    s,
                    &format!("#/components/schemas/{name}"),
                    &mut problems,
                );
            }
        }
        if !problems.is_empty() {
            return Err(ContractError(format!(
                "the contract cannot be checked faithfully:\n  - {}",
                problems.join("\n  - ")
            )));
        }
        Ok(Contract {
            doc,
            source: PathBuf::new(),
            operations,
        })
    }

    /// The contract loaded once per test process. Panics with the reason when
    /// it cannot be loaded.
    pub fn shared() -> &'static Contract {
        static SHARED: OnceLock<Contract> = OnceLock::new();
        SHARED.get_or_init(|| Contract::load().unwrap_or_else(|e| panic!("{e}")))
    }

    /// The whole document, as JSON.
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// The file it was loaded from (empty for [`Contract::from_yaml`]).
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// Every operation, in document order.
    pub fn operations(&self) -> impl Iterator<Item = Operation<'_>> {
        self.operations
            .iter()
            .map(|(m, t)| self.try_operation(m, t).expect("indexed operation exists"))
    }

    /// The operation `method` `path_template` (e.g. `("GET", "/v1/Customer")`,
    /// `("POST", "/v1/Subscription/{IdSubscription}/Start")`). Panics, listing
    /// the operations, when the contract has no such operation.
    pub fn operation(&self, method: &str, path_template: &str) -> Operation<'_> {
        self.try_operation(method, path_template)
            .unwrap_or_else(|| {
                let known: Vec<String> = self
                    .operations
                    .iter()
                    .map(|(m, t)| format!("{m} {t}"))
                    .collect();
                panic!(
                    "the contract has no operation {} {path_template}; it has:\n  {}",
                    method.to_ascii_uppercase(),
                    known.join("\n  ")
                )
            })
    }

    pub fn try_operation(&self, method: &str, path_template: &str) -> Option<Operation<'_>> {
        let lower = method.to_ascii_lowercase();
        let (template, op) = self
            .doc
            .get("paths")?
            .as_object()?
            .get_key_value(path_template)?;
        let op = template_op(op, &lower)?;
        let (method, _) = self
            .operations
            .iter()
            .find(|(m, t)| m.eq_ignore_ascii_case(method) && t == path_template)?;
        Some(Operation {
            contract: self,
            method,
            template,
            op,
        })
    }

    /// The operation whose template matches a concrete path
    /// (`/v1/Subscription/42/Start?BillNow=true` →
    /// `POST /v1/Subscription/{IdSubscription}/Start`). Literal segments win
    /// over parameters; literal segments compare case-insensitively, as Abo
    /// serves them.
    pub fn find_operation(&self, method: &str, path: &str) -> Option<Operation<'_>> {
        let mut best: Option<(usize, &(String, String))> = None;
        for entry in &self.operations {
            if !entry.0.eq_ignore_ascii_case(method) {
                continue;
            }
            if let Some(score) = match_path(&entry.1, path)
                && best.is_none_or(|(s, _)| score > s)
            {
                best = Some((score, entry));
            }
        }
        best.and_then(|(_, (m, t))| self.try_operation(m, t))
    }

    /// A component schema by name (`"Customer"`).
    pub fn schema(&self, name: &str) -> Option<&Value> {
        self.doc.pointer(&format!("/components/schemas/{name}"))
    }

    /// Validates `value` against the component schema `name`.
    pub fn validate_schema(&self, name: &str, value: &Value) -> Result<(), Vec<String>> {
        let schema = self
            .schema(name)
            .ok_or_else(|| vec![format!("the contract has no schema {name}")])?;
        self.validate_value(schema, value, &ValidateOptions::default())
    }

    /// Validates `value` against any Schema Object of this document.
    pub fn validate_value(
        &self,
        schema: &Value,
        value: &Value,
        options: &ValidateOptions,
    ) -> Result<(), Vec<String>> {
        schema::validate(&self.doc, schema, value, options)
    }

    /// Follows `$ref`s of non-schema objects (responses, parameters, ...).
    fn deref<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..16 {
            match value.get("$ref").and_then(Value::as_str) {
                Some(r) => match schema::resolve(&self.doc, r) {
                    Some(target) => value = target,
                    None => return value,
                },
                None => return value,
            }
        }
        value
    }
}

fn template_op<'a>(item: &'a Value, lower_method: &str) -> Option<&'a Value> {
    item.get(lower_method)
}

/// Matches a concrete path against a template; the score counts literal segments.
fn match_path(template: &str, path: &str) -> Option<usize> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    let mut literal = 0;
    for (ts, ps) in t.iter().zip(&p) {
        if ts.starts_with('{') && ts.ends_with('}') {
            if ps.is_empty() {
                return None;
            }
        } else if ts.eq_ignore_ascii_case(ps) {
            literal += 1;
        } else {
            return None;
        }
    }
    Some(literal)
}

fn check_operation(doc: &Value, op: &Value, at: &str, problems: &mut Vec<String>) {
    let mut unresolved = Vec::new();
    let mut deref = |v: &Value| -> Value {
        let mut v = v.clone();
        for _ in 0..16 {
            match v.get("$ref").and_then(Value::as_str).map(str::to_owned) {
                Some(r) => match schema::resolve(doc, &r) {
                    Some(t) => v = t.clone(),
                    None => {
                        unresolved.push(format!("{at}: $ref {r} does not resolve"));
                        return Value::Null;
                    }
                },
                None => break,
            }
        }
        v
    };
    let mut schemas = Vec::new();
    if let Some(body) = op.get("requestBody") {
        let body = deref(body);
        for (ct, media) in body
            .get("content")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if let Some(s) = media.get("schema") {
                schemas.push((format!("{at} request {ct}"), s.clone()));
            }
        }
    }
    match op.get("responses").and_then(Value::as_object) {
        Some(responses) => {
            for (status, response) in responses {
                let response = deref(response);
                for (ct, media) in response
                    .get("content")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    if let Some(s) = media.get("schema") {
                        schemas.push((format!("{at} response {status} {ct}"), s.clone()));
                    }
                }
            }
        }
        None => problems.push(format!("{at}: no responses")),
    }
    for parameter in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let parameter = deref(parameter);
        if let Some(s) = parameter.get("schema") {
            let name = parameter.get("name").and_then(Value::as_str).unwrap_or("?");
            schemas.push((format!("{at} parameter {name}"), s.clone()));
        }
    }
    problems.extend(unresolved);
    for (where_, s) in schemas {
        schema::check_schema_keywords(doc, &s, &where_, problems);
    }
}

/// An example value found in the contract.
#[derive(Debug, Clone)]
pub struct Example<'c> {
    /// `None` for a request body example.
    pub status: Option<&'c str>,
    /// The key under `examples`, or `None` for a single `example`.
    pub name: Option<&'c str>,
    pub value: &'c Value,
}

impl fmt::Display for Example<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "response {status}")?,
            None => write!(f, "request")?,
        }
        match self.name {
            Some(name) => write!(f, " example {name:?}"),
            None => write!(f, " example"),
        }
    }
}

/// One operation of the contract.
#[derive(Clone, Copy)]
pub struct Operation<'c> {
    contract: &'c Contract,
    method: &'c str,
    template: &'c str,
    op: &'c Value,
}

impl fmt::Debug for Operation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Operation({} {})", self.method, self.template)
    }
}

impl fmt::Display for Operation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.template)
    }
}

impl<'c> Operation<'c> {
    /// Upper-case method (`"GET"`).
    pub fn method(&self) -> &'c str {
        self.method
    }

    pub fn path_template(&self) -> &'c str {
        self.template
    }

    /// The raw Operation Object.
    pub fn raw(&self) -> &'c Value {
        self.op
    }

    pub fn contract(&self) -> &'c Contract {
        self.contract
    }

    /// Whether a concrete path (with or without a query string) fits the template.
    pub fn matches_path(&self, path: &str) -> bool {
        match_path(self.template, path).is_some()
    }

    /// The response keys the operation documents (`"200"`, `"401"`, ...).
    pub fn documented_statuses(&self) -> Vec<&'c str> {
        self.responses().map(|(k, _)| k).collect()
    }

    fn responses(&self) -> impl Iterator<Item = (&'c str, &'c Value)> {
        let contract = self.contract;
        self.op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(move |(k, v)| (k.as_str(), contract.deref(v)))
    }

    /// The Response Object documented for `status`: the exact code, else its
    /// range (`4XX`), else `default`.
    pub fn response(&self, status: u16) -> Option<&'c Value> {
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        let mut found = (None, None, None);
        for (key, response) in self.responses() {
            if key == exact {
                found.0 = Some(response);
            } else if key.eq_ignore_ascii_case(&range) {
                found.1 = Some(response);
            } else if key == "default" {
                found.2 = Some(response);
            }
        }
        found.0.or(found.1).or(found.2)
    }

    /// The JSON schema of the response body for `status`, if the contract gives one.
    pub fn response_schema(&self, status: u16) -> Option<&'c Value> {
        json_media(self.response(status)?)?.get("schema")
    }

    /// The JSON schema of the request body, if the operation takes one.
    pub fn request_schema(&self) -> Option<&'c Value> {
        let body = self.contract.deref(self.op.get("requestBody")?);
        json_media(body)?.get("schema")
    }

    /// Checks a response: the status is documented, a 204 has no body, and a
    /// body is present and valid wherever the contract gives a schema.
    /// `body` is `None` for an empty body.
    pub fn validate_response(&self, status: u16, body: Option<&Value>) -> Result<(), Vec<String>> {
        self.validate_response_with(status, body, &ValidateOptions::default())
    }

    pub fn validate_response_with(
        &self,
        status: u16,
        body: Option<&Value>,
        options: &ValidateOptions,
    ) -> Result<(), Vec<String>> {
        if status == 204 && body.is_some() {
            return Err(vec!["body: a 204 response must have no body".into()]);
        }
        let Some(response) = self.response(status) else {
            if options.extra_statuses.contains(&status) {
                return Ok(());
            }
            return Err(vec![format!(
                "status: {status} is not documented for {self} (documented: {})",
                self.documented_statuses().join(", ")
            )]);
        };
        let Some(schema) = json_media(response).and_then(|m| m.get("schema")) else {
            // The contract documents the status without a JSON body schema.
            return Ok(());
        };
        match body {
            None => Err(vec![format!(
                "body: the contract gives a JSON body for {status}, the response has none"
            )]),
            Some(body) => self.contract.validate_value(schema, body, options),
        }
    }

    /// Checks a request body against the operation's request schema.
    pub fn validate_request(&self, body: &Value) -> Result<(), Vec<String>> {
        self.validate_request_with(body, &ValidateOptions::default())
    }

    pub fn validate_request_with(
        &self,
        body: &Value,
        options: &ValidateOptions,
    ) -> Result<(), Vec<String>> {
        match self.request_schema() {
            Some(schema) => self.contract.validate_value(schema, body, options),
            None => Err(vec![format!("request: {self} takes no JSON request body")]),
        }
    }

    /// The `example` / `examples` of every documented response, in order.
    pub fn response_examples(&self) -> Vec<Example<'c>> {
        let mut out = Vec::new();
        for (status, response) in self.responses() {
            if let Some(media) = json_media(response) {
                push_examples(self.contract, media, Some(status), &mut out);
            }
        }
        out
    }

    /// The `example` / `examples` of the request body.
    pub fn request_examples(&self) -> Vec<Example<'c>> {
        let mut out = Vec::new();
        if let Some(body) = self.op.get("requestBody")
            && let Some(media) = json_media(self.contract.deref(body))
        {
            push_examples(self.contract, media, None, &mut out);
        }
        out
    }
}

fn json_media(response_or_body: &Value) -> Option<&Value> {
    let content = response_or_body.get("content")?.as_object()?;
    content.get("application/json").or_else(|| {
        content
            .iter()
            .find(|(ct, _)| ct.starts_with("application/") && ct.ends_with("json"))
            .map(|(_, m)| m)
    })
}

fn push_examples<'c>(
    contract: &'c Contract,
    media: &'c Value,
    status: Option<&'c str>,
    out: &mut Vec<Example<'c>>,
) {
    if let Some(value) = media.get("example") {
        out.push(Example {
            status,
            name: None,
            value,
        });
    }
    if let Some(examples) = media.get("examples").and_then(Value::as_object) {
        for (name, example) in examples {
            if let Some(value) = contract.deref(example).get("value") {
                out.push(Example {
                    status,
                    name: Some(name),
                    value,
                });
            }
        }
    }
}
