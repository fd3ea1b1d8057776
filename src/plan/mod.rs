//! Pure planning: object graph + selection → ordered steps.
