//! The integration suite: every rule of the contract, checked over HTTP against a real server.

mod auth_and_errors;
mod catalog;
mod cli;
mod events;
mod export;
mod hostile;
mod import_csv;
mod import_json;
mod integrations;
mod isolation;
mod limits;
mod openapi;
mod operability;
mod proptest_engine;
mod query_filters;
mod query_sort_paging;
mod reference;
mod snapshots;
mod support;
mod two_nodes;
mod users_crud;
mod webhooks;
