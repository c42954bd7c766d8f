//! berth-netplug (being built).
