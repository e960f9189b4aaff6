//! A small, strict validator for OpenAPI 3.0 Schema Objects, applied to
//! `serde_json::Value`s.
//!
//! Semantics (OpenAPI 3.0.3, i.e. JSON Schema "Wright draft 00" plus the
//! OpenAPI deviations):
//! - `$ref` replaces the schema it sits in: sibling keywords are ignored.
//! - `nullable: true` admits `null` (even when an `enum` does not list it);
//!   without it, `null` is rejected by any schema that declares a `type`.
//! - `integer` means a JSON number written without a fraction or exponent, as
//!   serde_json keeps it (`3` is an integer, `3.0` is not).
//! - `additionalProperties` absent means extra properties are allowed, unless
//!   [`ValidateOptions::deny_unknown_properties`] asks otherwise.
//! - `format: date-time` / `date` are enforced (RFC 3339); `int32`/`int64`
//!   are range-checked; `float`/`double` and a few annotation-only formats are
//!   accepted as is. Any other keyword or format makes loading the contract
//!   fail (see [`check_schema_keywords`]), so nothing is silently not checked.
//!
//! Errors read `<json path>: <rule>: <detail>`, e.g.
//! `$.Items[3].Links[0].rel: type: expected string, got integer 3 (schema Link)`.

use super::datetime;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// How strict a validation is, beyond what the contract says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Report properties that no `properties` of the schema (or of its
    /// `allOf` parts) declares, where `additionalProperties` is absent.
    pub deny_unknown_properties: bool,
    /// Statuses accepted for a response although the operation does not
    /// document them; their body is not checked (204 must still be empty).
    pub extra_statuses: Vec<u16>,
}

impl ValidateOptions {
    pub fn deny_unknown_properties(mut self) -> Self {
        self.deny_unknown_properties = true;
        self
    }

    pub fn allow_status(mut self, status: u16) -> Self {
        self.extra_statuses.push(status);
        self
    }
}

/// Keywords the validator implements.
const VALIDATION_KEYWORDS: &[&str] = &[
    "$ref",
    "type",
    "nullable",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "enum",
    "format",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
];

/// Keywords that carry no validation rule (annotations).
const ANNOTATION_KEYWORDS: &[&str] = &[
    "description",
    "title",
    "default",
    "example",
    "readOnly",
    "writeOnly",
    "deprecated",
    "externalDocs",
    "xml",
];

/// Formats with a rule, and formats that are annotations only.
const CHECKED_FORMATS: &[&str] = &["date-time", "date", "int32", "int64"];
const ANNOTATION_FORMATS: &[&str] = &["float", "double", "byte", "binary", "password"];

const TYPES: &[&str] = &["object", "array", "string", "integer", "number", "boolean"];

/// Depth at which `$ref` chains are considered cyclic.
const MAX_DEPTH: usize = 128;

/// Reports every keyword, type or format in `schema` (and the schemas nested
/// in it) that the validator does not implement, and every `$ref` that does
/// not resolve in `root`. `at` names the schema's place in the document.
pub fn check_schema_keywords(root: &Value, schema: &Value, at: &str, problems: &mut Vec<String>) {
    let Some(map) = schema.as_object() else {
        problems.push(format!("{at}: a schema must be an object"));
        return;
    };
    if let Some(reference) = map.get("$ref") {
        match reference.as_str() {
            Some(r) if resolve(root, r).is_some() => {}
            _ => problems.push(format!("{at}: $ref {reference} does not resolve")),
        }
        // Siblings of $ref are ignored by OpenAPI 3.0: nothing else to check.
        return;
    }
    for (key, value) in map {
        let k = key.as_str();
        if k.starts_with("x-") || ANNOTATION_KEYWORDS.contains(&k) {
            continue;
        }
        if !VALIDATION_KEYWORDS.contains(&k) {
            problems.push(format!(
                "{at}: keyword '{k}' is not implemented by abo-testkit's validator"
            ));
            continue;
        }
        match k {
            "type" if !value.as_str().is_some_and(|t| TYPES.contains(&t)) => {
                problems.push(format!("{at}: unknown type {value}"));
            }
            "format" => match value.as_str() {
                Some(f) if CHECKED_FORMATS.contains(&f) || ANNOTATION_FORMATS.contains(&f) => {}
                _ => problems.push(format!(
                    "{at}: format {value} is not implemented by abo-testkit's validator"
                )),
            },
            "properties" => match value.as_object() {
                Some(props) => {
                    for (name, sub) in props {
                        check_schema_keywords(
                            root,
                            sub,
                            &format!("{at}/properties/{name}"),
                            problems,
                        );
                    }
                }
                None => problems.push(format!("{at}: properties must be an object")),
            },
            "items" | "not" => check_schema_keywords(root, value, &format!("{at}/{k}"), problems),
            "additionalProperties" if !value.is_boolean() => {
                check_schema_keywords(root, value, &format!("{at}/{k}"), problems);
            }
            "allOf" | "oneOf" | "anyOf" => match value.as_array() {
                Some(parts) => {
                    for (i, sub) in parts.iter().enumerate() {
                        check_schema_keywords(root, sub, &format!("{at}/{k}/{i}"), problems);
                    }
                }
                None => problems.push(format!("{at}: {k} must be an array")),
            },
            "required" | "enum" if !value.is_array() => {
                problems.push(format!("{at}: {k} must be an array"));
            }
            _ => {}
        }
    }
}

