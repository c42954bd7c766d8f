//! berth-metrics (being built).
