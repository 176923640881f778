//! The audit screen's I/O: the live stream and the chain check.

use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt as _, StreamExt as _};
use keygate_core::api::Gateway;

use super::{Cmd, Msg};
use crate::screens::Emit;

/// Most events sent in one message: a backlog arrives in batches, so the console redraws
/// once per batch rather than once per event.
const BATCH: usize = 500;

/// Runs a command against the gateway.
pub async fn run(cmd: Cmd, gateway: Arc<dyn Gateway>, emit: Emit<Msg>) {
    match cmd {
        Cmd::Verify => {
            let result = gateway.verify_audit().await.map_err(|e| e.to_string());
            emit.send(Msg::Verified(result));
        }
        Cmd::Follow {
            generation,
            query,
            stop,
        } => follow(generation, &query, stop.0, gateway.as_ref(), &emit).await,
    }
}

async fn follow(
    generation: u64,
    query: &keygate_core::audit::AuditQuery,
    mut stop: tokio::sync::watch::Receiver<u64>,
    gateway: &dyn Gateway,
    emit: &Emit<Msg>,
) {
    let ended = |error: Option<String>| Msg::Ended { generation, error };
    let mut stream = match gateway.follow_audit(query).await {
        Ok(s) => s,
        Err(e) => {
            emit.send(ended(Some(e.to_string())));
            return;
        }
    };
    // A quiet log sends nothing for a long time; the tick notices a console that quit.
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let first = tokio::select! {
            next = stream.next() => next,
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() != generation {
                    return;
                }
                continue;
            }
            _ = tick.tick() => {
                if emit.is_closed() {
                    return;
                }
                continue;
            }
        };
        let mut batch = Vec::new();
        let mut next = first;
        loop {
            match next {
                Some(Ok(event)) => batch.push(event),
                Some(Err(e)) => {
                    send(emit, generation, batch);
                    emit.send(ended(Some(e.to_string())));
                    return;
                }
                None => {
                    send(emit, generation, batch);
                    emit.send(ended(None));
                    return;
                }
            }
            if batch.len() >= BATCH {
                break;
            }
            // Whatever is already there joins the batch; nothing is waited for.
            match stream.next().now_or_never() {
                Some(n) => next = n,
                None => break,
            }
        }
        if !send(emit, generation, batch) {
            return;
        }
    }
}

/// Sends a batch; false once the console has quit.
fn send(emit: &Emit<Msg>, generation: u64, events: Vec<keygate_core::audit::AuditEvent>) -> bool {
    events.is_empty() || emit.send(Msg::Events { generation, events })
}
