//! The discrete-event core, which knows nothing of servers: a time-ordered queue of
//! events with a sequence number so that events at the same instant keep the order in
//! which they were scheduled, lazy cancellation, and the random streams.

mod queue;
mod rng;

pub use queue::{EventId, EventQueue};
pub use rng::{stream, Rng64};
