mod client;
mod connect;
mod server;
