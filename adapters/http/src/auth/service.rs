//! The credential service: sign-in, bearer lookup, visitor tokens, tickets,
//! accounts and API tokens. Issued credentials live in memory for the
//! per-request check (a digest lookup) and in the journal file's directory
//! tables, written before any answer reveals them.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use switchboard_app::clock::now_ms;
use switchboard_core::SessionId;
use switchboard_store::{
    AccountRow, AuditEntry, CredentialRow, Directory, DirectoryWrite, LinkRow, StoreError, Written,
};

use super::limits::{Buckets, Lockouts};
use super::secrets::{self, Checked, Passwords, Signer, VisitorClaim};
use super::{Caller, Role, Security, Staff};
use crate::listener::{ConnStats, Door};

/// Why a credential operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong username or password, or a disabled account (not told apart).
    #[error("wrong username or password")]
    BadLogin,
    /// Too many failures: wait this long.
    #[error("too many failed sign-ins; retry in {} s", .0.as_secs().max(1))]
    Throttled(Duration),
    /// The credential is missing, unknown, expired or revoked.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// No such account, token or link.
    #[error("{0}")]
    NotFound(String),
    /// The username or agent is taken.
    #[error("{0}")]
    Conflict(String),
    /// The directory could not be read or written.
    #[error("directory: {0}")]
    Store(#[from] StoreError),
    /// Password hashing failed.
    #[error("{0}")]
    Hash(#[from] secrets::HashError),
    /// The cluster's log did not take the change.
    #[error("{0}")]
    Cluster(String),
}

/// Makes a directory change through a cluster's log; what it did, or why not.
pub type Writer = Arc<dyn Fn(DirectoryWrite) -> Result<Written, String> + Send + Sync>;

/// The live credentials in `directory` at `now_ms`, by the digest of their secret.
fn grants(directory: &Directory, now_ms: i64) -> Result<HashMap<String, Grant>, AuthError> {
    let mut grants = HashMap::new();
    for c in directory.live_credentials(now_ms)? {
        let Some(role) = Role::parse(&c.role) else {
            continue;
        };
        grants.insert(
            c.hash.clone(),
            Grant {
                staff: Staff {
                    name: c.name.clone().or(c.username.clone()).unwrap_or_default(),
                    role,
                    agent_id: c.agent_id.map(Into::into),
                    credential: Some(c.hash),
                },
                username: (c.kind == "login").then_some(c.username).flatten(),
                expires_ms: c.expires_ms,
            },
        );
    }
    Ok(grants)
}

/// An issued bearer credential, as the per-request check needs it.
#[derive(Clone, Debug)]
struct Grant {
    staff: Staff,
    username: Option<String>,
    expires_ms: Option<i64>,
}

/// A successful sign-in.
#[derive(Debug)]
pub struct Login {
    /// The bearer secret (also set as the cookie).
    pub token: String,
    /// Unix milliseconds.
    pub expires_ms: i64,
    /// The account.
    pub account: AccountRow,
}

/// The credential service; one per server, shared by every request.
pub struct Auth {
    settings: Security,
    passwords: Passwords,
    signer: Signer,
    db: Mutex<Directory>,
    /// Where changes go in a cluster (unset: straight to `db`).
    writer: OnceLock<Writer>,
    grants: RwLock<HashMap<String, Grant>>,
    revoked_links: RwLock<HashSet<String>>,
    tickets: Mutex<HashMap<String, (Caller, Instant)>>,
    per_address: Buckets<IpAddr>,
    per_visitor: Buckets<String>,
    per_credential: Buckets<String>,
    public_join: Buckets<IpAddr>,
    /// Failures per account *and address*: a stranger's bad guesses lock
    /// the account for the stranger, never for its owner elsewhere.
    account_failures: Lockouts<(String, IpAddr)>,
    address_failures: Lockouts<IpAddr>,
    conns: Arc<ConnStats>,
    /// Bumped on every revocation: live sockets wake and check their credential.
    revocations: tokio::sync::watch::Sender<u64>,
}

/// Longest a visitor link may last: a week.
pub const LINK_TTL_MAX_SECS: u64 = 7 * 86_400;

/// Most WebSocket tickets outstanding; expired ones are swept past it.
const TICKETS_MAX: usize = 10_000;
/// Passwords shorter than this are refused.
pub const PASSWORD_MIN: usize = 8;
/// Longer ones too (argon2 would hash megabytes happily).
pub const PASSWORD_MAX: usize = 1024;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Auth {
    /// Opens the directory of the journal at `db` (which the engine opened
    /// first) and loads the live credentials. On a database with no
    /// accounts, creates `admin` with the configured password or a one-time
    /// one printed to the log.
    pub fn open(db: &Path, settings: Security) -> Result<Auth, AuthError> {
        let auth = Auth::load(db, settings)?;
        auth.bootstrap()?;
        Ok(auth)
    }

    /// Opens the directory of a cluster's node: every change goes through
    /// `writer` (the leader puts it in the log), and the first `admin` is
    /// made once for the cluster, by [`Auth::bootstrap`] on the leader.
    pub fn open_for_cluster(
        db: &Path,
        settings: Security,
        writer: Writer,
    ) -> Result<Auth, AuthError> {
        let auth = Auth::load(db, settings)?;
        let _ = auth.writer.set(writer);
        Ok(auth)
    }

    fn load(db: &Path, settings: Security) -> Result<Auth, AuthError> {
        let directory = Directory::open(db)?;
        let key = directory.secret(&secrets::random(32))?;
        let passwords = Passwords::new(settings.argon2)?;
        let now = now_ms();
        let grants = grants(&directory, now)?;
        let revoked: HashSet<String> = directory.revoked_links(now)?.into_iter().collect();
        let login = settings.login;
        let auth = Auth {
            passwords,
            signer: Signer::new(&key),
            db: Mutex::new(directory),
            writer: OnceLock::new(),
            grants: RwLock::new(grants),
            revoked_links: RwLock::new(revoked),
            tickets: Mutex::new(HashMap::new()),
            per_address: Buckets::new(settings.per_address),
            per_visitor: Buckets::new(settings.per_address),
            per_credential: Buckets::new(settings.per_credential),
            public_join: Buckets::new(settings.public_join),
            account_failures: Lockouts::new(login.account_failures, login),
            address_failures: Lockouts::new(login.address_failures, login),
            conns: Arc::new(ConnStats::default()),
            revocations: tokio::sync::watch::Sender::new(0),
            settings,
        };
        Ok(auth)
    }

    /// The listener's connection figures, shown in `/metrics`.
    pub fn conns(&self) -> Arc<ConnStats> {
        self.conns.clone()
    }

    /// The settings in force.
    pub fn settings(&self) -> &Security {
        &self.settings
    }

    /// On a directory with no accounts, creates `admin` with the configured
    /// password or a one-time one printed to the log.
    pub fn bootstrap(&self) -> Result<(), AuthError> {
        if !lock(&self.db).accounts()?.is_empty() {
            return Ok(());
        }
        let (password, generated) = match &self.settings.admin_password {
            Some(p) => (p.clone(), false),
            None => (secrets::random(12), true),
        };
        let system = Caller::Staff(Staff {
            name: "system".into(),
            role: Role::Admin,
            agent_id: None,
            credential: None,
        });
        let admin = NewAccount {
            username: "admin".into(),
            password: password.clone(),
            role: Role::Admin,
            agent_id: None,
            display_name: None,
        };
        self.create_account(&system, None, admin)?;
        if generated {
            // The one time this password exists outside its hash.
            tracing::warn!(
                "first start: created account `admin` with one-time password {password} \
                 (set SWITCHBOARD_ADMIN_PASSWORD to choose it); change it after signing in"
            );
        } else {
            tracing::info!("first start: created account `admin`");
        }
        Ok(())
    }

    // ---- the per-request check ----

    /// The caller a bearer secret (header or cookie) proves, at `now_ms`.
    pub fn resolve(&self, secret: &str, now_ms: i64) -> Result<Caller, AuthError> {
        if let Some(admin) = &self.settings.admin_token {
            if secrets::same(secret.as_bytes(), admin.as_bytes()) {
                return Ok(Caller::Staff(Staff {
                    name: "admin-token".into(),
                    role: Role::Admin,
                    agent_id: None,
                    credential: None,
                }));
            }
        }
        if secret.starts_with("sbv_") {
            let claim = self
                .signer
                .verify(secret)
                .ok_or(AuthError::Unauthenticated("the visitor token is not valid"))?;
            if i64::try_from(claim.exp)
                .unwrap_or(i64::MAX)
                .saturating_mul(1000)
                <= now_ms
            {
                return Err(AuthError::Unauthenticated("the visitor token has expired"));
            }
            let revoked = self
                .revoked_links
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .contains(&claim.lid);
            if revoked {
                return Err(AuthError::Unauthenticated("the visitor link was revoked"));
            }
            return Ok(Caller::Visitor {
                session: claim.sid.into(),
                link: claim.lid,
            });
        }
        let grants = self.grants.read().unwrap_or_else(|p| p.into_inner());
        let grant = grants
            .get(&secrets::digest(secret))
            .ok_or(AuthError::Unauthenticated("unknown or revoked token"))?;
        if grant.expires_ms.is_some_and(|e| e <= now_ms) {
            return Err(AuthError::Unauthenticated("the sign-in has expired"));
        }
        Ok(Caller::Staff(grant.staff.clone()))
    }

    /// Takes one request or frame of `caller` from `address`, through
    /// `door`, against the rate limits: each staff credential and each
    /// visitor token has one bucket across HTTP, `/room` and socket.io;
    /// anonymous callers one per address. Err says how long to wait.
    pub fn admit(
        &self,
        caller: &Caller,
        address: IpAddr,
        door: Door,
        now: Instant,
    ) -> Result<(), Duration> {
        let taken = match caller {
            Caller::Staff(s) => {
                let key = s.credential.clone().unwrap_or_else(|| s.name.clone());
                self.per_credential.take(&key, now)
            }
            Caller::Visitor { link, .. } => self.per_visitor.take(link, now),
            Caller::Anonymous => self.per_address.take(&address, now),
        };
        if taken.is_err() {
            self.conns.rate_limited[door as usize].fetch_add(1, Ordering::Relaxed);
        }
        taken
    }

    /// Whether `caller`'s credential still holds (not revoked, not expired):
    /// what a live socket checks when told of a revocation.
    pub fn still_valid(&self, caller: &Caller) -> bool {
        match caller {
            Caller::Anonymous => false,
            Caller::Staff(Staff {
                credential: None, ..
            }) => true,
            Caller::Staff(Staff {
                credential: Some(hash),
                ..
            }) => self
                .grants
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(hash)
                .is_some_and(|g| g.expires_ms.is_none_or(|e| e > now_ms())),
            Caller::Visitor { link, .. } => !self
                .revoked_links
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .contains(link),
        }
    }

    /// Told of every revocation (the value only counts them).
    pub fn revocations(&self) -> tokio::sync::watch::Receiver<u64> {
        self.revocations.subscribe()
    }

    fn revoked(&self) {
        self.revocations.send_modify(|n| *n += 1);
    }

    /// Takes one public join from `address`.
    pub fn admit_public_join(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        self.public_join.take(&address, now)
    }

    // ---- visitor tokens and tickets ----

    /// A token admitting its bearer to `session` as its visitor until
    /// `ttl` from now, from link `link`.
    pub fn visitor_token(&self, session: &SessionId, link: &str, ttl: Duration) -> (String, i64) {
        let exp = u64::try_from(now_ms()).unwrap_or(0) / 1000 + ttl.as_secs();
        let claim = VisitorClaim {
            sid: session.to_string(),
            lid: link.to_owned(),
            exp,
        };
        (
            self.signer.sign(&claim),
            i64::try_from(exp).unwrap_or(i64::MAX) * 1000,
        )
    }

    /// A single-use WebSocket ticket for `caller`.
    pub fn ticket(&self, caller: Caller, now: Instant) -> String {
        let ticket = secrets::bearer("sbk_");
        let mut tickets = lock(&self.tickets);
        if tickets.len() >= TICKETS_MAX {
            tickets.retain(|_, (_, until)| *until > now);
        }
        let ttl = Duration::from_secs(self.settings.ticket_ttl_secs);
        tickets.insert(secrets::digest(&ticket), (caller, now + ttl));
        ticket
    }

    /// The caller a ticket was made for, once.
    pub fn redeem(&self, ticket: &str, now: Instant) -> Result<Caller, AuthError> {
        let found = lock(&self.tickets).remove(&secrets::digest(ticket));
        match found {
            // A ticket is no better than the credential it was made with.
            Some((caller, until)) if until > now && self.still_valid(&caller) => Ok(caller),
            _ => Err(AuthError::Unauthenticated(
                "unknown, used or expired ticket",
            )),
        }
    }

    // ---- sign-in ----

    /// Checks a username and password (argon2: call off the async threads).
    pub fn login(
        &self,
        username: &str,
        password: &str,
        address: IpAddr,
    ) -> Result<Login, AuthError> {
        let now = Instant::now();
        let user_key = (username.to_lowercase(), address);
        if let Some(wait) = self
            .account_failures
            .locked(&user_key, now)
            .max(self.address_failures.locked(&address, now))
        {
            self.audit_login(username, address, "throttled");
            return Err(AuthError::Throttled(wait));
        }
        let account = lock(&self.db).account(username)?;
        let checked = match &account {
            Some(a) if !a.disabled && password.len() <= PASSWORD_MAX => {
                self.passwords.check(password, &a.password)
            }
            // Spend the same time on unknown users, so timing does not tell.
            _ => {
                let _ = self.passwords.check(password, DUMMY_HASH);
                Checked::Wrong
            }
        };
        let Some(mut account) = account.filter(|_| checked != Checked::Wrong) else {
            self.account_failures.failed(&user_key, now);
            self.address_failures.failed(&address, now);
            self.audit_login(username, address, "bad_credentials");
            return Err(AuthError::BadLogin);
        };
        self.account_failures.succeeded(&user_key);
        self.address_failures.succeeded(&address);
        if checked == Checked::RightRehash {
            account.password = self.passwords.hash(password)?;
            let entry = audit_entry(
                &account.username,
                &account.role,
                "account.rehash",
                Some(&account.username),
                Some(address),
                "ok",
            );
            self.write(DirectoryWrite::UpdateAccount {
                account: account.clone(),
                revoke: false,
                keep: None,
                audit: entry,
            })?;
        }
        let token = secrets::bearer("sbs_");
        let created_ms = now_ms();
        let expires_ms = created_ms + ms(self.settings.session_ttl_secs);
        let role = Role::parse(&account.role).unwrap_or(Role::Agent);
        let row = CredentialRow {
            id: 0,
            hash: secrets::digest(&token),
            kind: "login".into(),
            name: None,
            username: Some(account.username.clone()),
            role: account.role.clone(),
            agent_id: account.agent_id.clone(),
            created_ms,
            expires_ms: Some(expires_ms),
        };
        let entry = audit_entry(
            &account.username,
            &account.role,
            "login",
            Some(&account.username),
            Some(address),
            "ok",
        );
        let hash = row.hash.clone();
        self.write(DirectoryWrite::InsertCredential {
            credential: row,
            audit: Some(entry),
        })?;
        self.grant(hash, &account, role, Some(expires_ms));
        Ok(Login {
            token,
            expires_ms,
            account,
        })
    }

    fn grant(&self, hash: String, account: &AccountRow, role: Role, expires_ms: Option<i64>) {
        let staff = Staff {
            name: account.username.clone(),
            role,
            agent_id: account.agent_id.clone().map(Into::into),
            credential: Some(hash.clone()),
        };
        self.grants
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                hash,
                Grant {
                    staff,
                    username: Some(account.username.clone()),
                    expires_ms,
                },
            );
    }

    fn audit_login(&self, username: &str, address: IpAddr, outcome: &str) {
        let entry = audit_entry(
            username,
            "unknown",
            "login",
            Some(username),
            Some(address),
            outcome,
        );
        self.audit(&entry);
    }

    /// Revokes the credential `caller` used (sign-out): a staff sign-in or
    /// API token, or a visitor's token (its link). The configured admin
    /// token has nothing to revoke.
    pub fn logout(&self, caller: &Caller, address: IpAddr) -> Result<(), AuthError> {
        let entry = caller_entry(caller, "logout", None, address, "ok");
        match caller {
            Caller::Staff(Staff {
                credential: Some(hash),
                ..
            }) => {
                self.write(DirectoryWrite::RevokeCredential {
                    hash: Some(hash.clone()),
                    id: None,
                    audit: Some(entry),
                })?;
                self.grants
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(hash);
            }
            Caller::Visitor { session, link } => {
                let now = now_ms();
                let longest = self
                    .settings
                    .link_ttl_secs
                    .max(self.settings.join_token_ttl_secs)
                    .max(LINK_TTL_MAX_SECS);
                let row = LinkRow {
                    link_id: link.clone(),
                    session_id: session.to_string(),
                    created_by: caller.actor(),
                    created_ms: now,
                    expires_ms: now + ms(longest),
                    revoked: true,
                };
                self.write(DirectoryWrite::RevokeVisitor {
                    link: row,
                    audit: entry,
                })?;
                self.revoked_links
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(link.clone());
            }
            _ => return Ok(()),
        }
        self.revoked();
        Ok(())
    }

    // ---- accounts ----

    /// Every account.
    pub fn accounts(&self) -> Result<Vec<AccountRow>, AuthError> {
        Ok(lock(&self.db).accounts()?)
    }

    /// The account a staff credential signed in as: None for API tokens and
    /// the configured admin token, which are not accounts.
    pub fn username_of(&self, staff: &Staff) -> Option<String> {
        let hash = staff.credential.as_ref()?;
        let grants = self.grants.read().unwrap_or_else(|p| p.into_inner());
        grants.get(hash).and_then(|g| g.username.clone())
    }

    /// One account (SQLite: call off the async threads).
    pub fn account(&self, username: &str) -> Result<Option<AccountRow>, AuthError> {
        Ok(lock(&self.db).account(username)?)
    }

    /// Creates an account (argon2: call off the async threads).
    pub fn create_account(
        &self,
        by: &Caller,
        address: Option<IpAddr>,
        new: NewAccount,
    ) -> Result<AccountRow, AuthError> {
        let NewAccount {
            username,
            password,
            role,
            agent_id,
            display_name,
        } = new;
        let (username, password) = (username.as_str(), password.as_str());
        check_name("username", username)?;
        check_password(password)?;
        let display_name = display_name_of(display_name)?;
        if role == Role::Agent && agent_id.is_none() {
            return Err(AuthError::Invalid("an agent account needs agent_id".into()));
        }
        if let Some(a) = &agent_id {
            check_name("agent_id", a)?;
        }
        let now = now_ms();
        let account = AccountRow {
            username: username.to_owned(),
            password: self.passwords.hash(password)?,
            role: role.as_str().into(),
            agent_id,
            display_name,
            disabled: false,
            created_ms: now,
            updated_ms: now,
        };
        let entry = audit_entry(
            &by.actor(),
            by.role_name(),
            "account.create",
            Some(username),
            address,
            "ok",
        );
        let change = DirectoryWrite::InsertAccount {
            account: account.clone(),
            audit: entry,
        };
        if self.write(change)? != Written::Added(true) {
            return Err(AuthError::Conflict(format!(
                "username {username:?} or its agent_id is taken"
            )));
        }
        Ok(account)
    }

    /// Changes an account: a new role, a new password, disabled or not.
    /// A change of role or password, or disabling, revokes the account's
    /// sign-ins except `keep` (the caller's own, when changing its own password).
    pub fn update_account(
        &self,
        by: &Caller,
        address: IpAddr,
        username: &str,
        change: AccountChange,
    ) -> Result<AccountRow, AuthError> {
        let db = lock(&self.db);
        let mut account = db
            .account(username)?
            .ok_or_else(|| AuthError::NotFound(format!("account {username:?} not found")))?;
        let mut revoke = false;
        let mut action = "account.update";
        if let Some(role) = change.role {
            if role == Role::Agent && account.agent_id.is_none() {
                return Err(AuthError::Invalid("an agent account needs agent_id".into()));
            }
            revoke |= role.as_str() != account.role;
            account.role = role.as_str().into();
        }
        if let Some(name) = change.display_name {
            account.display_name = display_name_of(Some(name))?;
        }
        if let Some(disabled) = change.disabled {
            revoke |= disabled;
            account.disabled = disabled;
        }
        if let Some(password) = &change.password {
            check_password(password)?;
            account.password = self.passwords.hash(password)?;
            revoke = true;
            action = "account.password";
        }
        account.updated_ms = now_ms();
        let keep = change.keep.as_deref();
        let entry = audit_entry(
            &by.actor(),
            by.role_name(),
            action,
            Some(username),
            Some(address),
            "ok",
        );
        drop(db);
        self.write(DirectoryWrite::UpdateAccount {
            account: account.clone(),
            revoke,
            keep: keep.map(str::to_owned),
            audit: entry,
        })?;
        if revoke {
            self.grants
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|hash, g| {
                    g.username.as_deref() != Some(username) || Some(hash.as_str()) == keep
                });
            self.revoked();
        }
        Ok(account)
    }

    /// Checks `caller`'s own password (for a change of it).
    pub fn check_own_password(&self, username: &str, password: &str) -> Result<(), AuthError> {
        let account = lock(&self.db)
            .account(username)?
            .ok_or(AuthError::BadLogin)?;
        match self.passwords.check(password, &account.password) {
            Checked::Wrong => Err(AuthError::BadLogin),
            _ => Ok(()),
        }
    }

    // ---- API tokens ----

    /// Issues a named API token acting with `role`; the secret is returned once.
    pub fn create_token(
        &self,
        by: &Caller,
        address: IpAddr,
        name: &str,
        role: Role,
        agent_id: Option<String>,
    ) -> Result<(i64, String), AuthError> {
        check_name("name", name)?;
        if let Some(a) = &agent_id {
            check_name("agent_id", a)?;
        }
        let token = secrets::bearer("sbt_");
        let row = CredentialRow {
            id: 0,
            hash: secrets::digest(&token),
            kind: "api".into(),
            name: Some(name.to_owned()),
            username: Some(by.actor()),
            role: role.as_str().into(),
            agent_id: agent_id.clone(),
            created_ms: now_ms(),
            expires_ms: None,
        };
        let entry = caller_entry(by, "token.create", Some(name), address, "ok");
        let change = DirectoryWrite::InsertCredential {
            credential: row.clone(),
            audit: Some(entry),
        };
        let Written::Id(id) = self.write(change)? else {
            return Err(AuthError::Cluster("no id for the new token".into()));
        };
        let staff = Staff {
            name: name.to_owned(),
            role,
            agent_id: agent_id.map(Into::into),
            credential: Some(row.hash.clone()),
        };
        self.grants
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                row.hash,
                Grant {
                    staff,
                    username: None,
                    expires_ms: None,
                },
            );
        Ok((id, token))
    }

    /// API tokens that are live (never their secrets).
    pub fn tokens(&self) -> Result<Vec<CredentialRow>, AuthError> {
        Ok(lock(&self.db)
            .live_credentials(now_ms())?
            .into_iter()
            .filter(|c| c.kind == "api")
            .collect())
    }

    /// Revokes API token `id`.
    pub fn revoke_token(&self, by: &Caller, address: IpAddr, id: i64) -> Result<(), AuthError> {
        let hash = self
            .tokens()?
            .into_iter()
            .find(|c| c.id == id)
            .map(|c| c.hash)
            .ok_or_else(|| AuthError::NotFound(format!("token {id} not found")))?;
        let entry = caller_entry(by, "token.revoke", Some(&id.to_string()), address, "ok");
        self.write(DirectoryWrite::RevokeCredential {
            hash: None,
            id: Some(id),
            audit: Some(entry),
        })?;
        self.grants
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&hash);
        self.revoked();
        Ok(())
    }

    // ---- visitor links ----

    /// Makes a visitor link for `session`, valid `ttl`; returns the link row and its token.
    pub fn create_link(
        &self,
        by: &Caller,
        address: IpAddr,
        session: &SessionId,
        ttl: Duration,
    ) -> Result<(LinkRow, String), AuthError> {
        let link_id = format!("lnk_{}", secrets::random(9));
        let (token, expires_ms) = self.visitor_token(session, &link_id, ttl);
        let row = LinkRow {
            link_id,
            session_id: session.to_string(),
            created_by: by.actor(),
            created_ms: now_ms(),
            expires_ms,
            revoked: false,
        };
        let entry = caller_entry(by, "link.create", Some(session.as_str()), address, "ok");
        self.write(DirectoryWrite::InsertLink {
            link: row.clone(),
            audit: entry,
        })?;
        Ok((row, token))
    }

    /// Revokes link `link_id`: its token stops working at once.
    pub fn revoke_link(
        &self,
        by: &Caller,
        address: IpAddr,
        link_id: &str,
    ) -> Result<LinkRow, AuthError> {
        let entry = caller_entry(by, "link.revoke", Some(link_id), address, "ok");
        let change = DirectoryWrite::RevokeLink {
            link_id: link_id.to_owned(),
            audit: entry,
        };
        let Written::Link(Some(link)) = self.write(change)? else {
            return Err(AuthError::NotFound(format!("link {link_id} not found")));
        };
        self.revoked_links
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(link.link_id.clone());
        self.revoked();
        Ok(link)
    }

    // ---- audit ----

    /// Appends an audit record outside the engine.
    pub fn audit(&self, entry: &AuditEntry) {
        if let Err(e) = self.write(DirectoryWrite::Audit(entry.clone())) {
            tracing::error!(error = %e, "cannot write the audit log");
        }
    }

    /// Makes one directory change: in this node's file, or through the
    /// cluster's log.
    fn write(&self, change: DirectoryWrite) -> Result<Written, AuthError> {
        match self.writer.get() {
            Some(writer) => writer(change).map_err(AuthError::Cluster),
            None => Ok(lock(&self.db).write(&change)?),
        }
    }

    /// Reads the live credentials and revoked links again (a cluster's
    /// follower, after applying a change the leader made), and cuts the
    /// connections of what was revoked.
    pub fn refresh(&self) -> Result<(), AuthError> {
        let now = now_ms();
        let db = lock(&self.db);
        let grants = grants(&db, now)?;
        let revoked: HashSet<String> = db.revoked_links(now)?.into_iter().collect();
        drop(db);
        *self.grants.write().unwrap_or_else(|p| p.into_inner()) = grants;
        *self
            .revoked_links
            .write()
            .unwrap_or_else(|p| p.into_inner()) = revoked;
        self.revoked();
        Ok(())
    }

    /// Reads the audit log.
    pub fn read_audit(
        &self,
        f: &switchboard_store::AuditFilter,
    ) -> Result<Vec<AuditEntry>, AuthError> {
        Ok(lock(&self.db).read_audit(f)?)
    }
}

