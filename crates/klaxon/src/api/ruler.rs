//! The rules API for expression-rule groups (with `--rules.api`), on the paths of Grafana's
//! ruler API; a group's body has the shape of a group in Grafana's provisioning files
//! (`name`, `interval`, `rules` of `uid`, `title`, `condition`, `data`, …), in JSON:
//! - `GET /api/ruler/grafana/api/v1/rules`: every group by folder;
//! - `GET|POST|DELETE /api/ruler/grafana/api/v1/rules/{folder}`: a folder's groups; POST
//!   creates or replaces one group;
//! - `GET|DELETE /api/ruler/grafana/api/v1/rules/{folder}/{group}`;
//! - `GET /api/ruler/grafana/api/v1/rules/{folder}/{group}/versions`: every version written.
//!
//! Groups are stored in the database; every write bumps the group's version. A write with
//! `If-Match: <version>` happens only if the group is at that version (`0`: it must not
//! exist), else 409. Invalid groups are refused with 400 and the reasons. Changes apply at
//! once on this instance and within a tick on instances sharing the database.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};
use store::{RuleGroupWriteError, StoredRuleGroup};

use crate::app::App;
use crate::rules::Generator;

/// An answer with a status and `{"message": …}`; refusals travel as the `Err` of handlers.
pub(crate) struct Message(StatusCode, String);

impl IntoResponse for Message {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"message": self.1}))).into_response()
    }
}

fn message(status: StatusCode, text: impl Into<String>) -> Message {
    Message(status, text.into())
}

type Answer = Result<Response, Message>;

fn generator(app: &App) -> Result<&Arc<Generator>, Message> {
    match app.rules.get() {
        Some(generator) if generator.api_enabled() => Ok(generator),
        // The listener opens before the generator has loaded its rules.
        None => Err(message(
            StatusCode::SERVICE_UNAVAILABLE,
            "the rules API is not available: the alert generator is starting, or --rules.api is off",
        )),
        Some(_) => {
            Err(message(StatusCode::NOT_FOUND, "the rules API is off: start with --rules.api"))
        }
    }
}

