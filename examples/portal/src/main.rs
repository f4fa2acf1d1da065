//! The seed manual's portal (work in progress).

fn main() {}
