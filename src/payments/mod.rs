//! Online payments. Payment at pickup needs nothing here (staff record it at the counter);
//! Stripe Checkout is used when `STRIPE_SECRET_KEY` and `STRIPE_WEBHOOK_SECRET` are set.

pub mod stripe;

use std::sync::Arc;

/// The payment providers this server can use.
#[derive(Debug, Clone, Default)]
pub struct Payments {
    /// Stripe Checkout, when configured.
    pub stripe: Option<Arc<stripe::StripeGateway>>,
}

impl Payments {
    /// From the environment: Stripe when both of its secrets are set, else pickup only.
    /// `public_url` is where the shop is reached (`COMPTOIR_PUBLIC_URL`), for the default
    /// return addresses.
    pub fn from_env(public_url: Option<&str>) -> Result<Payments, String> {
        let Some(settings) = stripe::StripeSettings::from_env(public_url)? else {
            return Ok(Payments::default());
        };
        Ok(Payments {
            stripe: Some(Arc::new(stripe::StripeGateway::new(settings)?)),
        })
    }
}
