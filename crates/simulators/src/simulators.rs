//! [`Simulators`]: all five simulators, started together and stopped on drop.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

use crate::auth::{
    Auth, AuthSimulator, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_EXPIRES_IN_S,
};
use crate::control::Control;
use crate::handle::Simulator;
use crate::inventory::{Inventory, InventorySimulator};
use crate::payment::{PaymentSimulator, Payments};
use crate::product::{Catalog, ProductSimulator};
use crate::server::{self, Job, Runner, Service};
use crate::tls::ServerTls;
use crate::user::{UserSimulator, Users};

/// The ports to listen on (all on 127.0.0.1); 0, the default, picks a free port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimulatorPorts {
    /// User service port.
    pub user: u16,
    /// Product service port.
    pub product: u16,
    /// Inventory service port.
    pub inventory: u16,
    /// Payment service port.
    pub payment: u16,
    /// Auth service port.
    pub auth: u16,
}

/// How to start the simulators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatorOptions {
    /// Where to listen.
    pub ports: SimulatorPorts,
    /// The OAuth2 client id the auth simulator accepts.
    pub client_id: String,
    /// The OAuth2 client secret the auth simulator accepts.
    pub client_secret: String,
    /// `expires_in` of issued tokens, in seconds.
    pub token_expires_in_s: u64,
    /// Whether User, Product, Inventory and Payment start with the bearer-token gate on.
    pub require_auth: bool,
    /// Serve HTTPS (all five), optionally requiring client certificates; plain HTTP if `None`.
    pub tls: Option<ServerTls>,
}

impl Default for SimulatorOptions {
    fn default() -> Self {
        Self {
            ports: SimulatorPorts::default(),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            token_expires_in_s: DEFAULT_EXPIRES_IN_S,
            require_auth: false,
            tls: None,
        }
    }
}

/// The five running simulators. Dropping this stops them all (hung calls included) and
/// joins their runtime thread; handles cloned from the fields stay usable but inert.
#[derive(Debug)]
pub struct Simulators {
    /// The User service.
    pub user: UserSimulator,
    /// The Product service.
    pub product: ProductSimulator,
    /// The Inventory service.
    pub inventory: InventorySimulator,
    /// The Payment service.
    pub payment: PaymentSimulator,
    /// The Auth service.
    pub auth: AuthSimulator,
    client_id: String,
    client_secret: String,
    // Last field: dropped after the handles, which do not need it.
    _runner: Runner,
}

impl Simulators {
    /// Starts all five on free loopback ports with the default options.
    pub fn spawn() -> io::Result<Self> {
        Self::spawn_with(SimulatorOptions::default())
    }

    /// Starts all five on the given ports (0 = free port), otherwise default options.
    pub fn spawn_on(ports: SimulatorPorts) -> io::Result<Self> {
        Self::spawn_with(SimulatorOptions {
            ports,
            ..SimulatorOptions::default()
        })
    }

    /// Starts all five with these options; fails if a port cannot be bound or the TLS
    /// material cannot be used.
    pub fn spawn_with(options: SimulatorOptions) -> io::Result<Self> {
        let ports = options.ports;
        let tls = options.tls.as_ref().map(ServerTls::acceptor).transpose()?;
        let auth_service = Arc::new(Auth::new(
            options.client_id.clone(),
            options.client_secret.clone(),
            options.token_expires_in_s,
        ));
        let mut jobs = Vec::with_capacity(5);
        let mut add =
            |port: u16, service: Arc<dyn Service>, gated: bool| -> io::Result<Arc<Control>> {
                let listener = server::bind(port)?;
                let gate = gated.then(|| auth_service.registry());
                let control = Arc::new(Control::new(
                    listener.local_addr()?,
                    gate,
                    options.require_auth,
                    tls.is_some(),
                ));
                jobs.push(Job {
                    listener,
                    control: Arc::clone(&control),
                    service,
                    tls: tls.clone(),
                });
                Ok(control)
            };
        let users = Arc::new(Users::seeded());
        let catalog = Arc::new(Catalog::seeded());
        let inventory = Arc::new(Inventory::seeded());
        let payments = Arc::new(Payments::new());
        let user = Simulator::new(add(ports.user, users.clone(), true)?, users);
        let product = Simulator::new(add(ports.product, catalog.clone(), true)?, catalog);
        let inventory = Simulator::new(add(ports.inventory, inventory.clone(), true)?, inventory);
        let payment = Simulator::new(add(ports.payment, payments.clone(), true)?, payments);
        let auth = Simulator::new(add(ports.auth, auth_service.clone(), false)?, auth_service);
        let runner = Runner::start(jobs)?;
        Ok(Self {
            user,
            product,
            inventory,
            payment,
            auth,
            client_id: options.client_id,
            client_secret: options.client_secret,
            _runner: runner,
        })
    }

    /// The OAuth2 client id the auth simulator accepts.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The OAuth2 client secret the auth simulator accepts (as given at start).
    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// Each simulator's name and origin: `("user", "http://127.0.0.1:…")` (`https://` with
    /// TLS), then product,
    /// inventory, payment and auth.
    pub fn urls(&self) -> [(&'static str, String); 5] {
        [
            ("user", self.user.url()),
            ("product", self.product.url()),
            ("inventory", self.inventory.url()),
            ("payment", self.payment.url()),
            ("auth", self.auth.url()),
        ]
    }

    /// The Spin variables (ARCHITECTURE §7, `spin.toml`) that point the app at these
    /// simulators: `user_service_url`, `product_service_url`, `inventory_service_url`,
    /// `payment_service_url`, `auth_token_url`, `auth_service_url`, `client_id`,
    /// `client_secret`. Set them as overrides or as `SPIN_VARIABLE_<NAME>`.
    pub fn spin_variables(&self) -> BTreeMap<String, String> {
        [
            ("user_service_url", self.user.url()),
            ("product_service_url", self.product.url()),
            ("inventory_service_url", self.inventory.url()),
            ("payment_service_url", self.payment.url()),
            ("auth_token_url", self.auth.token_url()),
            ("auth_service_url", self.auth.url()),
            ("client_id", self.client_id.clone()),
            ("client_secret", self.client_secret.clone()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }

    /// Turns the bearer-token gate of User, Product, Inventory and Payment on or off.
    pub fn set_require_auth(&self, on: bool) {
        self.user.set_require_auth(on);
        self.product.set_require_auth(on);
        self.inventory.set_require_auth(on);
        self.payment.set_require_auth(on);
    }

    /// Removes every fault from every simulator.
    pub fn clear_faults(&self) {
        self.user.clear_fault();
        self.product.clear_fault();
        self.inventory.clear_fault();
        self.payment.clear_fault();
        self.auth.clear_fault();
    }

    /// Forgets every simulator's counters and request log.
    pub fn clear_logs(&self) {
        self.user.clear_log();
        self.product.clear_log();
        self.inventory.clear_log();
        self.payment.clear_log();
        self.auth.clear_log();
    }

    /// Back to the state right after start: no faults, empty logs, seeded data, no tokens
    /// (the token gate setting is kept).
    pub fn reset(&self) {
        self.clear_faults();
        self.clear_logs();
        self.user.reset_data();
        self.product.reset_data();
        self.inventory.reset_data();
        self.payment.reset_data();
        self.auth.reset_data();
    }
}
