//! `make run`: the whole API on 127.0.0.1:$PORT (default 3000).
//!
//! With no configuration it keeps everything in memory and prints SMS codes
//! to the console. `TABLE_NAME` (with `AWS_ENDPOINT_URL_DYNAMODB` for
//! DynamoDB Local) switches to DynamoDB, creating the table if missing;
//! `RONGLIAN_*` switches to real SMS.

use local_api::{LocalApi, serve};
use shared::clock::SystemClock;
use shared::config::Config;
use shared::random::OsRandom;
use shared::sms::{AnySender, ConsoleSender, RonglianClient};
use shared::store::{AnyStore, DynamoStore, MemoryStore, client_from_env, create_table};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::startup::init_logging();
    let config = Config::from_env().map_err(shared::startup::fail)?;
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse().map_err(|_| "PORT must be a port number")?,
        Err(_) => 3000,
    };

    let (store, store_name) = match &config.table_name {
        Some(table) => {
            let client = client_from_env().await;
            create_table(&client, table).await?;
            (AnyStore::Dynamo(DynamoStore::new(client, table)), format!("DynamoDB table {table}"))
        }
        None => (AnyStore::Memory(MemoryStore::new()), "memory (set TABLE_NAME for DynamoDB)".to_owned()),
    };
    let (sender, sender_name) = match &config.ronglian {
        Some(ronglian) => (AnySender::Ronglian(RonglianClient::new(ronglian.clone())?), "Ronglian Cloud"),
        None => (AnySender::Console(ConsoleSender::new()), "console (codes are printed here)"),
    };
    let api = LocalApi::new(Arc::new(store), Arc::new(sender), Arc::new(SystemClock), Arc::new(OsRandom), &config);

    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("Sign-up API on {url}  (store: {store_name}; SMS: {sender_name})");
    println!("Open {url}/ for the sign-up page, or try the API by hand:");
    println!("  open {url}/image_codes/3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c/ in a browser and read the captcha");
    println!(
        "  curl '{url}/sms_codes/13800138000/?image_code=ANSWER&image_code_id=3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c'"
    );
    println!(
        "  curl -i -X POST {url}/register/ -d '{{\"username\":\"alice_01\",\"password\":\"correct horse\",\"password2\":\"correct horse\",\"mobile\":\"13800138000\",\"sms_code\":\"CODE\",\"allow\":true}}'"
    );
    tokio::select! {
        served = serve(listener, Arc::new(api)) => served?,
        _ = tokio::signal::ctrl_c() => println!("stopped"),
    }
    Ok(())
}