/// Resolves a local `$ref` (`#/components/schemas/Customer`).
pub fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    root.pointer(reference.strip_prefix('#')?)
}

/// Validates `value` against `schema` (a Schema Object of the document `root`).
pub fn validate(
    root: &Value,
    schema: &Value,
    value: &Value,
    options: &ValidateOptions,
) -> Result<(), Vec<String>> {
    let mut v = Validator {
        root,
        options,
        errors: Vec::new(),
    };
    v.check(schema, value, "$", None, true, 0);
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(v.errors)
    }
}

struct Validator<'a> {
    root: &'a Value,
    options: &'a ValidateOptions,
    errors: Vec<String>,
}

impl<'a> Validator<'a> {
    fn fail(&mut self, path: &str, rule: &str, detail: String, name: Option<&str>) {
        let mut line = format!("{path}: {rule}: {detail}");
        if let Some(name) = name {
            let _ = write!(line, " (schema {name})");
        }
        self.errors.push(line);
    }

    /// `name` is the component schema the current one comes from, for messages.
    /// `check_unknown` is false for the `allOf` parts of a schema, whose
    /// parent checks unknown properties against the union of all parts.
    fn check(
        &mut self,
        schema: &'a Value,
        value: &Value,
        path: &str,
        name: Option<&'a str>,
        check_unknown: bool,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            self.fail(path, "$ref", "schema references are cyclic".into(), name);
            return;
        }
        let Some(map) = schema.as_object() else {
            self.fail(path, "schema", format!("invalid schema {schema}"), name);
            return;
        };
        if let Some(reference) = map.get("$ref") {
            let r = reference.as_str().unwrap_or_default();
            match resolve(self.root, r) {
                Some(target) => {
                    let target_name = r.rsplit('/').next();
                    self.check(target, value, path, target_name, check_unknown, depth + 1);
                }
                None => self.fail(path, "$ref", format!("{reference} does not resolve"), name),
            }
            return;
        }

