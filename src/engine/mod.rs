//! Grouping and choice, read-only: claims per device → object graph.
