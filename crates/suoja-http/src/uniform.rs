//! Answers whose timing must not tell whether an address is on record: asking for a sign-in
//! link, or opening a privacy request without a session. The work for a known address (a
//! request, a link, a message) takes longer than finding nothing, so the answer is given after
//! a fixed time, whatever the work did; work that takes longer goes on in the background and
//! the answer does not wait for it.

use std::future::Future;
use std::time::Duration;

use axum::response::IntoResponse as _;

use crate::ApiError;

/// How long every such answer takes.
pub const ANSWER_AFTER: Duration = Duration::from_millis(300);

/// Runs `work` and answers after [`ANSWER_AFTER`]: with its result if it finished by then,
/// otherwise with `Ok(None)` while it goes on (its error, if any, is logged without details of
/// the person). The work runs as its own task, so a client that hangs up does not cut it short.
pub async fn answer_after<T, E>(what: &'static str, work: impl Future<Output = Result<T, E>> + Send + 'static) -> Result<Option<T>, ApiError>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    let deadline = tokio::time::Instant::now() + ANSWER_AFTER;
    let mut task = tokio::spawn(work);
    let finished = tokio::time::timeout_at(deadline, &mut task).await;
    tokio::time::sleep_until(deadline).await;
    match finished {
        Ok(Ok(Ok(v))) => Ok(Some(v)),
        Ok(Ok(Err(e))) => Err(e.into()),
        Ok(Err(join)) => {
            tracing::error!(work = what, %join, "work stopped");
            Err(ApiError::Helpdesk(suoja_helpdesk::HelpdeskError::Internal(format!("{what} stopped"))))
        }
        Err(_) => {
            tokio::spawn(async move {
                match task.await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        // (Turning it into an answer logs what went wrong, as for any request.)
                        let status = e.into().into_response().status();
                        tracing::warn!(work = what, status = status.as_u16(), "background work failed");
                    }
                    Err(join) => tracing::error!(work = what, %join, "background work stopped"),
                }
            });
            Ok(None)
        }
    }
}