        let ty = map.get("type").and_then(Value::as_str);
        if value.is_null() {
            if map.get("nullable").and_then(Value::as_bool) == Some(true) {
                return;
            }
            if let Some(ty) = ty {
                self.fail(
                    path,
                    "nullable",
                    format!("null is not allowed (type {ty}, not nullable)"),
                    name,
                );
                return;
            }
        }
        if let Some(ty) = ty
            && !type_matches(ty, value)
        {
            self.fail(
                path,
                "type",
                format!("expected {ty}, got {}", describe(value)),
                name,
            );
            return;
        }
        if let Some(allowed) = map.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            const SHOWN: usize = 12;
            let mut list: Vec<String> = allowed.iter().take(SHOWN).map(Value::to_string).collect();
            if allowed.len() > SHOWN {
                list.push(format!("... {} values in all", allowed.len()));
            }
            self.fail(
                path,
                "enum",
                format!("{value} is not one of [{}]", list.join(", ")),
                name,
            );
        }
        if let Some(format) = map.get("format").and_then(Value::as_str) {
            self.check_format(format, value, path, name);
        }
        self.check_number(map, value, path, name);
        if let Some(s) = value.as_str() {
            let len = s.chars().count() as u64;
            if let Some(max) = map.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                self.fail(
                    path,
                    "maxLength",
                    format!("{len} characters, at most {max} allowed"),
                    name,
                );
            }
            if let Some(min) = map.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                self.fail(
                    path,
                    "minLength",
                    format!("{len} characters, at least {min} required"),
                    name,
                );
            }
        }
        if let Some(items) = value.as_array() {
            self.check_array(map, items, path, name, depth);
        }
        if let Some(object) = value.as_object() {
            self.check_object(map, object, path, name, check_unknown, depth);
        }

        if let Some(parts) = map.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.check(part, value, path, name, false, depth + 1);
            }
        }
        if let Some(parts) = map.get("anyOf").and_then(Value::as_array) {
            let outcomes = self.alternatives(parts, value, path, name, depth);
            if !outcomes.iter().any(Result::is_ok) {
                let detail = summarize("no alternative matched", &outcomes);
                self.fail(path, "anyOf", detail, name);
            }
        }
        if let Some(parts) = map.get("oneOf").and_then(Value::as_array) {
            let outcomes = self.alternatives(parts, value, path, name, depth);
            match outcomes.iter().filter(|o| o.is_ok()).count() {
                1 => {}
                0 => {
                    let detail = summarize("no alternative matched", &outcomes);
                    self.fail(path, "oneOf", detail, name);
                }
                n => self.fail(
                    path,
                    "oneOf",
                    format!("{n} alternatives matched, exactly one must"),
                    name,
                ),
            }
        }
        if let Some(not) = map.get("not") {
            let mut sub = Validator {
                root: self.root,
                options: self.options,
                errors: Vec::new(),
            };
            sub.check(not, value, path, name, true, depth + 1);
            if sub.errors.is_empty() {
                self.fail(
                    path,
                    "not",
                    "the value matches a schema it must not match".into(),
                    name,
                );
            }
        }
    }

    fn alternatives(
        &self,
        parts: &'a [Value],
        value: &Value,
        path: &str,
        name: Option<&'a str>,
        depth: usize,
    ) -> Vec<Result<(), Vec<String>>> {
        parts
            .iter()
            .map(|part| {
                let mut sub = Validator {
                    root: self.root,
                    options: self.options,
                    errors: Vec::new(),
                };
                sub.check(part, value, path, name, true, depth + 1);
                if sub.errors.is_empty() {
                    Ok(())
                } else {
                    Err(sub.errors)
                }
            })
            .collect()
    }

    fn check_format(&mut self, format: &str, value: &Value, path: &str, name: Option<&str>) {
        let outcome = match (format, value) {
            ("date-time", Value::String(s)) => datetime::check_date_time(s),
            ("date", Value::String(s)) => datetime::check_date(s),
            ("int32", Value::Number(n)) => match n.as_i64() {
                Some(i) if i32::try_from(i).is_ok() => Ok(()),
                _ => Err("out of the int32 range".to_string()),
            },
            ("int64", Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
                (Some(_), _) => Ok(()),
                (None, Some(_)) => Err("out of the int64 range".to_string()),
                _ => Ok(()), // a float: the type rule reports it
            },
            _ => Ok(()),
        };
        if let Err(why) = outcome {
            self.fail(
                path,
                "format",
                format!("{value} is not a valid {format}: {why}"),
                name,
            );
        }
    }

    fn check_number(
        &mut self,
        map: &serde_json::Map<String, Value>,
        value: &Value,
        path: &str,
        name: Option<&str>,
    ) {
        let Value::Number(n) = value else { return };
        let exclusive = |key: &str| map.get(key).and_then(Value::as_bool) == Some(true);
        if let Some(min) = map.get("minimum").and_then(Value::as_number) {
            let excl = exclusive("exclusiveMinimum");
            let cmp = compare(n, min);
            if cmp.is_lt() || (excl && cmp.is_eq()) {
                let op = if excl { ">" } else { ">=" };
                self.fail(path, "minimum", format!("{n} must be {op} {min}"), name);
            }
        }
        if let Some(max) = map.get("maximum").and_then(Value::as_number) {
            let excl = exclusive("exclusiveMaximum");
            let cmp = compare(n, max);
            if cmp.is_gt() || (excl && cmp.is_eq()) {
                let op = if excl { "<" } else { "<=" };
                self.fail(path, "maximum", format!("{n} must be {op} {max}"), name);
            }
        }
    }

    fn check_array(
        &mut self,
        map: &'a serde_json::Map<String, Value>,
        items: &[Value],
        path: &str,
        name: Option<&'a str>,
        depth: usize,
    ) {
        let len = items.len() as u64;
        if let Some(max) = map.get("maxItems").and_then(Value::as_u64)
            && len > max
        {
            self.fail(
                path,
                "maxItems",
                format!("{len} items, at most {max} allowed"),
                name,
            );
        }
        if let Some(min) = map.get("minItems").and_then(Value::as_u64)
            && len < min
        {
            self.fail(
                path,
                "minItems",
                format!("{len} items, at least {min} required"),
                name,
            );
        }
        if map.get("uniqueItems").and_then(Value::as_bool) == Some(true) {
            for (i, item) in items.iter().enumerate() {
                if items[..i].contains(item) {
                    self.fail(
                        &format!("{path}[{i}]"),
                        "uniqueItems",
                        "duplicates an earlier item".into(),
                        name,
                    );
                }
            }
        }
        if let Some(item_schema) = map.get("items") {
            for (i, item) in items.iter().enumerate() {
                self.check(
                    item_schema,
                    item,
                    &format!("{path}[{i}]"),
                    name,
                    true,
                    depth + 1,
                );
            }
        }
    }

    fn check_object(
        &mut self,
        map: &'a serde_json::Map<String, Value>,
        object: &serde_json::Map<String, Value>,
        path: &str,
        name: Option<&'a str>,
        check_unknown: bool,
        depth: usize,
    ) {
        if let Some(required) = map.get("required").and_then(Value::as_array) {
            for key in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(key) {
                    self.fail(
                        &child(path, key),
                        "required",
                        "the property is missing".into(),
                        name,
                    );
                }
            }
        }
        let count = object.len() as u64;
        if let Some(max) = map.get("maxProperties").and_then(Value::as_u64)
            && count > max
        {
            self.fail(
                path,
                "maxProperties",
                format!("{count} properties, at most {max}"),
                name,
            );
        }
        if let Some(min) = map.get("minProperties").and_then(Value::as_u64)
            && count < min
        {
            self.fail(
                path,
                "minProperties",
                format!("{count} properties, at least {min}"),
                name,
            );
        }
        let properties = map.get("properties").and_then(Value::as_object);
        if let Some(properties) = properties {
            for (key, sub) in properties {
                if let Some(v) = object.get(key) {
                    self.check(sub, v, &child(path, key), name, true, depth + 1);
                }
            }
        }
        let declared = |key: &str| properties.is_some_and(|p| p.contains_key(key));
        match map.get("additionalProperties") {
            Some(Value::Bool(false)) => {
                for key in object.keys().filter(|k| !declared(k)) {
                    self.fail(
                        &child(path, key),
                        "additionalProperties",
                        "the property is not allowed".into(),
                        name,
                    );
                }
            }
            Some(Value::Bool(true)) => {}
            Some(extra) => {
                for (key, v) in object.iter().filter(|(k, _)| !declared(k)) {
                    self.check(extra, v, &child(path, key), name, true, depth + 1);
                }
            }
            None => {
                if self.options.deny_unknown_properties && check_unknown {
                    let mut known = BTreeSet::new();
                    if self.collect_known(map, &mut known, 0) {
                        for key in object.keys().filter(|k| !known.contains(k.as_str())) {
                            self.fail(
                                &child(path, key),
                                "unknown property",
                                "not declared by the contract".into(),
                                name,
                            );
                        }
                    }
                }
            }
        }
    }

    /// Property names declared by `map` and its `allOf` parts. False when some
    /// part admits any property (then nothing is unknown).
    fn collect_known(
        &self,
        map: &'a serde_json::Map<String, Value>,
        known: &mut BTreeSet<&'a str>,
        depth: usize,
    ) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        if let Some(r) = map.get("$ref").and_then(Value::as_str) {
            return match resolve(self.root, r).and_then(Value::as_object) {
                Some(target) => self.collect_known(target, known, depth + 1),
                None => false,
            };
        }
        if matches!(map.get("additionalProperties"), Some(v) if v != &Value::Bool(false)) {
            return false;
        }
        if map.contains_key("anyOf") || map.contains_key("oneOf") {
            return false;
        }
        if let Some(props) = map.get("properties").and_then(Value::as_object) {
            known.extend(props.keys().map(String::as_str));
        }
        if let Some(parts) = map.get("allOf").and_then(Value::as_array) {
            for part in parts.iter().filter_map(Value::as_object) {
                if !self.collect_known(part, known, depth + 1) {
                    return false;
                }
            }
        }
        true
    }
}

