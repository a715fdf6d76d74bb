//! `make run`: the whole API on $HOST:$PORT (default 127.0.0.1:3000).
//!
//! With no configuration it keeps everything in memory and prints SMS codes
//! to the console. `TABLE_NAME` (with `AWS_ENDPOINT_URL_DYNAMODB` for
//! DynamoDB Local) switches to DynamoDB, creating the table if missing;
//! `SMS_PROVIDERS` (or `RONGLIAN_*` alone) switches to real SMS; the Aliyun
//! AccessKey pair switches one-tap from a stand-in carrier to `GetMobile`.

use local_api::{LocalApi, serve};
use shared::clock::SystemClock;
use shared::config::Config;
use shared::one_tap::{AnyCarrier, StandInCarrier};
use shared::random::OsRandom;
use shared::sms::AnySender;
use shared::store::{AnyStore, DynamoStore, MemoryStore, client_from_env, create_table};
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::startup::init_logging();
    let config = Config::load().await.map_err(shared::startup::fail)?;
    shared::telemetry::metrics::init(&config.metrics_namespace);
    let address = address_from_env().unwrap_or_else(|message| exit(&message));
    let listener = listen(address).await.unwrap_or_else(|message| exit(&message));

    let (store, store_name) = match &config.table_name {
        Some(table) => {
            let client = client_from_env().await;
            create_table(&client, table).await?;
            (AnyStore::Dynamo(DynamoStore::new(client, table)), format!("DynamoDB table {table}"))
        }
        None => (AnyStore::Memory(MemoryStore::new()), "memory (set TABLE_NAME for DynamoDB)".to_owned()),
    };
    let sender = AnySender::from_config(&config.providers)?;
    let sender_name = sender.describe();
    let mut api = LocalApi::new(Arc::new(store), Arc::new(sender), Arc::new(SystemClock), Arc::new(OsRandom), &config);
    // Without the Aliyun keys, a carrier in memory stands in for the page's one-tap button.
    let carrier = api.carrier.get_or_insert_with(|| AnyCarrier::StandIn(StandInCarrier::new())).describe();

    let mut bound = listener.local_addr()?;
    println!("Sign-up API on http://{bound}  (store: {store_name}; SMS: {sender_name}; one-tap: {carrier})");
    if bound.ip().is_unspecified() {
        println!(
            "From a phone on the same network: http://<this machine's address>:{}/ (the session cookie is Secure, \
             so over plain HTTP the phone signs up but is not shown as logged in)",
            bound.port()
        );
        bound.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let url = format!("http://{bound}");
    println!("Open {url}/ for the sign-up page, or try the API by hand:");
    println!("  open {url}/image_codes/3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c/ in a browser and read the captcha");
    println!(
        "  curl '{url}/sms_codes/13800138000/?image_code=ANSWER&image_code_id=3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c'"
    );
    println!(
        "  curl -i -X POST {url}/register/ -H 'content-type: application/json' -d '{{\"username\":\"alice_01\",\"password\":\"correct horse\",\"password2\":\"correct horse\",\"mobile\":\"13800138000\",\"sms_code\":\"CODE\",\"sms_code_id\":\"SMS_CODE_ID\",\"allow\":true}}'"
    );
    tokio::select! {
        served = serve(listener, Arc::new(api)) => served?,
        _ = tokio::signal::ctrl_c() => println!("stopped"),
    }
    Ok(())
}

fn address_from_env() -> Result<SocketAddr, String> {
    let host = match std::env::var("HOST") {
        Ok(host) => host
            .parse()
            .map_err(|_| format!("HOST={host} is not an IP address (127.0.0.1, or 0.0.0.0 for every interface)"))?,
        Err(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    let port = match std::env::var("PORT") {
        Ok(port) => port.parse().map_err(|_| format!("PORT={port} is not a port number"))?,
        Err(_) => 3000,
    };
    Ok(SocketAddr::new(host, port))
}

async fn listen(address: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(address).await.map_err(|error| match error.kind() {
        ErrorKind::AddrInUse => format!(
            "port {} is in use on {}: stop what holds it, or pick another port (make run PORT={})",
            address.port(),
            address.ip(),
            address.port().checked_add(1).unwrap_or(3000)
        ),
        ErrorKind::AddrNotAvailable => {
            format!(
                "{} is not an address of this machine (HOST=127.0.0.1, or 0.0.0.0 for every interface)",
                address.ip()
            )
        }
        _ => format!("cannot listen on {address}: {error}"),
    })
}

fn exit(message: &str) -> ! {
    eprintln!("local-api: {message}");
    std::process::exit(1)
}
