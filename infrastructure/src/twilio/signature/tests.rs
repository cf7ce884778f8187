//! Vectors from `docs/PROTOCOLS.md` §2; the extra ones were checked against the Python `twilio`
//! package's `RequestValidator` (9.13).

use super::*;

const TOKEN: &str = "12345";
const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
const URL_443: &str = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
const JSON_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2\
    &bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
const JSON_BODY: &[u8] = br#"{"property": "value", "boolean": true}"#;
const SHA256_SETTINGS: &str = "key=webhooks_sharedkey_123,algorithm=HMAC_SHA256";

fn signer() -> Signer {
    Signer::new(SecretString::from(TOKEN))
}

fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn call_params() -> Vec<(String, String)> {
    pairs(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ])
}

fn validate(url: &str, body: Body<'_>, signature: &str) -> Result<(), SignatureError> {
    signer().validate(&SignedRequest {
        url,
        body,
        signature: Some(signature),
        settings_header: None,
    })
}

/// Signs with `algorithm`, then validates with the matching settings header.
fn assert_vector(algorithm: Algorithm, url: &str, body: Body<'_>, expected: &str) {
    // Act
    let signed = signer().sign(algorithm, url, &body);
    let settings_header = match algorithm {
        Algorithm::HmacSha1 => None,
        Algorithm::HmacSha256 => Some(SHA256_SETTINGS),
    };
    let validated = signer().validate(&SignedRequest {
        url,
        body,
        signature: Some(expected),
        settings_header,
    });

    // Assert
    assert_eq!(signed, expected);
    assert_eq!(validated, Ok(()));
}

#[test]
fn it_should_sign_and_accept_the_form_post_vector() {
    let params = call_params();
    assert_vector(
        Algorithm::HmacSha1,
        URL,
        Body::Form(&params),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
    );
}

#[test]
fn it_should_sign_and_accept_the_vector_with_port_443() {
    let params = call_params();
    assert_vector(
        Algorithm::HmacSha1,
        URL_443,
        Body::Form(&params),
        "kvajT1Ptam85bY51eRf/AJRuM3w=",
    );
}

#[test]
fn it_should_sign_and_accept_the_vector_with_port_1234() {
    let params = call_params();
    let url = "http://mycompany.com:1234/myapp.php?foo=1&bar=2";
    assert_vector(
        Algorithm::HmacSha1,
        url,
        Body::Form(&params),
        "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
    );
}

#[test]
fn it_should_sign_and_accept_the_vector_with_port_80() {
    let params = call_params();
    let url = "http://mycompany.com:80/myapp.php?foo=1&bar=2";
    assert_vector(
        Algorithm::HmacSha1,
        url,
        Body::Form(&params),
        "0ZXoZLH/DfblKGATFgpif+LLRf4=",
    );
}

#[test]
fn it_should_sign_repeated_values_once_each_and_sorted() {
    let params = pairs(&[
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]);
    assert_vector(
        Algorithm::HmacSha1,
        URL,
        Body::Form(&params),
        "IK+Dwps556ElfBT0I3Rgjkr1wJU=",
    );
}

#[test]
fn it_should_sign_and_accept_the_json_vector_with_its_body_hash() {
    assert_vector(
        Algorithm::HmacSha1,
        JSON_URL,
        Body::Json(JSON_BODY),
        "a9nBmqA0ju/hNViExpshrM61xv4=",
    );
}

#[test]
fn it_should_sign_and_accept_the_vector_with_another_caller() {
    let params = pairs(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675310"),
        ("Digits", "1234"),
        ("From", "+14158675310"),
        ("To", "+18005551212"),
    ]);
    let url = "https://example.com/myapp.php?foo=1&bar=2";
    assert_vector(
        Algorithm::HmacSha1,
        url,
        Body::Form(&params),
        "L/OH5YylLD5NRKLltdqwSvS0BnU=",
    );
}

#[test]
fn it_should_sign_and_accept_the_form_post_vector_with_hmac_sha256() {
    let params = call_params();
    let expected = "033hgUJA9M/hXIZsYjwkerEP/DBm35nEri5FhCYjA5s=";
    assert_vector(Algorithm::HmacSha256, URL, Body::Form(&params), expected);
}

#[test]
fn it_should_sign_and_accept_repeated_values_with_hmac_sha256() {
    let params = pairs(&[
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]);
    let expected = "jco7II1lvHpqANwxYMpqhOGVonnkKyDh1cL2ZUBvMDs=";
    assert_vector(Algorithm::HmacSha256, URL, Body::Form(&params), expected);
}

