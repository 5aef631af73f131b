//! Accounting exports of 10,000 invoices: time and peak memory.
fn main() {}
