//! Who may see whose data. Least privilege: a patient sees only themself; a therapist only
//! the patients of their clinic assigned to them; a clinic admin every patient of their
//! clinic. Nobody crosses clinics — a patient of another clinic is answered as "not found", so
//! its existence is not revealed. Every staff access goes through [`staff_patient`], which
//! writes the audit entry.

use stepwise_store::{Id, Patient, Role, User};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Whether `user` (staff) may see `patient`.
pub fn check_staff_access(user: &User, patient: &Patient) -> ApiResult<()> {
    match user.role {
        Role::Patient => Err(ApiError::Forbidden("this is for the care team")),
        _ if patient.clinic_id != user.clinic_id => Err(ApiError::NotFound),
        // Another therapist's patient: as if it did not exist, so that trying ids does not
        // tell which are the clinic's patients.
        Role::Therapist if patient.therapist_id != user.id => Err(ApiError::NotFound),
        Role::Therapist | Role::ClinicAdmin => Ok(()),
    }
}

/// Loads a patient for a staff member, checks access and audits `action` (e.g.
/// `read patient.timeline`) — also when access is refused: the entry's outcome says so.
pub async fn staff_patient(
    state: &AppState,
    user: &User,
    patient_id: Id,
    action: &str,
) -> ApiResult<Patient> {
    if user.role == Role::Patient {
        return Err(ApiError::Forbidden("this is for the care team"));
    }
    let patient = state.store.patient(patient_id).await?;
    state.audit(user, action, Some(patient.id)).await?;
    check_staff_access(user, &patient)?;
    Ok(patient)
}

/// The caller's own patient record; 403 for staff.
pub async fn own_patient(state: &AppState, user: &User) -> ApiResult<Patient> {
    if user.role != Role::Patient {
        return Err(ApiError::Forbidden("this is for patients"));
    }
    Ok(state.store.patient(user.id).await?)
}

/// 403 unless the user has one of `roles`.
pub fn require_role(user: &User, roles: &[Role], why: &'static str) -> ApiResult<()> {
    if roles.contains(&user.role) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(why))
    }
}
