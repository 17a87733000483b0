//! Rare events: refusal probabilities far below what plain runs can show, by
//! importance splitting (SPEC section 14).
//!
//! - `importance.rs`: how close a run is to a refusal.
//! - `excursions.rs`: what a pilot learns of the importance, and where the thresholds go.
//! - `restart.rs`: RESTART, one replication of a steady load with its retrials.

pub(crate) mod excursions;
pub(crate) mod importance;
pub(crate) mod restart;