fn type_matches(ty: &str, value: &Value) -> bool {
    match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => false,
    }
}

/// What a value is, for messages: `string "12"`, `number 3.5`, `null`.
pub fn describe(value: &Value) -> String {
    let shown = |v: &Value| {
        let s = v.to_string();
        if s.len() > 60 {
            let cut = s.char_indices().nth(57).map_or(s.len(), |(i, _)| i);
            format!("{}...", &s[..cut])
        } else {
            s
        }
    };
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) if n.is_i64() || n.is_u64() => format!("integer {n}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(_) => format!("string {}", shown(value)),
        Value::Array(a) => format!("array of {} items", a.len()),
        Value::Object(_) => "object".into(),
    }
}

fn compare(a: &serde_json::Number, b: &serde_json::Number) -> std::cmp::Ordering {
    let int = |n: &serde_json::Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (int(a), int(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => {
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal)
        }
    }
}

fn child(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::String(key.to_string()))
    }
}

fn summarize(head: &str, outcomes: &[Result<(), Vec<String>>]) -> String {
    let mut out = head.to_string();
    for (i, outcome) in outcomes.iter().enumerate() {
        if let Err(errors) = outcome {
            let _ = write!(out, "; alternative {i}: {}", errors.join(" | "));
        }
    }
    out
}
