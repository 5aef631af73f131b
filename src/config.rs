//! Configuration: command-line flags, environment variables, and an optional file of
//! `KEY=value` lines (`COMPTOIR_CONFIG`, default `./comptoir.env` when it exists) whose
//! values never override the environment. Secrets are never logged: `Debug` on anything
//! holding one redacts it.

use std::path::{Path, PathBuf};

/// Loads the optional configuration file into the process environment. Called once at
/// start, before any thread exists (so setting variables is sound).
pub fn load_file() -> Result<Option<PathBuf>, String> {
    let explicit = std::env::var_os("COMPTOIR_CONFIG").map(PathBuf::from);
    let path = match &explicit {
        Some(path) => path.clone(),
        None => PathBuf::from("comptoir.env"),
    };
    if !path.exists() {
        return match explicit {
            Some(path) => Err(format!(
                "COMPTOIR_CONFIG names {} which does not exist",
                path.display()
            )),
            None => Ok(None),
        };
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!(
                "{}:{}: expected KEY=value",
                path.display(),
                number + 1
            ));
        };
        let key = key.trim();
        let value = value.trim().trim_matches('"');
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "{}:{}: `{key}` is not a variable name",
                path.display(),
                number + 1
            ));
        }
        if std::env::var_os(key).is_none() {
            // Single-threaded at this point: see the function's documentation.
            std::env::set_var(key, value);
        }
    }
    Ok(Some(path))
}

/// Where the data lives, shared by every command.
pub fn database_location(data_dir: &Path) -> projections::db::Location {
    projections::db::Location::from_env(data_dir)
}

/// Hides a secret in logs and `Debug` output.
#[derive(Clone, Default)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "\"[redacted]\""
        })
    }
}

/// Redacts the password of a database URL for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => {
                    format!("{}{}:[redacted]{}", &url[..scheme + 3], user, &url[at..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://shop:s3cret@db:5432/comptoir"),
            "postgres://shop:[redacted]@db:5432/comptoir"
        );
        assert_eq!(
            redact_url("postgres://shop@db/comptoir"),
            "postgres://shop@db/comptoir"
        );
        assert_eq!(format!("{:?}", Secret("sk_live".into())), "\"[redacted]\"");
    }
}