#[test]
fn it_should_sign_and_accept_a_json_body_with_hmac_sha256() {
    let expected = "+UOCWf84gdgo/5Hpg4m5/EgKnJA2/TbOw5sPNVr3bPk=";
    assert_vector(
        Algorithm::HmacSha256,
        JSON_URL,
        Body::Json(JSON_BODY),
        expected,
    );
}

#[test]
fn it_should_sign_names_in_byte_order_and_keep_empty_and_unicode_values() {
    let params = pairs(&[
        ("a", "1"),
        ("B", "2"),
        ("_c", "3"),
        ("Body", "héllo wörld ☎"),
        ("Caller", ""),
    ]);
    let url = "https://example.com/hook";
    assert_vector(
        Algorithm::HmacSha1,
        url,
        Body::Form(&params),
        "HPwbZRaKAEAftysfX7hAlagRweI=",
    );
}

#[test]
fn it_should_sign_the_query_exactly_as_requested() {
    let params = pairs(&[("CallSid", "CA00000000000000000000000000000000")]);
    let signer = Signer::new(SecretString::from("secret-token"));
    let url = "https://callassist.example.com/twilio/voice?x=%20y";

    let signed = signer.sign(Algorithm::HmacSha1, url, &Body::Form(&params));

    assert_eq!(signed, "+iIpeUOOda/QPPvIRX93fj4yXew=");
}

