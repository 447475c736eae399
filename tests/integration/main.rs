//! dctwin's integration tests: one binary (modules below) so the workspace links once.
mod alibaba;
mod bad_input;
mod capping;
mod cli;
mod common;
mod energy;
mod fabric_run;
mod facility;
mod gate;
mod inference;
mod inference_capping;
mod network;
mod report_html;
mod scheduling;
mod shared;
mod sweep;
mod training;
