//! The rule repositories detdex fetches: the sources file ([`config`]) and the cache of git
//! clones with its recorded state ([`sync`]). Fetching runs the system `git`.

pub mod config;
pub mod sync;

pub use config::{Config, ConfigError, SourceConfig, default_config, load};
pub use sync::{Cache, Changes, Entry, Outcome, State, SyncError, Synced, cache_dir};
