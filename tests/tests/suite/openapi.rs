//! The OpenAPI document: served, generated from the same registration as the routes, covering
//! every route of the API and naming no route that does not exist; Swagger UI served from the
//! binary (no download at build or run time).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::Value;
use support::TestApp;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every `#[get("…")]`-style route attribute in the API's route modules: (method, path).
fn routes_in_source() -> BTreeSet<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/src/routes");
    let mut routes = BTreeSet::new();
    for file in rust_files(&dir) {
        let source = std::fs::read_to_string(&file).unwrap();
        for method in METHODS {
            let marker = format!("#[{method}(\"");
            for (at, _) in source.match_indices(&marker) {
                let rest = &source[at + marker.len()..];
                let path = &rest[..rest.find('"').unwrap()];
                routes.insert((method.to_owned(), path.to_owned()));
            }
        }
    }
    routes
}

fn rust_files(dir: &PathBuf) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

fn operations(document: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.insert((method.to_owned(), path.clone()));
            }
        }
    }
    operations
}

async fn served_document(app: &TestApp) -> Value {
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn it_should_serve_the_document_generated_from_the_handlers() {
    let app = TestApp::spawn().await;
    let served = served_document(&app).await;
    assert!(
        served["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        served["openapi"]
    );
    assert_eq!(
        served,
        serde_json::to_value(api::openapi::document()).unwrap()
    );
    assert!(
        served["components"]["securitySchemes"]["bearer"].is_object(),
        "the bearer scheme is declared"
    );
}

#[tokio::test]
async fn it_should_document_every_route_of_the_api() {
    let documented = operations(&serde_json::to_value(api::openapi::document()).unwrap());
    let in_source = routes_in_source();
    assert!(
        in_source.len() >= 10,
        "found the route attributes: {in_source:?}"
    );
    let missing: Vec<_> = in_source
        .iter()
        .filter(|(_, path)| !path.starts_with("/twilio/"))
        .filter(|route| !documented.contains(*route))
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
}

#[test]
fn it_should_register_no_api_route_outside_the_documented_registration() {
    // Routes added with `.route(...)` bypass the document; only Twilio's webhooks may do so.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/src/routes");
    for file in rust_files(&dir) {
        if file.ends_with("twilio.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&file).unwrap();
        assert!(
            !source.contains(".route("),
            "{} registers a route the document cannot see",
            file.display()
        );
    }
}

#[tokio::test]
async fn it_should_serve_every_documented_operation() {
    let app = TestApp::spawn().await;
    let document = served_document(&app).await;
    for (method, path) in operations(&document) {
        let concrete = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "x"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let response = app
            .api(
                Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                &concrete,
                None,
                None,
            )
            .await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or_default();
        assert!(
            status != 405 && body["code"] != "no_route",
            "{method} {path} is documented but not served ({status} {body})"
        );
    }
}

#[tokio::test]
async fn it_should_declare_the_bearer_scheme_and_401_on_every_secured_operation() {
    let document = serde_json::to_value(api::openapi::document()).unwrap();
    let open = [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
    ];
    for (method, path) in operations(&document) {
        if !path.starts_with("/api/v1/") || open.contains(&path.as_str()) {
            continue;
        }
        let operation = &document["paths"][&path][&method];
        assert!(
            operation["security"].to_string().contains("bearer"),
            "{method} {path} does not declare the bearer scheme"
        );
        assert!(
            operation["responses"]["401"].is_object(),
            "{method} {path} does not document its 401"
        );
    }
}

#[test]
fn it_should_give_every_operation_its_own_id() {
    // Clients generate method names from operation ids; schemathesis links operations by them.
    let document = serde_json::to_value(api::openapi::document()).unwrap();
    let mut seen = BTreeSet::new();
    for (method, path) in operations(&document) {
        let id = document["paths"][&path][&method]["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operation id"))
            .to_owned();
        assert!(
            seen.insert(id.clone()),
            "operation id {id} is used twice ({method} {path})"
        );
    }
}

#[tokio::test]
async fn it_should_serve_swagger_ui_from_the_binary() {
    let app = TestApp::spawn().await;
    let page = app.get("/api/docs/").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("swagger"));
    let config = app.get("/api/docs/swagger-initializer.js").await;
    assert_eq!(config.status(), 200);
    assert!(config
        .text()
        .await
        .unwrap()
        .contains("/api/v1/openapi.json"));
}
