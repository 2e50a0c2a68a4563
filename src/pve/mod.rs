//! The Proxmox VE API client: typed calls, faithful to the real server's
//! behaviour (envelope, errors, auth, TLS, task model), per
//! `pve-api/ENDPOINTS.md` and the official schema.

mod calls;
pub mod client;
pub mod de;
pub mod endpoints;
pub mod error;
pub mod names;
pub mod progress;
pub mod propstring;
pub mod request;
pub mod requests;
pub mod tasks;
pub mod tls;
pub mod types;
pub mod upid;

pub use client::{ClientOptions, Envelope, PveClient};
pub use error::PveError;
pub use requests::GuestRef;
pub use tasks::{TaskEvent, TaskOutcome, WaitOptions};
pub use types::GuestKind;
pub use upid::Upid;
