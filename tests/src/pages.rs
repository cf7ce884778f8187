//! A minimal browser for the dashboard pages over plain HTTP: it keeps cookies (a jar of
//! name → value, honouring removals), never follows redirects (tests look at them), and fills
//! in the CSRF field of the forms it posts from its cookie, as a page's form would.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{HeaderMap, COOKIE, SET_COOKIE};

/// One answer: status, headers, body.
#[derive(Debug)]
pub struct Page {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
}

impl Page {
    /// The `Location` header of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    /// Every `Set-Cookie` header whose cookie is `name`.
    pub fn set_cookies(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter(|value| value.starts_with(&format!("{name}=")))
            .map(str::to_owned)
            .collect()
    }
}

/// The browser.
pub struct PageClient {
    address: String,
    client: reqwest::Client,
    jar: Mutex<HashMap<String, String>>,
}

impl PageClient {
    /// A browser with no cookies, for the server at `address`.
    pub fn new(address: &str) -> Self {
        Self {
            address: address.to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            jar: Mutex::new(HashMap::new()),
        }
    }

    /// The value of cookie `name`, if the browser holds it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    /// Sets (or replaces) cookie `name`.
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.to_owned());
    }

    /// Forgets cookie `name`.
    pub fn drop_cookie(&self, name: &str) {
        self.jar.lock().unwrap().remove(name);
    }

    fn cookie_header(&self) -> String {
        self.jar
            .lock()
            .unwrap()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let response = request
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .expect("the page request reaches the server");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        {
            let mut jar = self.jar.lock().unwrap();
            for value in headers.get_all(SET_COOKIE) {
                let Ok(header) = value.to_str() else { continue };
                let pair = header.split(';').next().unwrap_or_default();
                let Some((name, value)) = pair.split_once('=') else {
                    continue;
                };
                let removed = value.is_empty() || header.to_ascii_lowercase().contains("max-age=0");
                if removed {
                    jar.remove(name.trim());
                } else {
                    jar.insert(name.trim().to_owned(), value.trim().to_owned());
                }
            }
        }
        let body = response.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            body,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Page {
        self.get_with(path, &[]).await
    }

    /// `GET path` with extra `headers` (e.g. `HX-Request: true`, as htmx sends).
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut request = self.client.get(format!("{}{path}", self.address));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// `POST path` with an urlencoded form: `fields` plus `csrf` from the cookie (when held).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(String, String)> = fields
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        if let Some(token) = self.cookie("ca_csrf") {
            form.push(("csrf".to_owned(), token));
        }
        self.post_raw_form(path, &form).await
    }

    /// `POST path` with exactly `form` (no CSRF field added).
    pub async fn post_raw_form(&self, path: &str, form: &[(String, String)]) -> Page {
        self.post_raw_form_with(path, form, &[]).await
    }

    /// As [`PageClient::post_form`], with extra `headers` (e.g. `HX-Request: true`).
    pub async fn post_form_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut form: Vec<(String, String)> = fields
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        if let Some(token) = self.cookie("ca_csrf") {
            form.push(("csrf".to_owned(), token));
        }
        self.post_raw_form_with(path, &form, headers).await
    }

    /// `POST path` with exactly `form` and extra `headers`.
    pub async fn post_raw_form_with(
        &self,
        path: &str,
        form: &[(String, String)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut request = self
            .client
            .post(format!("{}{path}", self.address))
            .form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// Opens the login page and signs in; panics unless it lands on a page (303).
    pub async fn log_in(&self, email: &str, password: &str) -> Page {
        let form = self.get("/account/login").await;
        assert_eq!(form.status, 200, "the login page opens");
        let signed_in = self
            .post_form(
                "/account/login",
                &[("email", email), ("password", password)],
            )
            .await;
        assert_eq!(signed_in.status, 303, "signed in: {}", signed_in.body);
        signed_in
    }
}