/// What [`Auth::create_account`] creates.
#[derive(Debug)]
pub struct NewAccount {
    /// Sign-in name, unique.
    pub username: String,
    /// Its password (hashed before it is kept).
    pub password: String,
    /// What it may do.
    pub role: Role,
    /// The agent it acts as (required for `agent`).
    pub agent_id: Option<String>,
    /// The name shown for it (the username if none).
    pub display_name: Option<String>,
}

/// What [`Auth::update_account`] changes.
#[derive(Debug, Default)]
pub struct AccountChange {
    /// A new role.
    pub role: Option<Role>,
    /// A new password.
    pub password: Option<String>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// A new display name (empty: none, the username shows).
    pub display_name: Option<String>,
    /// The credential digest to keep signed in.
    pub keep: Option<String>,
}

/// A valid argon2id hash of nothing anyone knows, verified for unknown
/// usernames so that they take as long as known ones.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2IrZ0V3w1a2k1mA4yHqGm0cOVx7C5fxeXoVgq1mXy4s";

fn ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// A display name as kept: trimmed, none if empty, at most `NAME_MAX` characters.
fn display_name_of(name: Option<String>) -> Result<Option<String>, AuthError> {
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if name
        .as_deref()
        .is_some_and(|n| switchboard_core::too_long(n, switchboard_core::NAME_MAX))
    {
        return Err(AuthError::Invalid(format!(
            "display_name is longer than {} characters",
            switchboard_core::NAME_MAX
        )));
    }
    Ok(name)
}

