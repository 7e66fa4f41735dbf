//! `/api/v2/silences` and `/api/v2/silence/{id}`: create, update, list, get and expire.

use std::sync::Arc;

use alertmanager::silence::{self, Silence, SilenceError};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Utc};
use model::{MatchType, Matcher};

use serde_json::json;

use super::error::ApiError;
use super::query::QueryParams;
use super::types::{
    GettableSilence, MatcherJson, PostableMatcher, PostableSilence, SilenceStatusJson, format_time,
};
use crate::app::App;

/// `GET /api/v2/silences`.
pub(crate) async fn get_silences(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<GettableSilence>>, ApiError> {
    let matchers = QueryParams::parse(raw.as_deref()).matchers()?;
    let now = app.now();
    let silences = app.silences().query(&matchers, now);
    Ok(Json(silences.iter().map(|s| gettable_silence(s, now)).collect()))
}

/// `GET /api/v2/silence/{id}`.
pub(crate) async fn get_silence(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<GettableSilence>, ApiError> {
    check_uuid(&id)?;
    let now = app.now();
    let silences = app.silences();
    let silence = silences.get(&id).ok_or(ApiError::Empty(StatusCode::NOT_FOUND))?;
    Ok(Json(gettable_silence(silence, now)))
}

/// `DELETE /api/v2/silence/{id}`: expires the silence. Alertmanager 0.25 answers an unknown
/// id with 500 and the error text; Klaxon does the same, since clients may depend on it.
pub(crate) async fn delete_silence(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_uuid(&id)?;
    let now = app.now();
    match app.silences().expire(&id, now) {
        Ok(()) => Ok(StatusCode::OK.into_response()),
        Err(error) => {
            Ok((StatusCode::INTERNAL_SERVER_ERROR, Json(error.to_string())).into_response())
        }
    }
}

/// The path parameter must be a UUID (its OpenAPI format), else 422.
fn check_uuid(id: &str) -> Result<(), ApiError> {
    let groups: Vec<&str> = id.split('-').collect();
    let lengths_ok = groups.iter().map(|group| group.len()).eq([8, 4, 4, 4, 12]);
    if lengths_ok && groups.iter().all(|group| group.chars().all(|c| c.is_ascii_hexdigit())) {
        Ok(())
    } else {
        Err(ApiError::invalid_format("silenceID", "path", "uuid", id))
    }
}

/// `POST /api/v2/silences`: creates a silence, or updates the one named by `id`.
pub(crate) async fn post_silences(
    State(app): State<Arc<App>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let postable: PostableSilence =
        serde_json::from_slice(&body).map_err(|error| ApiError::unparseable("silence", error))?;
    let now = app.now();
    let silence = silence_from_postable(postable, now)?;
    silence::check_postable(silence.starts_at, silence.ends_at, now)
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    match app.silences().set(silence, now) {
        Ok(id) => Ok(Json(json!({ "silenceID": id })).into_response()),
        Err(SilenceError::NotFound) => Err(ApiError::NotFound(SilenceError::NotFound.to_string())),
        Err(error) => Err(ApiError::BadRequest(error.to_string())),
    }
}

/// Converts the API's silence, checking required fields in go-swagger's (alphabetical) order
/// and reporting the first one missing.
fn silence_from_postable(
    postable: PostableSilence,
    now: DateTime<Utc>,
) -> Result<Silence, ApiError> {
    let comment = postable.comment.ok_or_else(|| ApiError::required("comment"))?;
    let created_by = postable.created_by.ok_or_else(|| ApiError::required("createdBy"))?;
    let ends_at = postable.ends_at.ok_or_else(|| ApiError::required("endsAt"))?;
    let matchers = postable.matchers.ok_or_else(|| ApiError::required("matchers"))?;
    if matchers.is_empty() {
        return Err(ApiError::Binding {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: 612,
            message: "matchers in body should have at least 1 items".to_owned(),
        });
    }
    let mut converted = Vec::with_capacity(matchers.len());
    for (index, matcher) in matchers.into_iter().enumerate() {
        converted.push(matcher_from_postable(index, matcher)?);
    }
    let starts_at = postable.starts_at.ok_or_else(|| ApiError::required("startsAt"))?;
    Ok(Silence {
        id: postable.id.unwrap_or_default(),
        matchers: converted,
        starts_at,
        ends_at,
        updated_at: now,
        created_by,
        comment,
    })
}

fn matcher_from_postable(index: usize, matcher: PostableMatcher) -> Result<Matcher, ApiError> {
    let field = |name: &str| ApiError::required(&format!("matchers.{index}.{name}"));
    let is_regex = matcher.is_regex.ok_or_else(|| field("isRegex"))?;
    let name = matcher.name.ok_or_else(|| field("name"))?;
    let value = matcher.value.ok_or_else(|| field("value"))?;
    let match_type = match (is_regex, matcher.is_equal.unwrap_or(true)) {
        (false, true) => MatchType::Equal,
        (false, false) => MatchType::NotEqual,
        (true, true) => MatchType::Regexp,
        (true, false) => MatchType::NotRegexp,
    };
    silence::build_matcher(index, match_type, &name, &value)
        .map_err(|error| ApiError::BadRequest(error.to_string()))
}

/// The API's view of a silence.
pub(crate) fn gettable_silence(silence: &Silence, now: DateTime<Utc>) -> GettableSilence {
    GettableSilence {
        id: silence.id.clone(),
        status: SilenceStatusJson { state: silence.state(now).as_str() },
        updated_at: format_time(silence.updated_at),
        comment: silence.comment.clone(),
        created_by: silence.created_by.clone(),
        ends_at: format_time(silence.ends_at),
        matchers: silence
            .matchers
            .iter()
            .map(|m| MatcherJson {
                name: m.name.clone(),
                value: m.value.clone(),
                is_regex: m.match_type.is_regex(),
                is_equal: m.match_type.is_positive(),
            })
            .collect(),
        starts_at: format_time(silence.starts_at),
    }
}
