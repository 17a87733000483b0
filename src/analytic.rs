//! Exact queueing results: Erlang B and C, M/M/c/K, M/D/1/K.