fn check_name(field: &str, name: &str) -> Result<(), AuthError> {
    if switchboard_core::is_name(name) {
        Ok(())
    } else {
        Err(AuthError::Invalid(format!(
            "{field} must be 1-64 characters of letters, digits, _ - . @ (not starting with .)"
        )))
    }
}

fn check_password(password: &str) -> Result<(), AuthError> {
    if (PASSWORD_MIN..=PASSWORD_MAX).contains(&password.chars().count()) {
        Ok(())
    } else {
        Err(AuthError::Invalid(format!(
            "passwords are {PASSWORD_MIN} to {PASSWORD_MAX} characters"
        )))
    }
}

/// An audit record of now.
pub fn audit_entry(
    actor: &str,
    role: &str,
    action: &str,
    target: Option<&str>,
    address: Option<IpAddr>,
    outcome: &str,
) -> AuditEntry {
    AuditEntry {
        at_ms: now_ms(),
        actor: actor.to_owned(),
        role: role.to_owned(),
        action: action.to_owned(),
        target: target.map(str::to_owned),
        address: address.map(|a| a.to_string()),
        outcome: outcome.to_owned(),
    }
}

/// An audit record of `caller` doing `action` now.
pub fn caller_entry(
    caller: &Caller,
    action: &str,
    target: Option<&str>,
    address: IpAddr,
    outcome: &str,
) -> AuditEntry {
    audit_entry(
        &caller.actor(),
        caller.role_name(),
        action,
        target,
        Some(address),
        outcome,
    )
}
