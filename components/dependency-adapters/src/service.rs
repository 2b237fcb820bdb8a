//! The four dependencies and the names they go by: in health reports, in key-value keys,
//! in Spin variables.

/// A service the adapters call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    User,
    Product,
    Inventory,
    Payment,
}

impl Service {
    /// Every dependency, in the order `dependency-health` reports them.
    pub(crate) const ALL: [Service; 4] = [
        Service::User,
        Service::Product,
        Service::Inventory,
        Service::Payment,
    ];

    /// The dependency's name in health reports, logs and key-value keys.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Service::User => "user",
            Service::Product => "product",
            Service::Inventory => "inventory",
            Service::Payment => "payment",
        }
    }

    /// The Spin variable holding the service's base URL (`scheme://host[:port]`).
    pub(crate) fn url_variable(self) -> &'static str {
        match self {
            Service::User => "user_service_url",
            Service::Product => "product_service_url",
            Service::Inventory => "inventory_service_url",
            Service::Payment => "payment_service_url",
        }
    }

    fn index(self) -> usize {
        match self {
            Service::User => 0,
            Service::Product => 1,
            Service::Inventory => 2,
            Service::Payment => 3,
        }
    }

    /// Picks this service's entry of a per-service array.
    pub(crate) fn of<T>(self, values: &[T; 4]) -> &T {
        &values[self.index()]
    }
}
