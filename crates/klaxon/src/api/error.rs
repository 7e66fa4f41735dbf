//! The API's one error type. Each variant is a client error and carries its reason, shaped as
//! Alertmanager's go-swagger layer shapes it.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answered by the API.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// 400 with the reason.
    BadRequest(String),
    /// 404 with the reason.
    NotFound(String),
    /// An error as go-swagger's request binding reports it: a status and a JSON object with a
    /// numeric code and a message (400 for unparseable bodies, 422 for schema violations).
    Binding {
        /// HTTP status.
        status: StatusCode,
        /// go-swagger's error code (400, 601 invalid type or format, 602 required, 612 too few items).
        code: u16,
        /// The message.
        message: String,
    },
    /// A status with an empty body (how Alertmanager answers some 404s).
    Empty(StatusCode),
}

impl ApiError {
    /// A required field is missing (422, code 602).
    pub(crate) fn required(field: &str) -> ApiError {
        ApiError::Binding {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: 602,
            message: format!("{field} in body is required"),
        }
    }

    /// A value has the wrong format (422, code 601).
    pub(crate) fn invalid_format(
        field: &str,
        location: &str,
        format: &str,
        value: &str,
    ) -> ApiError {
        ApiError::Binding {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: 601,
            message: format!(
                "{field} in {location} must be of type {format}: {}",
                model::quote::go_quote(value)
            ),
        }
    }

    /// The body is not the JSON the endpoint takes (400, code 400).
    pub(crate) fn unparseable(what: &str, error: impl std::fmt::Display) -> ApiError {
        ApiError::Binding {
            status: StatusCode::BAD_REQUEST,
            code: 400,
            message: format!("parsing {what} body from \"\" failed, because {error}"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Alertmanager's go-swagger handlers answer errors with a JSON string body.
        match self {
            ApiError::BadRequest(reason) => {
                // go-openapi's JSON producer is a json.Encoder: the body ends with a newline.
                let mut body = serde_json::to_string(&reason).expect("a string serialises");
                body.push('\n');
                let json = [(axum::http::header::CONTENT_TYPE, "application/json")];
                (StatusCode::BAD_REQUEST, json, body).into_response()
            }
            ApiError::NotFound(reason) => (StatusCode::NOT_FOUND, Json(reason)).into_response(),
            ApiError::Binding { status, code, message } => {
                (status, Json(serde_json::json!({ "code": code, "message": message })))
                    .into_response()
            }
            ApiError::Empty(status) => status.into_response(),
        }
    }
}