fn group_json(group: &StoredRuleGroup) -> Value {
    let mut body: Value = serde_json::from_str(&group.body).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut body {
        map.insert("version".into(), Value::from(group.version));
        map.insert(
            "updated".into(),
            Value::from(group.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
    }
    body
}

async fn stored(generator: &Generator) -> Result<Vec<StoredRuleGroup>, Message> {
    generator
        .store
        .list_rule_groups()
        .await
        .map_err(|e| message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

fn by_folder<'a>(groups: impl Iterator<Item = &'a StoredRuleGroup>) -> Value {
    let mut folders: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for group in groups {
        folders.entry(group.folder.clone()).or_default().push(group_json(group));
    }
    json!(folders)
}

/// `GET /api/ruler/grafana/api/v1/rules`.
pub(crate) async fn get_all(State(app): State<Arc<App>>) -> Answer {
    let generator = generator(&app)?;
    let groups = stored(generator).await?;
    Ok(Json(by_folder(groups.iter())).into_response())
}

/// `GET /api/ruler/grafana/api/v1/rules/{folder}`.
pub(crate) async fn get_folder(State(app): State<Arc<App>>, Path(folder): Path<String>) -> Answer {
    let generator = generator(&app)?;
    let groups = stored(generator).await?;
    Ok(Json(by_folder(groups.iter().filter(|g| g.folder == folder))).into_response())
}

/// `GET /api/ruler/grafana/api/v1/rules/{folder}/{group}`.
pub(crate) async fn get_group(
    State(app): State<Arc<App>>,
    Path((folder, name)): Path<(String, String)>,
) -> Answer {
    let generator = generator(&app)?;
    let groups = stored(generator).await?;
    let group = groups.iter().find(|g| g.folder == folder && g.name == name).ok_or_else(|| {
        message(StatusCode::NOT_FOUND, format!("rule group {folder}/{name} not found"))
    })?;
    let etag = [(axum::http::header::ETAG, format!("\"{}\"", group.version))];
    Ok((etag, Json(group_json(group))).into_response())
}

/// `GET /api/ruler/grafana/api/v1/rules/{folder}/{group}/versions`.
pub(crate) async fn get_versions(
    State(app): State<Arc<App>>,
    Path((folder, name)): Path<(String, String)>,
) -> Answer {
    let generator = generator(&app)?;
    match generator.store.rule_group_versions(&folder, &name).await {
        Ok(versions) if versions.is_empty() => {
            Err(message(StatusCode::NOT_FOUND, format!("rule group {folder}/{name} not found")))
        }
        Ok(versions) => Ok(Json(Value::Array(
            versions
                .iter()
                .map(|v| {
                    json!({
                        "version": v.version,
                        "updated": v.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        "deleted": v.body.is_empty(),
                        "group": serde_json::from_str::<Value>(&v.body).unwrap_or(Value::Null),
                    })
                })
                .collect(),
        ))
        .into_response()),
        Err(e) => Err(message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

/// The version an `If-Match` header names (quotes allowed).
fn expected_version(headers: &HeaderMap) -> Result<Option<i64>, Message> {
    let Some(value) = headers.get(axum::http::header::IF_MATCH) else { return Ok(None) };
    value
        .to_str()
        .ok()
        .and_then(|text| text.trim().trim_matches('"').parse::<i64>().ok())
        .filter(|v| *v >= 0)
        .map(Some)
        .ok_or_else(|| {
            message(StatusCode::BAD_REQUEST, "If-Match must be a group version (a number)")
        })
}

/// Applies the store's groups to the running engine.
async fn apply(generator: &Generator) -> Result<(), Message> {
    generator.refresh_api_groups().await.and_then(|_| generator.reload()).map_err(|e| {
        message(StatusCode::INTERNAL_SERVER_ERROR, format!("stored, but not applied: {e}"))
    })
}

fn write_error(error: RuleGroupWriteError) -> Message {
    match error {
        RuleGroupWriteError::VersionConflict { .. } => {
            message(StatusCode::CONFLICT, error.to_string())
        }
        RuleGroupWriteError::Store(e) => message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Rejects rules whose queries name a datasource that is not configured.
fn unknown_datasources(
    generator: &Generator,
    group: ruler::rulefile::RuleGroup,
) -> Result<ruler::rulefile::RuleGroup, Vec<(String, String)>> {
    let datasources = generator.datasources();
    let mut errors = Vec::new();
    for (r, rule) in group.rules.iter().enumerate() {
        if let ruler::rulefile::Rule::Expression(rule) = rule {
            errors.extend(
                datasources
                    .unknown_uids(rule)
                    .into_iter()
                    .map(|e| (format!("rules[{r}].{}", e.field), e.message)),
            );
        }
    }
    if errors.is_empty() { Ok(group) } else { Err(errors) }
}

/// `POST /api/ruler/grafana/api/v1/rules/{folder}`: creates or replaces one group.
pub(crate) async fn post_group(
    State(app): State<Arc<App>>,
    Path(folder): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Answer {
    let generator = generator(&app)?;
    let expected = expected_version(&headers)?;
    let mut group: ruler::provisioning::GroupNode = match serde_json::from_str(&body) {
        Ok(group) => group,
        Err(e) => return Err(message(StatusCode::BAD_REQUEST, format!("invalid rule group: {e}"))),
    };
    if !group.folder.is_empty() && group.folder != folder {
        return Err(message(
            StatusCode::BAD_REQUEST,
            format!("folder: {:?} differs from the folder in the path, {folder:?}", group.folder),
        ));
    }
    group.folder = folder.clone();
    let valid = match group.validate().and_then(|valid| unknown_datasources(generator, valid)) {
        Ok(valid) => valid,
        Err(errors) => {
            let reasons: Vec<String> =
                errors.iter().map(|(field, text)| format!("{field}: {text}")).collect();
            return Err(message(StatusCode::BAD_REQUEST, reasons.join("; ")));
        }
    };
    let tick = generator.tick();
    if let Some(interval) = valid.interval
        && (interval.as_millis() % tick.as_millis().max(1) != 0)
    {
        return Err(message(
            StatusCode::BAD_REQUEST,
            format!(
                "interval: {} is not a multiple of the rule tick {}",
                model::format_duration(interval),
                model::format_duration(tick)
            ),
        ));
    }
    // UIDs are unique across files and every other stored group.
    let mut taken = std::collections::HashMap::new();
    match generator.file_groups() {
        Ok(groups) => {
            for other in &groups {
                for rule in &other.rules {
                    if let ruler::rulefile::Rule::Expression(rule) = rule {
                        taken.insert(
                            rule.spec.uid.clone(),
                            format!("a provisioning file's group {:?}", other.name),
                        );
                    }
                }
            }
        }
        Err(e) => return Err(message(StatusCode::INTERNAL_SERVER_ERROR, e)),
    }
    let existing = stored(generator).await?;
    for other in existing.iter().filter(|g| !(g.folder == folder && g.name == group.name)) {
        if let Ok(node) = serde_json::from_str::<ruler::provisioning::GroupNode>(&other.body) {
            for rule in node.rules {
                taken.insert(rule.uid, format!("group {}/{}", other.folder, other.name));
            }
        }
    }
    for (r, rule) in group.rules.iter().enumerate() {
        if let Some(owner) = taken.get(&rule.uid) {
            return Err(message(
                StatusCode::BAD_REQUEST,
                format!("rules[{r}].uid: {:?} is already used by {owner}", rule.uid),
            ));
        }
    }
    let text = serde_json::to_string(&group).expect("a group serialises");
    let version = match generator
        .store
        .write_rule_group(&folder, &group.name, &text, expected, app.now())
        .await
    {
        Ok(version) => version,
        Err(error) => return Err(write_error(error)),
    };
    apply(generator).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"message": "rule group updated successfully", "version": version})),
    )
        .into_response())
}

/// `DELETE /api/ruler/grafana/api/v1/rules/{folder}/{group}`.
pub(crate) async fn delete_group(
    State(app): State<Arc<App>>,
    Path((folder, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    let generator = generator(&app)?;
    let expected = expected_version(&headers)?;
    let existing = stored(generator).await?;
    if !existing.iter().any(|g| g.folder == folder && g.name == name) {
        return Err(message(
            StatusCode::NOT_FOUND,
            format!("rule group {folder}/{name} not found"),
        ));
    }
    if let Err(error) =
        generator.store.write_rule_group(&folder, &name, "", expected, app.now()).await
    {
        return Err(write_error(error));
    }
    apply(generator).await?;
    Ok(message(StatusCode::ACCEPTED, "rule group deleted").into_response())
}

/// `DELETE /api/ruler/grafana/api/v1/rules/{folder}`: every group of the folder.
pub(crate) async fn delete_folder(
    State(app): State<Arc<App>>,
    Path(folder): Path<String>,
) -> Answer {
    let generator = generator(&app)?;
    let existing = stored(generator).await?;
    for group in existing.iter().filter(|g| g.folder == folder) {
        if let Err(error) = generator
            .store
            .write_rule_group(&folder, &group.name, "", Some(group.version), app.now())
            .await
        {
            return Err(write_error(error));
        }
    }
    apply(generator).await?;
    Ok(message(StatusCode::ACCEPTED, "rules deleted").into_response())
}
