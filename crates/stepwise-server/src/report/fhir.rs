//! The FHIR R4 export of a report.
