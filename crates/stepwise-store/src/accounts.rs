//! Clinics and the people in them: clinics and their defaults, users and their credentials,
//! invites, password resets and login sessions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use stepwise_engine::Rules;

use crate::db::{SqlStore, Tx, conflict_on_unique, unclaimable};
use crate::model::{Clinic, Id, NewInvite, NewUser, Role, SafetyContact, User, WalkingPlan};
use crate::values::{Cells, parse_name, secs, to_json};
use crate::{StoreError, StoreResult};

/// The columns of a clinic row.
macro_rules! clinic_columns {
    () => {
        "id, name, default_rules, default_interval_s, default_bouts, default_rest_s, \
         default_sessions_per_week, safety_phone, safety_text"
    };
}

/// The columns of a user row (without the password hash).
macro_rules! user_columns {
    () => {
        "id, clinic_id, role, email, display_name"
    };
}

/// A user's login record: the user and their Argon2id hash.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The user.
    pub user: User,
    /// Argon2id PHC string.
    pub password_hash: String,
}

/// A logged-in browser or API client.
#[derive(Debug, Clone)]
pub struct AuthSession {
    /// The user.
    pub user: User,
    /// Token that cookie-authenticated writes must echo in `X-CSRF-Token`.
    pub csrf_token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Clinics, users, invites, password resets and login sessions (a part of
/// [`Store`](crate::Store)).
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates a clinic with default rules and plan, and its first clinic admin.
    async fn create_clinic(
        &self,
        name: &str,
        admin: NewUser,
        now: DateTime<Utc>,
    ) -> StoreResult<(Clinic, User)>;

    /// A clinic by id.
    async fn clinic(&self, clinic_id: Id) -> StoreResult<Clinic>;

    /// Replaces the rules and plan new patients of the clinic start with.
    async fn set_clinic_defaults(
        &self,
        clinic_id: Id,
        rules: &Rules,
        plan: &WalkingPlan,
    ) -> StoreResult<()>;

    /// Sets the clinic's contact for safety advice.
    async fn set_safety_contact(&self, clinic_id: Id, contact: &SafetyContact) -> StoreResult<()>;

    /// How many users exist (0 on a new database).
    async fn count_users(&self) -> StoreResult<i64>;

    /// A user by id.
    async fn user(&self, user_id: Id) -> StoreResult<User>;

    /// A user and their password hash by e-mail (lower-case).
    async fn credentials(&self, email: &str) -> StoreResult<Credentials>;

    /// The users of a clinic with the given role, by name.
    async fn clinic_users(&self, clinic_id: Id, role: Role) -> StoreResult<Vec<User>>;

    /// Stores an invite.
    async fn create_invite(&self, invite: NewInvite, now: DateTime<Utc>) -> StoreResult<()>;

    /// Uses an invite once: creates the user (and for patients their patient row, plan and
    /// first rules version from the clinic defaults) in one transaction.
    /// `NotFound` for an unknown code, `Gone` when used or expired, `Conflict` when the
    /// e-mail is taken.
    async fn accept_invite(
        &self,
        code_hash: &str,
        user: NewUser,
        now: DateTime<Utc>,
    ) -> StoreResult<User>;

    /// Stores a one-time password reset code for `user_id` (hashed), made by `created_by`
    /// (staff) or by the person's own e-mail request (`None`). Earlier unused codes of the
    /// same person stop working.
    async fn create_password_reset(
        &self,
        code_hash: &str,
        user_id: Id,
        created_by: Option<Id>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Uses a password reset code once: sets the new password hash and ends every login
    /// session of that person, in one transaction. `NotFound` for an unknown code, `Gone`
    /// when used, voided or expired.
    async fn reset_password(
        &self,
        code_hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<User>;

    /// Stores a login session (the token is stored hashed).
    async fn create_auth_session(
        &self,
        token_hash: &str,
        user_id: Id,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The live session for a token hash; `NotFound` when unknown or expired at `now`.
    async fn auth_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<AuthSession>;

    /// Ends a login session.
    async fn delete_auth_session(&self, token_hash: &str) -> StoreResult<()>;
}

#[async_trait]
impl AccountStore for SqlStore {
    async fn create_clinic(
        &self,
        name: &str,
        admin: NewUser,
        now: DateTime<Utc>,
    ) -> StoreResult<(Clinic, User)> {
        let plan = WalkingPlan::default();
        let mut tx = self.begin().await?;
        let row = sqlx::query(concat!(
            "INSERT INTO clinics (name, default_rules, default_interval_s, \
             default_bouts, default_rest_s, default_sessions_per_week, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
            clinic_columns!()
        ))
        .bind(name)
        .bind(to_json(&Rules::default())?)
        .bind(plan.interval_s)
        .bind(plan.bouts)
        .bind(plan.rest_s)
        .bind(plan.sessions_per_week)
        .bind(secs(now))
        .fetch_one(&mut *tx)
        .await?;
        let clinic = clinic_from(&row)?;
        let user = insert_user(&mut tx, clinic.id, Role::ClinicAdmin, &admin, now).await?;
        tx.commit().await?;
        Ok((clinic, user))
    }

    async fn clinic(&self, clinic_id: Id) -> StoreResult<Clinic> {
        let row = sqlx::query(concat!(
            "SELECT ",
            clinic_columns!(),
            " FROM clinics WHERE id = $1"
        ))
        .bind(clinic_id)
        .fetch_one(&self.pool)
        .await?;
        clinic_from(&row)
    }

    async fn set_clinic_defaults(
        &self,
        clinic_id: Id,
        rules: &Rules,
        plan: &WalkingPlan,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE clinics SET default_rules = $1, default_interval_s = $2, \
             default_bouts = $3, default_rest_s = $4, \
             default_sessions_per_week = $5 WHERE id = $6",
        )
        .bind(to_json(rules)?)
        .bind(plan.interval_s)
        .bind(plan.bouts)
        .bind(plan.rest_s)
        .bind(plan.sessions_per_week)
        .bind(clinic_id)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn set_safety_contact(&self, clinic_id: Id, contact: &SafetyContact) -> StoreResult<()> {
        let done =
            sqlx::query("UPDATE clinics SET safety_phone = $1, safety_text = $2 WHERE id = $3")
                .bind(contact.phone.as_deref())
                .bind(contact.text.as_deref())
                .bind(clinic_id)
                .execute(&self.writer)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn count_users(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?;
        row.int("n")
    }

    async fn user(&self, user_id: Id) -> StoreResult<User> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = $1"
        ))
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?;
        user_from(&row)
    }

    async fn credentials(&self, email: &str) -> StoreResult<Credentials> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            ", password_hash FROM users WHERE email = $1"
        ))
        .bind(email)
        .fetch_one(&self.pool)
        .await?;
        Ok(Credentials {
            user: user_from(&row)?,
            password_hash: row.text("password_hash")?,
        })
    }

    async fn clinic_users(&self, clinic_id: Id, role: Role) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE clinic_id = $1 AND role = $2 \
             ORDER BY display_name, id"
        ))
        .bind(clinic_id)
        .bind(role.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from).collect()
    }

    async fn create_invite(&self, invite: NewInvite, now: DateTime<Utc>) -> StoreResult<()> {
        if invite.role == Role::Patient && invite.patient.is_none() {
            return Err(StoreError::other(
                "a patient invite needs a therapist and a time zone",
            ));
        }
        let patient = invite.patient.as_ref();
        sqlx::query(
            "INSERT INTO invites (code_hash, clinic_id, role, created_by, \
             created_at, expires_at, therapist_id, timezone) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(invite.code_hash.as_str())
        .bind(invite.clinic_id)
        .bind(invite.role.as_str())
        .bind(invite.created_by)
        .bind(secs(now))
        .bind(secs(invite.expires_at))
        .bind(patient.map(|p| p.therapist_id))
        .bind(patient.map(|p| p.timezone.as_str()))
        .execute(&self.writer)
        .await
        .map_err(|err| conflict_on_unique(err, "invite code already exists"))?;
        Ok(())
    }

    async fn accept_invite(
        &self,
        code_hash: &str,
        user: NewUser,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        let mut tx = self.begin().await?;
        let claimed = sqlx::query(
            "UPDATE invites SET used_at = $1 \
             WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             RETURNING clinic_id, role, therapist_id, timezone",
        )
        .bind(secs(now))
        .bind(code_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(invite) = claimed else {
            return Err(unclaimable(
                &mut tx,
                "SELECT code_hash FROM invites WHERE code_hash = $1",
                code_hash,
            )
            .await);
        };
        let clinic_id = invite.int("clinic_id")?;
        let role = Role::parse(&invite.text("role")?)
            .ok_or_else(|| StoreError::other("invite with an unknown role"))?;
        let created = insert_user(&mut tx, clinic_id, role, &user, now).await?;
        if role == Role::Patient {
            let (Some(therapist_id), Some(timezone)) = (
                invite.opt_int("therapist_id")?,
                invite.opt_text("timezone")?,
            ) else {
                return Err(StoreError::other(
                    "patient invite without therapist or time zone",
                ));
            };
            let clinic = sqlx::query(concat!(
                "SELECT ",
                clinic_columns!(),
                " FROM clinics WHERE id = $1"
            ))
            .bind(clinic_id)
            .fetch_one(&mut *tx)
            .await?;
            let plan = default_plan_from(&clinic)?;
            sqlx::query(
                "INSERT INTO patients (user_id, therapist_id, timezone, interval_s, \
                 bouts, rest_s, sessions_per_week, frozen, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(created.id)
            .bind(therapist_id)
            .bind(timezone)
            .bind(plan.interval_s)
            .bind(plan.bouts)
            .bind(plan.rest_s)
            .bind(plan.sessions_per_week)
            .bind(false)
            .bind(secs(now))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO rules_versions (patient_id, version, rules, created_at, \
                 created_by) VALUES ($1, 1, $2, $3, NULL)",
            )
            .bind(created.id)
            .bind(clinic.text("default_rules")?)
            .bind(secs(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    async fn create_password_reset(
        &self,
        code_hash: &str,
        user_id: Id,
        created_by: Option<Id>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        // A newer code voids the older ones: only the last one handed out works.
        sqlx::query(
            "UPDATE password_resets SET used_at = $1 \
             WHERE user_id = $2 AND used_at IS NULL",
        )
        .bind(secs(now))
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO password_resets (code_hash, user_id, created_by, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(code_hash)
        .bind(user_id)
        .bind(created_by)
        .bind(secs(now))
        .bind(secs(expires_at))
        .execute(&mut *tx)
        .await
        .map_err(|err| conflict_on_unique(err, "reset code already exists"))?;
        tx.commit().await?;
        Ok(())
    }

    async fn reset_password(
        &self,
        code_hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        let mut tx = self.begin().await?;
        let claimed = sqlx::query(
            "UPDATE password_resets SET used_at = $1 \
             WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             RETURNING user_id",
        )
        .bind(secs(now))
        .bind(code_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(claimed) = claimed else {
            return Err(unclaimable(
                &mut tx,
                "SELECT code_hash FROM password_resets WHERE code_hash = $1",
                code_hash,
            )
            .await);
        };
        let user_id = claimed.int("user_id")?;
        let row = sqlx::query(concat!(
            "UPDATE users SET password_hash = $1 WHERE id = $2 RETURNING ",
            user_columns!()
        ))
        .bind(password_hash)
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
        // Whoever knew the old password is signed out everywhere.
        sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let user = user_from(&row)?;
        tx.commit().await?;
        Ok(user)
    }

    async fn create_auth_session(
        &self,
        token_hash: &str,
        user_id: Id,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO auth_sessions (token_hash, user_id, csrf_token, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(secs(now))
        .bind(secs(expires_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn auth_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<AuthSession> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            ", a.csrf_token, a.expires_at FROM auth_sessions a \
             JOIN users ON users.id = a.user_id \
             WHERE a.token_hash = $1 AND a.expires_at > $2"
        ))
        .bind(token_hash)
        .bind(secs(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(AuthSession {
            user: user_from(&row)?,
            csrf_token: row.text("csrf_token")?,
            expires_at: row.instant("expires_at")?,
        })
    }

    async fn delete_auth_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM auth_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

async fn insert_user(
    tx: &mut Tx,
    clinic_id: Id,
    role: Role,
    user: &NewUser,
    now: DateTime<Utc>,
) -> StoreResult<User> {
    let row = sqlx::query(concat!(
        "INSERT INTO users (clinic_id, role, email, display_name, password_hash, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
        user_columns!()
    ))
    .bind(clinic_id)
    .bind(role.as_str())
    .bind(user.email.as_str())
    .bind(user.display_name.as_str())
    .bind(user.password_hash.as_str())
    .bind(secs(now))
    .fetch_one(&mut **tx)
    .await
    .map_err(|err| conflict_on_unique(err, "e-mail already registered"))?;
    user_from(&row)
}

/// The clinic-default plan columns of a clinic row.
fn default_plan_from(row: &AnyRow) -> StoreResult<WalkingPlan> {
    Ok(WalkingPlan {
        interval_s: row.int("default_interval_s")?,
        bouts: row.int("default_bouts")?,
        rest_s: row.int("default_rest_s")?,
        sessions_per_week: row.int("default_sessions_per_week")?,
    })
}

fn clinic_from(row: &AnyRow) -> StoreResult<Clinic> {
    Ok(Clinic {
        id: row.int("id")?,
        name: row.text("name")?,
        default_rules: row.json("default_rules")?,
        default_plan: default_plan_from(row)?,
        safety_contact: SafetyContact {
            phone: row.opt_text("safety_phone")?,
            text: row.opt_text("safety_text")?,
        },
    })
}

fn user_from(row: &AnyRow) -> StoreResult<User> {
    Ok(User {
        id: row.int("id")?,
        clinic_id: row.int("clinic_id")?,
        role: parse_name("role", &row.text("role")?, Role::parse)?,
        email: row.text("email")?,
        display_name: row.text("display_name")?,
    })
}
