//! eagain: predicts when a pre-forking server starts refusing connections.
pub mod analytic;
pub mod plot;
