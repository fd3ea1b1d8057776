//! EVMS 2.x feature header: recognized and reported by name, never activated.