#[test]
fn it_should_sign_the_same_whatever_the_parameter_order() {
    let mut params = call_params();
    params.reverse();

    let signed = signer().sign(Algorithm::HmacSha1, URL, &Body::Form(&params));

    assert_eq!(signed, "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
}

#[test]
fn it_should_accept_a_port_less_signature_on_a_url_with_port_443() {
    let params = call_params();
    let result = validate(URL_443, Body::Form(&params), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    assert_eq!(result, Ok(()));
}

#[test]
fn it_should_accept_a_port_443_signature_on_a_port_less_url() {
    let params = call_params();
    let result = validate(URL, Body::Form(&params), "kvajT1Ptam85bY51eRf/AJRuM3w=");
    assert_eq!(result, Ok(()));
}

#[test]
fn it_should_accept_a_port_80_signature_on_a_port_less_http_url() {
    let params = call_params();
    let url = "http://mycompany.com/myapp.php?foo=1&bar=2";
    let result = validate(url, Body::Form(&params), "0ZXoZLH/DfblKGATFgpif+LLRf4=");
    assert_eq!(result, Ok(()));
}

#[test]
fn it_should_not_drop_a_port_that_is_not_the_default() {
    let params = call_params();
    let url = "http://mycompany.com/myapp.php?foo=1&bar=2";
    let result = validate(url, Body::Form(&params), "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=");
    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn it_should_sign_and_accept_the_media_stream_handshake_with_or_without_port() {
    let url = "wss://callassist.example.com/twilio/media-stream";
    let with_port = "wss://callassist.example.com:443/twilio/media-stream";

    let signed = signer().sign(Algorithm::HmacSha1, url, &Body::None);

    assert_eq!(signed, "9PSxjXZaCtHSZhBcii8oV2YR9PM=");
    assert_eq!(
        validate(url, Body::None, "9PSxjXZaCtHSZhBcii8oV2YR9PM="),
        Ok(())
    );
    assert_eq!(
        validate(url, Body::None, "sQe2Lb90WdSAmQECnAZ5MFxmiX0="),
        Ok(())
    );
    assert_eq!(
        validate(with_port, Body::None, "9PSxjXZaCtHSZhBcii8oV2YR9PM="),
        Ok(())
    );
}

#[test]
fn it_should_reject_a_request_without_signature() {
    let params = call_params();
    let request = SignedRequest {
        url: URL,
        body: Body::Form(&params),
        signature: None,
        settings_header: None,
    };

    assert_eq!(signer().validate(&request), Err(SignatureError::Missing));
}

#[test]
fn it_should_reject_a_signature_made_with_another_token() {
    let params = call_params();
    let other = Signer::new(SecretString::from("54321"));
    let signature = other.sign(Algorithm::HmacSha1, URL, &Body::Form(&params));

    let result = validate(URL, Body::Form(&params), &signature);

    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn it_should_reject_a_tampered_parameter() {
    let mut params = call_params();
    params[2].1 = "9999".to_owned();

    let result = validate(URL, Body::Form(&params), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");

    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn it_should_reject_an_extra_parameter() {
    let mut params = call_params();
    params.push(("DialBridged".to_owned(), "true".to_owned()));

    let result = validate(URL, Body::Form(&params), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");

    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn it_should_reject_an_unknown_algorithm_without_falling_back() {
    let params = call_params();
    let request = SignedRequest {
        url: URL,
        body: Body::Form(&params),
        signature: Some("RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        settings_header: Some("key=webhooks_sharedkey_123,algorithm=HMAC_MD5"),
    };

    let result = signer().validate(&request);

    assert_eq!(
        result,
        Err(SignatureError::UnknownAlgorithm("HMAC_MD5".to_owned()))
    );
}

#[test]
fn it_should_use_hmac_sha1_when_the_settings_header_names_no_algorithm() {
    let params = call_params();
    let header = Some("key=webhooks_sharedkey_123");
    let request = SignedRequest {
        url: URL,
        body: Body::Form(&params),
        signature: Some("RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        settings_header: header,
    };

    assert_eq!(
        Algorithm::from_settings_header(header),
        Ok(Algorithm::HmacSha1)
    );
    assert_eq!(
        Algorithm::from_settings_header(None),
        Ok(Algorithm::HmacSha1)
    );
    assert_eq!(signer().validate(&request), Ok(()));
}

#[test]
fn it_should_read_hmac_sha256_from_the_settings_header() {
    let header = Some("key=webhooks_sharedkey_123, algorithm=HMAC_SHA256");
    assert_eq!(
        Algorithm::from_settings_header(header),
        Ok(Algorithm::HmacSha256)
    );
}

#[test]
fn it_should_reject_a_sha1_signature_when_sha256_is_announced() {
    let params = call_params();
    let request = SignedRequest {
        url: URL,
        body: Body::Form(&params),
        signature: Some("RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        settings_header: Some(SHA256_SETTINGS),
    };

    assert_eq!(signer().validate(&request), Err(SignatureError::Mismatch));
}

#[test]
fn it_should_reject_a_json_body_that_was_changed() {
    let body = br#"{"property": "other", "boolean": true}"#;
    let result = validate(JSON_URL, Body::Json(body), "a9nBmqA0ju/hNViExpshrM61xv4=");
    assert_eq!(result, Err(SignatureError::BodyHashMismatch));
}

#[test]
fn it_should_reject_a_json_body_on_a_url_without_body_hash() {
    let signature = signer().sign(Algorithm::HmacSha1, URL, &Body::Json(JSON_BODY));
    let result = validate(URL, Body::Json(JSON_BODY), &signature);
    assert_eq!(result, Err(SignatureError::BodyHashMissing));
}

#[test]
fn it_should_reject_an_empty_signature() {
    let params = call_params();
    let result = validate(URL, Body::Form(&params), "");
    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn it_should_reject_a_signature_that_is_not_base64() {
    let params = call_params();
    let result = validate(URL, Body::Form(&params), "not base64 at all!");
    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn it_should_reject_a_url_that_does_not_parse() {
    let result = validate("/twilio/voice", Body::None, "9PSxjXZaCtHSZhBcii8oV2YR9PM=");
    assert!(matches!(result, Err(SignatureError::BadUrl(_))));
}

#[test]
fn it_should_add_the_body_hash_to_the_query_as_twilio_does() {
    let with_query = url_with_body_hash(URL, JSON_BODY);
    let without_query = url_with_body_hash("https://example.com/events#top", b"");

    assert_eq!(with_query.as_deref(), Ok(JSON_URL));
    assert_eq!(
        without_query.as_deref(),
        Ok("https://example.com/events\
            ?bodySHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855#top")
    );
}

#[test]
fn it_should_not_add_a_second_body_hash() {
    let result = url_with_body_hash(JSON_URL, JSON_BODY);
    assert!(matches!(result, Err(SignatureError::BadUrl(_))));
}

#[test]
fn it_should_not_show_the_auth_token_in_debug_output() {
    let shown = format!(
        "{:?}",
        Signer::new(SecretString::from("super-secret-token"))
    );
    assert!(!shown.contains("super-secret-token"));
}

#[test]
fn it_should_find_the_port_after_user_info_and_around_ipv6_hosts() {
    let ipv6 = port_variants("https://user:pass@[::1]/voice?a=b:443");
    let user_info = port_variants("https://user:443@host:443/voice");
    let custom_scheme = port_variants("ftp://host/voice");

    assert_eq!(ipv6[1], "https://user:pass@[::1]:443/voice?a=b:443");
    assert_eq!(user_info[1], "https://user:443@host/voice");
    assert_eq!(custom_scheme, vec!["ftp://host/voice"]);
}
