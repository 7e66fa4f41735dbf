//! The API's one error type: a client error carries its reason to the caller; anything else is
//! logged and answered with a generic 500.

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
    /// 500; the details are logged, not sent.
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Alertmanager's go-swagger handlers answer errors with a JSON string body.
        match self {
            ApiError::BadRequest(reason) => (StatusCode::BAD_REQUEST, Json(reason)).into_response(),
            ApiError::NotFound(reason) => (StatusCode::NOT_FOUND, Json(reason)).into_response(),
            ApiError::Internal(details) => {
                tracing::error!(%details, "internal error answering an API request");
                (StatusCode::INTERNAL_SERVER_ERROR, Json("internal server error")).into_response()
            }
        }
    }
}
