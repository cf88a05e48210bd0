//! Runs the Consul stand-in (a stand-in for the tests, not a real Consul) on 127.0.0.1,
//! for trying the deploy guide by hand: `cargo run -p vault-tests --bin consul-standin
//! [PORT]` (default 8500). Data lives in memory until the process ends.

use vault_tests::consul_standin::ConsulStandIn;

fn main() {
    let port: u16 = match std::env::args().nth(1) {
        None => 8500,
        Some(arg) => match arg.trim_start_matches("127.0.0.1:").parse() {
            Ok(p) => p,
            Err(_) => {
                eprintln!("usage: consul-standin [PORT]  (listens on 127.0.0.1 only)");
                std::process::exit(2);
            }
        },
    };
    let standin = ConsulStandIn::builder().port(port).start();
    println!(
        "Consul stand-in (not a real Consul) listening on http://{}",
        standin.addr()
    );
    loop {
        std::thread::park();
    }
}
