//! Password authentication for the Postgres listener: SCRAM-SHA-256, as Postgres itself asks for
//! by default since version 14, so psql, libpq-based drivers, psycopg, node-postgres and
//! tokio-postgres all log in with a plain `password=` setting.
//!
//! The server knows one user and password ([`PgCredentials`]). The password is never kept: only
//! its SCRAM salted hash (one salt per server start), computed once. A client naming another
//! user goes through the same exchange against a hash of a random secret, so it fails the same
//! way as a wrong password (SQLSTATE 28P01) and cannot tell which user names exist.
//!
//! Without credentials every user name is accepted ("trust"); [`check_exposure`] refuses that on
//! an address other clients than this machine's can reach.

use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use futures::Sink;
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::sasl::scram::{
    SCRAM_ITERATIONS, ScramAuth, gen_salted_password, random_nonce,
};
use pgwire::api::auth::{
    AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler,
};
use pgwire::api::{ClientInfo, ConnectionManager};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use crate::pgwire::handler::QueryHandler;

/// The one user (and its password) allowed to log in to the Postgres listener.
#[derive(Clone)]
pub struct PgCredentials {
    user: String,
    /// The salt sent to clients; random per server start.
    salt: Vec<u8>,
    /// SCRAM's SaltedPassword of the real password.
    salted: Vec<u8>,
    /// SaltedPassword of a random secret, used for unknown users.
    decoy: Vec<u8>,
}

impl Debug for PgCredentials {
    /// Names the user, never the hashes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgCredentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl PgCredentials {
    /// Credentials for `user` with `password` (hashed here, once).
    pub fn new(user: &str, password: &str) -> PgCredentials {
        let salt = random_nonce().into_bytes();
        PgCredentials {
            user: user.to_owned(),
            salted: gen_salted_password(password, &salt, SCRAM_ITERATIONS),
            decoy: gen_salted_password(&random_nonce(), &salt, SCRAM_ITERATIONS),
            salt,
        }
    }

    /// The user name clients must log in as.
    pub fn user(&self) -> &str {
        &self.user
    }
}

#[async_trait]
impl AuthSource for PgCredentials {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let known = login.user() == Some(self.user.as_str());
        let hash = if known { &self.salted } else { &self.decoy };
        Ok(Password::new(Some(self.salt.clone()), hash.clone()))
    }
}

/// Why the Postgres listener refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// Trust authentication on an address other machines can reach.
    #[error(
        "refusing to serve Postgres clients on {addr} without a password: anyone who can reach \
         that address could run any statement. Set --pg-password (or SLUICE_PG_PASSWORD), bind a \
         loopback address such as 127.0.0.1, or pass --pg-insecure-no-auth to allow it anyway"
    )]
    NoPasswordOnPublicAddress {
        /// The address the listener was asked to bind.
        addr: SocketAddr,
    },
    /// A password without a user name, or the reverse.
    #[error("the Postgres {0} is empty: give a non-empty user name and password")]
    Empty(&'static str),
}

/// Refuses trust authentication (`credentials` is `None`) on `addr` unless it is a loopback
/// address or `insecure` says the operator wants it anyway.
pub fn check_exposure(
    addr: SocketAddr,
    credentials: Option<&PgCredentials>,
    insecure: bool,
) -> Result<(), AuthConfigError> {
    if credentials.is_none() && !insecure && !addr.ip().is_loopback() {
        return Err(AuthConfigError::NoPasswordOnPublicAddress { addr });
    }
    Ok(())
}

/// Checks a configured user and password and turns them into [`PgCredentials`].
pub fn credentials(user: &str, password: &str) -> Result<PgCredentials, AuthConfigError> {
    if user.is_empty() {
        return Err(AuthConfigError::Empty("user name"));
    }
    if password.is_empty() {
        return Err(AuthConfigError::Empty("password"));
    }
    Ok(PgCredentials::new(user, password))
}

/// How one connection logs in: trust (any user) or SCRAM-SHA-256 against the credentials.
pub enum Startup {
    /// No password asked.
    Trust(Arc<QueryHandler>),
    /// SCRAM-SHA-256; holds this connection's exchange state.
    Scram(Box<SASLAuthStartupHandler<DefaultServerParameterProvider>>),
}

impl Debug for Startup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Startup::Trust(_) => "Startup::Trust",
            Startup::Scram(_) => "Startup::Scram",
        })
    }
}

impl Startup {
    /// The startup of a new connection: SCRAM if `credentials` are set, registering the backend
    /// key with `backends` either way (for CancelRequest).
    pub fn new(
        credentials: Option<Arc<PgCredentials>>,
        trust: Arc<QueryHandler>,
        backends: Arc<ConnectionManager>,
    ) -> Startup {
        match credentials {
            None => Startup::Trust(trust),
            Some(credentials) => {
                let mut scram = ScramAuth::new(credentials);
                scram.set_iterations(SCRAM_ITERATIONS);
                let handler = SASLAuthStartupHandler::new(Arc::new(
                    DefaultServerParameterProvider::default(),
                ))
                .with_scram(scram)
                .with_connection_manager(backends);
                Startup::Scram(Box::new(handler))
            }
        }
    }
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match self {
            Startup::Trust(handler) => handler.on_startup(client, message).await,
            Startup::Scram(handler) => match handler.on_startup(client, message).await {
                // SCRAM clients leave the user out of their first message: name the one they
                // logged in as, as Postgres does.
                Err(PgWireError::InvalidPassword(_)) => {
                    let user = LoginInfo::from_client_info(client)
                        .user()
                        .unwrap_or_default()
                        .to_owned();
                    tracing::info!(%user, "password authentication failed");
                    Err(PgWireError::InvalidPassword(user))
                }
                other => other,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_is_refused_on_a_public_address_only() {
        let public: SocketAddr = "0.0.0.0:5433".parse().unwrap();
        let loopback: SocketAddr = "127.0.0.1:5433".parse().unwrap();
        let loopback6: SocketAddr = "[::1]:5433".parse().unwrap();
        assert!(matches!(
            check_exposure(public, None, false),
            Err(AuthConfigError::NoPasswordOnPublicAddress { .. })
        ));
        assert!(check_exposure(public, None, true).is_ok());
        assert!(check_exposure(loopback, None, false).is_ok());
        assert!(check_exposure(loopback6, None, false).is_ok());
        let creds = PgCredentials::new("u", "p");
        assert!(check_exposure(public, Some(&creds), false).is_ok());
    }

    #[test]
    fn empty_user_or_password_is_refused() {
        assert!(matches!(
            credentials("", "p"),
            Err(AuthConfigError::Empty("user name"))
        ));
        assert!(matches!(
            credentials("u", ""),
            Err(AuthConfigError::Empty("password"))
        ));
        assert_eq!(
            credentials("u", "p").map(|c| c.user().to_owned()).ok(),
            Some("u".into())
        );
    }

    #[test]
    fn debug_never_shows_the_hashes() {
        let creds = PgCredentials::new("alice", "secret");
        let shown = format!("{creds:?}");
        assert!(shown.contains("alice"), "{shown}");
        assert!(
            !shown.contains("salted") && !shown.contains("decoy"),
            "{shown}"
        );
    }
}
