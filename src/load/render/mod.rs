//! Renderings of a [`LoadPlan`](super::LoadPlan), as `forkexec load --plan` prints them: text
//! for people ([`text`]) and, with the `json` feature, one JSON object for tools ([`json`]).

#[cfg(feature = "json")]
pub mod json;
pub mod text;
