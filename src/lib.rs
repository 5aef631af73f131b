//! The `comptoir` binary's library: configuration, startup, the command side, the HTTP
//! surface, process managers and the demo shop. `main.rs` only parses arguments.
#![forbid(unsafe_code)]
// The OpenAPI description is one large `json!` literal.
#![recursion_limit = "512"]

pub mod accounting;
pub mod admin;
pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod closures;
pub mod commands;
pub mod config;
pub mod context;
pub mod demo;
pub mod email;
pub mod http;
pub mod invoices;
pub mod links;
pub mod media;
pub mod metrics;
pub mod ordering;
pub mod payments;
pub mod process;
pub mod services;
pub mod shop;
pub mod telemetry;
