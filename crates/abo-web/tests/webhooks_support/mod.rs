//! A real merchant endpoint for the webhook tests: an axum server on
//! loopback that answers each notification as scripted (an HTTP status, a
//! redirect, or no answer at all so the sender times out) and records every
//! request; plus independent checks of both signatures (contracts.md).

#![allow(dead_code)]

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the endpoint answers one notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Status(u16),
    /// 302 to another URL (must count as a failure, not be followed).
    Redirect,
    /// Answers only after the sender's 10 s timeout.
    Hang,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub answer: Answer,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("header {name} is missing"))
            .to_str()
            .unwrap()
    }

    pub fn succeeded(&self) -> bool {
        matches!(self.answer, Answer::Status(s) if (200..300).contains(&s))
    }
}

#[derive(Default)]
struct State {
    /// Answers to notifications (bodies with a `TypeTrigger`), in order.
    script: VecDeque<Answer>,
    /// Once the script is exhausted.
    otherwise: Option<Answer>,
    /// Answer to verification codes (bodies without `TypeTrigger`).
    code_answer: Option<Answer>,
    notifications: Vec<Received>,
    codes: Vec<Received>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move { answer(state, headers, body).await }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { url, state }
    }

    /// Notifications get these answers in order, then `otherwise`.
    pub fn script(&self, answers: &[Answer], otherwise: Answer) {
        let mut s = self.state.lock().unwrap();
        s.script = answers.iter().copied().collect();
        s.otherwise = Some(otherwise);
    }

    pub fn answer_codes_with(&self, answer: Answer) {
        self.state.lock().unwrap().code_answer = Some(answer);
    }

    pub fn notifications(&self) -> Vec<Received> {
        self.state.lock().unwrap().notifications.clone()
    }

    pub fn codes(&self) -> Vec<Received> {
        self.state.lock().unwrap().codes.clone()
    }

    /// The code of the last verification request.
    pub fn last_code(&self) -> String {
        let codes = self.codes();
        let last = codes.last().expect("a verification code was sent");
        last.json()["Code"].as_str().unwrap().to_owned()
    }
}

async fn answer(state: Arc<Mutex<State>>, headers: HeaderMap, body: Bytes) -> Response {
    let is_code = serde_json::from_slice::<Value>(&body)
        .ok()
        .is_some_and(|v| v.get("TypeTrigger").is_none());
    let answer = {
        let mut s = state.lock().unwrap();
        let answer = if is_code {
            s.code_answer.unwrap_or(Answer::Status(200))
        } else {
            let next = s.script.pop_front();
            next.or(s.otherwise).unwrap_or(Answer::Status(200))
        };
        let received = Received {
            headers,
            body,
            answer,
        };
        if is_code {
            s.codes.push(received);
        } else {
            s.notifications.push(received);
        }
        answer
    };
    match answer {
        Answer::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Answer::Redirect => (
            StatusCode::FOUND,
            [("location", "http://127.0.0.1:9/elsewhere")],
        )
            .into_response(),
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(15)).await;
            StatusCode::OK.into_response()
        }
    }
}

/// Checks both signatures of a request as a merchant would, with `secret`:
/// ProAbono's (`x-proabono-signature` = base64(SHA-256(key ‖ secret))) and
/// Abo's (`abo-signature: t=..,v1=..` = hex HMAC-SHA256(secret, "t.body")).
/// Also that `abo-event-id` is the envelope's `Id` for a notification.
pub fn assert_signed(r: &Received, secret: &str) {
    let key = r.header("x-proabono-key");
    assert_eq!(key.len(), 32, "x-proabono-key is 32 characters");
    let mut hasher = Sha256::new();
    hasher.update(key.as_bytes());
    hasher.update(secret.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(hasher.finalize());
    assert_eq!(
        r.header("x-proabono-signature"),
        expected,
        "ProAbono signature"
    );

    let header = r.header("abo-signature");
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        let (name, value) = part.split_once('=').unwrap();
        match name {
            "t" => t = Some(value.to_owned()),
            "v1" => v1.push(value.to_owned()),
            other => panic!("unexpected abo-signature part {other}"),
        }
    }
    let t = t.expect("abo-signature has t=");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(v1.contains(&expected), "abo-signature v1 matches the body");
    assert_eq!(r.header("content-type"), "application/json");
    if let Some(id) = r.json().get("Id") {
        assert_eq!(r.header("abo-event-id"), id.as_str().unwrap());
    }
}
