use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a staff member is hired to do. Each role's rights are in [`StaffRole::may`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Runs the shop: every right, including staff, settings and API keys.
    Owner,
    /// Runs the catalog, orders and reviews, sees revenue and exports.
    Manager,
    /// Serves customers at the counter: catalog, stock, orders.
    Operator,
    /// Keeps the books: orders, revenue, invoices, exports, audit trail.
    Accountant,
    /// Answers customers: orders and customers, read only.
    Support,
}

impl StaffRole {
    /// Every role, from the most to the least powerful (the order forms list them in).
    pub const ALL: [StaffRole; 5] = [
        StaffRole::Owner,
        StaffRole::Manager,
        StaffRole::Operator,
        StaffRole::Accountant,
        StaffRole::Support,
    ];

    /// `owner`, `manager`, `operator`, `accountant` or `support` (the serde name).
    pub fn as_str(&self) -> &'static str {
        match self {
            StaffRole::Owner => "owner",
            StaffRole::Manager => "manager",
            StaffRole::Operator => "operator",
            StaffRole::Accountant => "accountant",
            StaffRole::Support => "support",
        }
    }

    /// Whether this role grants `permission`. The one place that says who may do what:
    /// the admin asks here, it never compares roles itself.
    pub fn may(self, permission: Permission) -> bool {
        use Permission::*;
        use StaffRole::*;
        match permission {
            ViewOrders => true,
            ViewCatalog | AdjustStock | ChangeOrderStatus | ViewReviews => {
                matches!(self, Owner | Manager | Operator)
            }
            ViewCustomers => matches!(self, Owner | Manager | Operator | Support),
            EditCatalog | ModerateReviews | ManageEmails => matches!(self, Owner | Manager),
            ViewRevenue | ViewInvoices => matches!(self, Owner | Manager | Accountant),
            // The books leave the shop through the owner and the accountant only.
            Export => matches!(self, Owner | Accountant),
            ViewAudit => matches!(self, Owner | Accountant),
            // A credit note gives money back: those who run the shop decide it.
            RefundOrders => matches!(self, Owner | Manager),
            // Closing a period seals it for good; it also runs on its own every few minutes.
            CloseBooks => self == Owner,
            ManageStaff | ManageSettings | ManageApiKeys => self == Owner,
        }
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`StaffRole`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown staff role \"{0}\" (owner, manager, operator, accountant or support)")]
pub struct UnknownStaffRole(pub String);

impl FromStr for StaffRole {
    type Err = UnknownStaffRole;

    /// Parses the [`StaffRole::as_str`] name, exactly.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StaffRole::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownStaffRole(s.to_owned()))
    }
}

/// Something a staff member may be allowed to do in the admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See the products, categories and stock pages.
    ViewCatalog,
    /// Create, edit and publish products and categories.
    EditCatalog,
    /// Receive and adjust stock.
    AdjustStock,
    /// See orders.
    ViewOrders,
    /// Confirm, ready, complete or cancel orders.
    ChangeOrderStatus,
    /// See customers.
    ViewCustomers,
    /// See reviews.
    ViewReviews,
    /// Approve, reject and answer reviews.
    ModerateReviews,
    /// See revenue figures (on the dashboard).
    ViewRevenue,
    /// See invoices and credit notes.
    ViewInvoices,
    /// Download exports (CSV, FEC).
    Export,
    /// See the audit trail.
    ViewAudit,
    /// Refund lines of an invoiced order (a credit note).
    RefundOrders,
    /// Close the days that are over now, rather than at the next automatic run.
    CloseBooks,
    /// Create staff accounts, change their roles, disable them.
    ManageStaff,
    /// Change the shop's settings.
    ManageSettings,
    /// Create and revoke storefront API keys.
    ManageApiKeys,
    /// See the email outbox and resend emails.
    ManageEmails,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 18] = [
        Permission::ViewCatalog,
        Permission::EditCatalog,
        Permission::AdjustStock,
        Permission::ViewOrders,
        Permission::ChangeOrderStatus,
        Permission::ViewCustomers,
        Permission::ViewReviews,
        Permission::ModerateReviews,
        Permission::ViewRevenue,
        Permission::ViewInvoices,
        Permission::Export,
        Permission::ViewAudit,
        Permission::RefundOrders,
        Permission::CloseBooks,
        Permission::ManageStaff,
        Permission::ManageSettings,
        Permission::ManageApiKeys,
        Permission::ManageEmails,
    ];

    /// The serde name: `view_catalog`, `manage_api_keys`, ...
    pub fn as_str(&self) -> &'static str {
        match self {
            Permission::ViewCatalog => "view_catalog",
            Permission::EditCatalog => "edit_catalog",
            Permission::AdjustStock => "adjust_stock",
            Permission::ViewOrders => "view_orders",
            Permission::ChangeOrderStatus => "change_order_status",
            Permission::ViewCustomers => "view_customers",
            Permission::ViewReviews => "view_reviews",
            Permission::ModerateReviews => "moderate_reviews",
            Permission::ViewRevenue => "view_revenue",
            Permission::ViewInvoices => "view_invoices",
            Permission::Export => "export",
            Permission::ViewAudit => "view_audit",
            Permission::RefundOrders => "refund_orders",
            Permission::CloseBooks => "close_books",
            Permission::ManageStaff => "manage_staff",
            Permission::ManageSettings => "manage_settings",
            Permission::ManageApiKeys => "manage_api_keys",
            Permission::ManageEmails => "manage_emails",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Permission`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown permission \"{0}\"")]
pub struct UnknownPermission(pub String);

impl FromStr for Permission {
    type Err = UnknownPermission;

    /// Parses the [`Permission::as_str`] name, exactly.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|permission| permission.as_str() == s)
            .ok_or_else(|| UnknownPermission(s.to_owned()))
    }
}
