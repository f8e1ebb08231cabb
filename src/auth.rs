//! Tokens: random 256-bit secrets with a recognisable prefix, stored only as SHA-256 hashes.

use sha2::{Digest, Sha256};

use crate::domain::{Role, Timestamp};
use crate::error::Error;
use crate::store::{Store, Token};

/// Every secret starts with this, so a leaked one is easy to recognise.
pub const SECRET_PREFIX: &str = "ixd_";

pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates the workspace if needed and a token in it; returns the secret, shown once.
pub async fn create_token(store: &dyn Store, workspace: &str, role: Role) -> anyhow::Result<String> {
    let workspace_id = store.ensure_workspace(workspace).await?;
    let secret = format!("{SECRET_PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()));
    let id = format!("tok_{}", hex::encode(rand::random::<[u8; 6]>()));
    store.create_token(workspace_id, &id, &hash(&secret), role).await?;
    Ok(secret)
}

/// Revokes by id or by secret.
pub async fn revoke(store: &dyn Store, id_or_secret: &str) -> anyhow::Result<bool> {
    if store.revoke_token(id_or_secret).await? {
        return Ok(true);
    }
    store.revoke_token(&hash(id_or_secret)).await
}

/// The token an `Authorization: Bearer` header carries; 401 for anything not live.
pub async fn authenticate(store: &dyn Store, header: Option<&str>) -> Result<Token, Error> {
    let secret = header
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|s| s.starts_with(SECRET_PREFIX))
        .ok_or(Error::Unauthorized)?;
    match store.token_by_hash(&hash(secret)).await? {
        Some(token) if !token.revoked => Ok(token),
        _ => Err(Error::Unauthorized),
    }
}

/// Records a token's use at most once a minute, to keep reads from turning into writes.
pub async fn touch(store: &dyn Store, token: &Token) {
    let now = Timestamp::now();
    if token.last_used_at.is_some_and(|last| now.0 - last.0 < 60_000) {
        return;
    }
    if let Err(error) = store.touch_token(&token.id, now).await {
        tracing::warn!(%error, token = token.id, "could not record token use");
    }
}
