//! The staff admin against the real router and a private PostgreSQL: the role matrix,
//! CSRF, the sign-in throttle, sessions, and escaping of everything staff or customers
//! typed.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use tokio::sync::watch;
use tower::ServiceExt;
use uuid::Uuid;

use aggregates::staff::{Permission, StaffRole};
use aggregates::Actor;
use common::{place, published_product, TestDb};
use comptoir::admin::AdminSettings;
use comptoir::http::{router, AppState};
use comptoir::media::Media;
use projections::Projector;

const PASSWORD: &str = "une phrase de passe solide";

struct Admin {
    db: TestDb,
    app: Router,
    /// This site's origin as browsers send it (https unless cookies are not `Secure`).
    origin: &'static str,
    /// Product images, in a folder of this test's own.
    media: Media,
    _media_dir: tempfile::TempDir,
    _stop: watch::Sender<bool>,
}

/// What one browser holds: its session cookie and the page's CSRF token.
#[derive(Clone, Default)]
struct Browser {
    cookie: Option<String>,
    csrf: String,
    ip: Option<&'static str>,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
    /// The body as sent (an export in ISO-8859-15 is not UTF-8).
    bytes: Vec<u8>,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

fn csrf_of(html: &str) -> Option<String> {
    let start = html.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
    Some(html[start..start + 64].to_owned())
}

impl Admin {
    async fn with(settings: AdminSettings) -> Admin {
        let db = TestDb::new().await;
        let origin = if settings.secure_cookies {
            "https://shop.test"
        } else {
            "http://shop.test"
        };
        let media_dir = tempfile::tempdir().unwrap();
        let media = Media::local(media_dir.path());
        let state = AppState {
            admin: settings,
            media: media.clone(),
            ..common::state(&db)
        };
        let (stop, stopped) = watch::channel(false);
        Projector::new(db.pool.clone(), comptoir::app::consumers(&db.bus())).spawn(stopped);
        Admin {
            app: router(state),
            db,
            origin,
            media,
            _media_dir: media_dir,
            _stop: stop,
        }
    }

    async fn new() -> Admin {
        Admin::with(AdminSettings::default()).await
    }

    async fn staff(&self, email: &str, role: StaffRole) -> Uuid {
        let bus = self.db.bus();
        comptoir::auth::create_account(
            &bus,
            email,
            email,
            role.as_str(),
            PASSWORD.into(),
            Actor::System,
        )
        .await
        .unwrap()
    }

    async fn send(&self, browser: &mut Browser, request: Request<Body>) -> Answer {
        let mut request = request;
        if let Some(cookie) = &browser.cookie {
            request
                .headers_mut()
                .insert(header::COOKIE, cookie.parse().unwrap());
        }
        let ip: SocketAddr = format!("{}:4000", browser.ip.unwrap_or("192.0.2.1"))
            .parse()
            .unwrap();
        request.extensions_mut().insert(ConnectInfo(ip));
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all(header::SET_COOKIE) {
            let value = value.to_str().unwrap();
            if let Some(pair) = value.split(';').next() {
                if pair.starts_with("comptoir_session=") {
                    browser.cookie = Some(pair.to_owned());
                }
            }
        }
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(token) = csrf_of(&body) {
            browser.csrf = token;
        }
        Answer {
            status,
            headers,
            body,
            bytes: bytes.to_vec(),
        }
    }

    async fn get(&self, browser: &mut Browser, path: &str) -> Answer {
        let request = Request::get(path).body(Body::empty()).unwrap();
        self.send(browser, request).await
    }

    /// A form post as a browser on this site sends it (token included unless `fields`
    /// already says otherwise).
    async fn post(&self, browser: &mut Browser, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        let csrf = browser.csrf.clone();
        if !fields.iter().any(|(k, _)| *k == "_csrf") {
            all.push(("_csrf", &csrf));
        }
        let body = serde_urlencoded::to_string(&all).unwrap();
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "shop.test")
            .header(header::ORIGIN, self.origin)
            .body(Body::from(body))
            .unwrap();
        self.send(browser, request).await
    }

    /// An image upload as a browser without JavaScript sends it: a multipart form, the
    /// token in its first field, the file in `file`.
    async fn upload_form(
        &self,
        browser: &mut Browser,
        product: Uuid,
        name: &str,
        bytes: &[u8],
    ) -> Answer {
        let boundary = "----WebKitFormBoundaryComptoirAdmin";
        let mut body = format!(
            "--{boundary}\r\ncontent-disposition: form-data; name=\"_csrf\"\r\n\r\n{}\r\n\
             --{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             content-type: application/octet-stream\r\n\r\n",
            browser.csrf
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("/admin/products/{product}/images"))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::HOST, "shop.test")
            .header(header::ORIGIN, self.origin)
            .body(Body::from(body))
            .unwrap();
        self.send(browser, request).await
    }

    /// A JSON call as the images tab's script makes it (the token in the header).
    async fn post_json(&self, browser: &mut Browser, path: &str, json: String) -> Answer {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .header(header::HOST, "shop.test")
            .header(header::ORIGIN, self.origin)
            .header("x-csrf-token", browser.csrf.clone())
            .body(Body::from(json))
            .unwrap();
        self.send(browser, request).await
    }

    async fn sign_in(
        &self,
        email: &str,
        password: &str,
        ip: Option<&'static str>,
    ) -> (Browser, Answer) {
        let mut browser = Browser {
            ip,
            ..Browser::default()
        };
        let page = self.get(&mut browser, "/login").await;
        assert_eq!(page.status, StatusCode::OK);
        let answer = self
            .post(
                &mut browser,
                "/login",
                &[("email", email), ("password", password)],
            )
            .await;
        (browser, answer)
    }

    async fn signed_in(&self, email: &str) -> Browser {
        let (browser, answer) = self.sign_in(email, PASSWORD, None).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        browser
    }
}

/// A customer's review of `product_id`, waiting for moderation.
async fn submit_review(
    bus: &comptoir::commands::CommandBus,
    product_id: Uuid,
    name: &str,
    comment: &str,
    rating: u8,
) -> Uuid {
    let review_id = Uuid::now_v7();
    bus.reviews
        .execute(
            &review_id.to_string(),
            aggregates::ReviewCommand::SubmitReview {
                review_id,
                product_id,
                order_id: None,
                customer_name: name.into(),
                customer_email: aggregates::Email::new("client@example.fr").unwrap(),
                rating,
                comment: comment.into(),
                submitted_at: chrono::Utc::now(),
            },
            &aggregates::EventMetadata::system(),
        )
        .await
        .unwrap();
    review_id
}

#[tokio::test]
async fn every_admin_route_answers_each_role_as_the_matrix_says() {
    let admin = Admin::new().await;
    let product = published_product(&admin.db.bus(), "PN-MATRIX", "10.00", 3).await;
    // The projector runs beside the test: wait for the product's view.
    let mut category = None;
    for _ in 0..100 {
        category =
            sqlx::query_scalar("select category_id from admin_products where product_id = $1")
                .bind(product)
                .fetch_optional(&admin.db.pool)
                .await
                .unwrap();
        if category.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let category: Uuid = category.expect("the product reaches its view");
    let mut browsers = Vec::new();
    let mut staff_ids = Vec::new();
    for role in StaffRole::ALL {
        let email = format!("{}@shop.test", role.as_str());
        staff_ids.push(admin.staff(&email, role).await);
        browsers.push((role, admin.signed_in(&email).await));
    }
    // An order to look at and move along.
    let order = place(&admin.db.bus(), &[(product, 1)])
        .await
        .unwrap()
        .order_number;
    // Someone to act on who is not one of the browsers above, and a review to moderate.
    let other = admin.staff("target@shop.test", StaffRole::Support).await;
    let review = submit_review(
        &admin.db.bus(),
        product,
        "Client",
        "Très bon produit, merci.",
        4,
    )
    .await;
    for _ in 0..100 {
        let seen: bool =
            sqlx::query_scalar("select exists(select 1 from reviews where review_id = $1)")
                .bind(review)
                .fetch_one(&admin.db.pool)
                .await
                .unwrap();
        if seen {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = staff_ids;
    // The seller, whose SIREN names the FEC.
    admin
        .db
        .bus()
        .settings
        .execute(
            aggregates::SHOP_SETTINGS_ID,
            aggregates::ShopSettingsCommand::ChangeLegalIdentity {
                identity: Box::new(comptoir::demo::seller().unwrap()),
            },
            &aggregates::EventMetadata::system(),
        )
        .await
        .unwrap();
    // A pickup location to edit and remove.
    let location = Uuid::now_v7();
    admin
        .db
        .bus()
        .settings
        .execute(
            aggregates::SHOP_SETTINGS_ID,
            aggregates::ShopSettingsCommand::AddPickupLocation {
                location_id: location,
                name: "Atelier".into(),
                address: "1 rue de la Moto".into(),
                opening_hours: String::new(),
            },
            &aggregates::EventMetadata::system(),
        )
        .await
        .unwrap();
    // Two images: one to move and describe, one to delete.
    let photo = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/images/tyre.jpg"
    ))
    .unwrap();
    let drawing = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/images/lever.png"
    ))
    .unwrap();
    let system = aggregates::EventMetadata::system();
    let bus = admin.db.bus();
    let image = comptoir::media::upload(&admin.media, &bus, product, photo.clone(), None, &system)
        .await
        .unwrap()
        .id;
    let doomed = comptoir::media::upload(&admin.media, &bus, product, drawing, None, &system)
        .await
        .unwrap()
        .id;
    // Every page, with what it needs (None: any signed-in staff member).
    let pages: Vec<(String, Option<Permission>)> = vec![
        ("/admin".into(), None),
        ("/admin/account".into(), None),
        ("/admin/products".into(), Some(Permission::ViewCatalog)),
        (
            "/admin/products?q=PN&status=published&stock=in&sort=price&dir=desc&page=1".into(),
            Some(Permission::ViewCatalog),
        ),
        ("/admin/products/new".into(), Some(Permission::EditCatalog)),
        (
            format!("/admin/products/{product}"),
            Some(Permission::ViewCatalog),
        ),
        (
            format!("/admin/products/{product}/stock"),
            Some(Permission::ViewCatalog),
        ),
        (
            format!("/admin/products/{product}/preview"),
            Some(Permission::ViewCatalog),
        ),
        (
            format!("/admin/products/{product}/history"),
            Some(Permission::ViewCatalog),
        ),
        (
            format!("/admin/products/{product}/images"),
            Some(Permission::ViewCatalog),
        ),
        (
            format!("/admin/products/{product}/archive"),
            Some(Permission::EditCatalog),
        ),
        ("/admin/categories".into(), Some(Permission::ViewCatalog)),
        (
            format!("/admin/categories/{category}"),
            Some(Permission::EditCatalog),
        ),
        (
            format!("/admin/categories/{category}/delete"),
            Some(Permission::EditCatalog),
        ),
        ("/admin/staff".into(), Some(Permission::ManageStaff)),
        ("/admin/reviews".into(), Some(Permission::ViewReviews)),
        ("/admin/orders".into(), Some(Permission::ViewOrders)),
        ("/admin/orders?status=pending&q=client&payment=pending&method=pickup&from=2026-01-01&to=2030-12-31&sort=total&dir=asc".into(), Some(Permission::ViewOrders)),
        (format!("/admin/orders/{order}"), Some(Permission::ViewOrders)),
        ("/admin/customers".into(), Some(Permission::ViewCustomers)),
        ("/admin/audit".into(), Some(Permission::ViewAudit)),
        ("/admin/audit?actor=system&kind=Product&id=x&from=2026-01-01&to=2030-01-01&before=999999".into(), Some(Permission::ViewAudit)),
        ("/admin/audit/events/1".into(), Some(Permission::ViewAudit)),
        ("/admin/audit/security?kind=login_failed&q=192.0.2.1".into(), Some(Permission::ViewAudit)),
        ("/admin/audit/chain".into(), Some(Permission::ViewAudit)),
        ("/admin/settings/api-keys".into(), Some(Permission::ManageApiKeys)),
        ("/admin/settings".into(), Some(Permission::ManageSettings)),
        ("/admin/outbox".into(), Some(Permission::ManageEmails)),
        ("/admin/outbox?status=failed".into(), Some(Permission::ManageEmails)),
        (format!("/admin/products/{product}/images/list"), Some(Permission::ViewCatalog)),
        (format!("/admin/products/{product}/images?part=list"), Some(Permission::ViewCatalog)),
        (format!("/admin/products/{product}/images/{image}/delete"), Some(Permission::EditCatalog)),
        (format!("/admin/settings/pickup-locations/{location}"), Some(Permission::ManageSettings)),
        (format!("/admin/settings/pickup-locations/{location}/remove"), Some(Permission::ManageSettings)),
        ("/admin/customers?q=client&email=client%40example.fr".into(), Some(Permission::ViewCustomers)),
        (format!("/admin/orders/{order}/move?action=cancel"), Some(Permission::ChangeOrderStatus)),
        (
            format!("/admin/reviews?status=pending&product={product}"),
            Some(Permission::ViewReviews),
        ),
        (
            format!("/admin/reviews/{review}"),
            Some(Permission::ViewReviews),
        ),
        (
            format!("/admin/staff/{other}/disable"),
            Some(Permission::ManageStaff),
        ),
        ("/admin/invoices".into(), Some(Permission::ViewInvoices)),
        (
            "/admin/invoices?from=2026-01-01&to=2026-12-31&page=2".into(),
            Some(Permission::ViewInvoices),
        ),
        (
            "/admin/exports/sales-csv?from=2026-01-01&to=2030-12-31&dialect=fr".into(),
            Some(Permission::Export),
        ),
        (
            "/admin/exports/sales-csv?from=2026-01-01&to=2030-12-31&dialect=rfc".into(),
            Some(Permission::Export),
        ),
        (
            "/admin/exports/fec?from=2026-01-01&to=2030-12-31&separator=pipe".into(),
            Some(Permission::Export),
        ),
        (
            "/admin/exports/fec?from=2026-01-01&to=2030-12-31&separator=tab".into(),
            Some(Permission::Export),
        ),
        (
            "/admin/exports/audit?from=2026-01-01&to=2030-12-31&format=csv".into(),
            Some(Permission::Export),
        ),
        (
            "/admin/exports/audit?from=2026-01-01&to=2030-12-31&format=jsonl".into(),
            Some(Permission::Export),
        ),
    ];
    let mut anonymous = Browser::default();
    for (path, _) in &pages {
        let answer = admin.get(&mut anonymous, path).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "anonymous {path}");
        assert!(
            answer.location().starts_with("/login?next="),
            "anonymous {path}"
        );
    }
    for (role, browser) in &mut browsers {
        for (path, permission) in &pages {
            let allowed = permission.is_none_or(|p| role.may(p));
            let answer = admin.get(browser, path).await;
            let expected = if allowed {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(answer.status, expected, "{role:?} GET {path}");
        }
    }
    // Actions, checked server-side too: refused roles get 403 and nothing changes.
    type Action<'a> = (String, Vec<(&'a str, &'a str)>, Permission);
    let refund_credit = Uuid::now_v7().to_string();
    let refund_units = format!("units-{product}");
    let actions: Vec<Action> = vec![
        (
            "/admin/categories".into(),
            vec![("name", "Matrice")],
            Permission::EditCatalog,
        ),
        (
            format!("/admin/products/{product}/stock"),
            vec![("reason", "received"), ("quantity", "1")],
            Permission::AdjustStock,
        ),
        (
            format!("/admin/products/{product}/status"),
            vec![("action", "publish")],
            Permission::EditCatalog,
        ),
        (
            "/admin/products/bulk".into(),
            vec![
                ("action", "publish"),
                ("ids", "00000000-0000-0000-0000-000000000000"),
            ],
            Permission::EditCatalog,
        ),
        (
            format!("/admin/staff/{other}/end-sessions"),
            vec![],
            Permission::ManageStaff,
        ),
        (
            format!("/admin/staff/{other}/disable"),
            vec![],
            Permission::ManageStaff,
        ),
        (
            format!("/admin/staff/{other}/enable"),
            vec![],
            Permission::ManageStaff,
        ),
        (
            "/admin/products".into(),
            vec![("reference", "PN-MATRIX-2"), ("name", "Matrice")],
            Permission::EditCatalog,
        ),
        (
            format!("/admin/products/{product}"),
            vec![("name", "Matrice"), ("price_ht", "10"), ("vat_rate", "20")],
            Permission::EditCatalog,
        ),
        (
            "/admin/products/validate".into(),
            vec![("name", "Matrice")],
            Permission::EditCatalog,
        ),
        (
            format!("/admin/categories/{category}"),
            vec![("name", "Matrice 2")],
            Permission::EditCatalog,
        ),
        (
            "/admin/categories/validate".into(),
            vec![("name", "Matrice")],
            Permission::EditCatalog,
        ),
        (
            format!("/admin/reviews/{review}/approve"),
            vec![],
            Permission::ModerateReviews,
        ),
        (
            format!("/admin/reviews/{review}/respond"),
            vec![("response", "Merci !")],
            Permission::ModerateReviews,
        ),
        (
            format!("/admin/reviews/{review}/reject"),
            vec![("feedback", "Hors sujet")],
            Permission::ModerateReviews,
        ),
        // Refused by the domain (the category holds a product), but only after the role.
        (
            format!("/admin/categories/{category}/delete"),
            vec![],
            Permission::EditCatalog,
        ),
        (
            "/admin/settings/identity".into(),
            vec![("company_name", "Matrice"), ("siren", "1")],
            Permission::ManageSettings,
        ),
        (
            "/admin/settings/pickup-locations".into(),
            vec![("pickup_name", "Dépôt"), ("pickup_address", "2 rue")],
            Permission::ManageSettings,
        ),
        (
            format!("/admin/settings/pickup-locations/{location}"),
            vec![("pickup_name", "Atelier 2"), ("pickup_address", "2 rue")],
            Permission::ManageSettings,
        ),
        (
            "/admin/settings/vat".into(),
            vec![("offered", "20"), ("default_rate", "20")],
            Permission::ManageSettings,
        ),
        (
            "/admin/settings/currency".into(),
            vec![("currency", "EUR")],
            Permission::ManageSettings,
        ),
        (
            "/admin/settings/origins".into(),
            vec![("origins", "https://vitrine.test")],
            Permission::ManageSettings,
        ),
        (
            format!("/admin/settings/pickup-locations/{location}/remove"),
            vec![],
            Permission::ManageSettings,
        ),
        // The images tab's plain forms (a browser without JavaScript).
        (
            format!("/admin/products/{product}/images/{image}/move"),
            vec![("direction", "down")],
            Permission::EditCatalog,
        ),
        (
            format!("/admin/products/{product}/images/{image}/alt"),
            vec![("alt", "Pneu, vue de face")],
            Permission::EditCatalog,
        ),
        // Deleted by the first allowed role; "already gone" for the next ones.
        (
            format!("/admin/products/{product}/images/{doomed}/delete"),
            vec![],
            Permission::EditCatalog,
        ),
        (
            "/admin/invoices/close".into(),
            vec![("back", "/admin/invoices")],
            Permission::CloseBooks,
        ),
        // Refused by the domain (the order is not paid), but only after the role.
        (
            format!("/admin/orders/{order}/refund"),
            vec![
                ("credit_id", refund_credit.as_str()),
                (refund_units.as_str(), "1"),
                ("reason", "retour"),
            ],
            Permission::RefundOrders,
        ),
    ];
    for (role, browser) in &mut browsers {
        for (path, fields, permission) in &actions {
            let answer = admin.post(browser, path, fields).await;
            if role.may(*permission) {
                assert_ne!(answer.status, StatusCode::FORBIDDEN, "{role:?} POST {path}");
                // Done, or refused by the domain (the category name is taken by then), not by role.
                let handled = answer.status.is_redirection()
                    || answer.status.is_success()
                    || answer.status == StatusCode::UNPROCESSABLE_ENTITY;
                assert!(handled, "{role:?} POST {path}: {}", answer.status);
            } else {
                assert_eq!(answer.status, StatusCode::FORBIDDEN, "{role:?} POST {path}");
            }
        }
    }
    // The upload (a multipart form) and the order (JSON from the tab's script): refused
    // roles get 403 and add nothing.
    let mut uploads = 0;
    for (role, browser) in &mut browsers {
        let allowed = role.may(Permission::EditCatalog);
        let answer = admin
            .upload_form(browser, product, "tyre.jpg", &photo)
            .await;
        if allowed {
            assert_eq!(
                answer.status,
                StatusCode::SEE_OTHER,
                "{role:?} upload: {}",
                answer.body
            );
            assert_eq!(
                answer.location(),
                format!("/admin/products/{product}/images")
            );
            uploads += 1;
        } else {
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{role:?} upload");
        }
        let current: Vec<String> = comptoir::media::list(&admin.media, &bus, product)
            .await
            .unwrap()
            .iter()
            .rev()
            .map(|i| format!("\"{}\"", i.id))
            .collect();
        let answer = admin
            .post_json(
                browser,
                &format!("/admin/products/{product}/images/order"),
                format!("{{\"imageIds\":[{}]}}", current.join(",")),
            )
            .await;
        if allowed {
            assert_eq!(
                answer.status,
                StatusCode::OK,
                "{role:?} order: {}",
                answer.body
            );
            assert!(answer.body.contains("\"images\""), "{}", answer.body);
        } else {
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{role:?} order");
            assert!(answer.body.contains("\"forbidden\""), "{}", answer.body);
        }
    }
    assert!(uploads > 0, "some role may change the catalog");
    let images = comptoir::media::list(&admin.media, &bus, product)
        .await
        .unwrap();
    assert_eq!(
        images.len(),
        1 + uploads,
        "the two first images less the deleted one, and one per allowed upload"
    );
    assert!(images.iter().all(|i| i.id != doomed));
    assert_eq!(
        images.iter().find(|i| i.id == image).unwrap().alt,
        "Pneu, vue de face"
    );
    // Last, for everyone: "log out everywhere" is every staff member's right.
    for (role, browser) in &mut browsers {
        let answer = admin.post(browser, "/admin/sessions/end-all", &[]).await;
        assert_eq!(answer.location(), "/login?reason=ended", "{role:?}");
        assert_eq!(
            admin.get(browser, "/admin").await.status,
            StatusCode::SEE_OTHER
        );
    }
    let categories: i64 =
        sqlx::query_scalar("select count(*) from category_list where name = 'Matrice'")
            .fetch_one(&admin.db.pool)
            .await
            .unwrap();
    assert_eq!(
        categories, 1,
        "created once, by an allowed role (the name is unique)"
    );
}

#[tokio::test]
async fn a_forged_post_without_the_token_is_refused() {
    let admin = Admin::new().await;
    admin.staff("owner@shop.test", StaffRole::Owner).await;
    let mut browser = admin.signed_in("owner@shop.test").await;
    admin.get(&mut browser, "/admin/categories").await;
    // No token at all, a wrong one, and the right one from another site.
    let forged = admin
        .post(
            &mut browser,
            "/admin/categories",
            &[("name", "Forgée"), ("_csrf", "")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let wrong = admin
        .post(
            &mut browser,
            "/admin/categories",
            &[("name", "Forgée"), ("_csrf", &"0".repeat(64))],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let body = serde_urlencoded::to_string([("name", "Forgée"), ("_csrf", browser.csrf.as_str())])
        .unwrap();
    let cross_site = Request::post("/admin/categories")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "shop.test")
        .header(header::ORIGIN, "https://evil.test")
        .body(Body::from(body))
        .unwrap();
    let cross_site = admin.send(&mut browser, cross_site).await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    let htmx_without_header = Request::post("/admin/categories")
        .header("hx-request", "true")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        admin.send(&mut browser, htmx_without_header).await.status,
        StatusCode::FORBIDDEN
    );
    let count: i64 =
        sqlx::query_scalar("select count(*) from unique_keys where scope = 'category_name'")
            .fetch_one(&admin.db.pool)
            .await
            .unwrap();
    assert_eq!(count, 0, "nothing was created");
    let refused: i64 =
        sqlx::query_scalar("select count(*) from security_events where kind = 'csrf_refused'")
            .fetch_one(&admin.db.pool)
            .await
            .unwrap();
    assert_eq!(refused, 4);
    // The genuine form goes through.
    let genuine = admin
        .post(&mut browser, "/admin/categories", &[("name", "Vraie")])
        .await;
    assert_eq!(genuine.status, StatusCode::SEE_OTHER, "{}", genuine.body);
    // The sign-in form is protected as well (login CSRF): from another site it is refused;
    // without a session (a form left open past the idle timeout) nothing happens and the
    // staff member is sent back to sign in.
    let mut stranger = Browser::default();
    let body = serde_urlencoded::to_string([("email", "owner@shop.test"), ("password", PASSWORD)])
        .unwrap();
    let cross_site_login = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "shop.test")
        .header(header::ORIGIN, "https://evil.test")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(
        admin.send(&mut stranger, cross_site_login).await.status,
        StatusCode::FORBIDDEN
    );
    let answer = admin
        .post(
            &mut stranger,
            "/login",
            &[("email", "owner@shop.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/login?next=%2Fadmin&reason=expired");
    assert!(stranger.cookie.is_none(), "no session was opened");
}

#[tokio::test]
async fn five_failed_sign_ins_lock_the_account_and_then_the_address() {
    let admin = Admin::new().await;
    admin.staff("victim@shop.test", StaffRole::Manager).await;
    admin.staff("other@shop.test", StaffRole::Manager).await;
    for attempt in 0..5 {
        let (_, answer) = admin
            .sign_in("victim@shop.test", "wrong password!!", Some("198.51.100.7"))
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        assert!(answer.body.contains("incorrect"), "{}", answer.body);
    }
    // The right password, even from elsewhere, is refused for a while, and says so.
    let (_, locked) = admin
        .sign_in("victim@shop.test", PASSWORD, Some("203.0.113.9"))
        .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        locked.body.contains("Trop de tentatives"),
        "{}",
        locked.body
    );
    assert!(locked.body.contains("15 min"), "{}", locked.body);
    // The address that failed five times cannot sign into another account either.
    let (_, by_address) = admin
        .sign_in("other@shop.test", PASSWORD, Some("198.51.100.7"))
        .await;
    assert_eq!(by_address.status, StatusCode::TOO_MANY_REQUESTS);
    // Another account from another address is not affected.
    let (_, fine) = admin
        .sign_in("other@shop.test", PASSWORD, Some("203.0.113.9"))
        .await;
    assert_eq!(fine.status, StatusCode::SEE_OTHER);
    // Everything is on record with the address and user agent.
    let rows: Vec<(String, Option<String>, Option<String>)> =
        sqlx::query_as("select kind, email, client_ip from security_events order by id")
            .fetch_all(&admin.db.pool)
            .await
            .unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "login_failed",
            "login_failed",
            "login_failed",
            "login_failed",
            "login_failed",
            "login_throttled",
            "login_throttled",
            "login_succeeded"
        ]
    );
    assert_eq!(rows[0].1.as_deref(), Some("victim@shop.test"));
    assert_eq!(rows[0].2.as_deref(), Some("198.51.100.7"));
    // Unknown addresses fail the same way (no account enumeration).
    let (_, unknown) = admin
        .sign_in("nobody@shop.test", PASSWORD, Some("192.0.2.50"))
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown
        .body
        .contains("Adresse e-mail ou mot de passe incorrect."));
}

#[tokio::test]
async fn sessions_rotate_at_sign_in_carry_safe_cookies_and_end_when_told() {
    let admin = Admin::new().await;
    let owner = admin.staff("owner@shop.test", StaffRole::Owner).await;
    let clerk = admin.staff("clerk@shop.test", StaffRole::Operator).await;
    let _ = owner;

    // The session id changes at sign-in; the cookie is HttpOnly, SameSite=Lax, Secure.
    let mut browser = Browser::default();
    admin.get(&mut browser, "/login").await;
    let before = browser.cookie.clone().unwrap();
    let answer = admin
        .post(
            &mut browser,
            "/login",
            &[("email", "owner@shop.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/admin");
    let set_cookie = answer
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(
        browser.cookie.clone().unwrap(),
        before,
        "session id rotated"
    );
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert_eq!(
        admin.get(&mut browser, "/admin").await.status,
        StatusCode::OK
    );

    // "Log out everywhere" ends this and every other session of the account.
    let mut second = admin.signed_in("owner@shop.test").await;
    let answer = admin
        .post(&mut browser, "/admin/sessions/end-all", &[])
        .await;
    assert_eq!(answer.location(), "/login?reason=ended");
    for b in [&mut browser, &mut second] {
        let answer = admin.get(b, "/admin").await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER);
        assert!(
            answer.location().contains("reason=ended") || answer.location().starts_with("/login")
        );
    }

    // The owner ends a clerk's sessions, then disables the account: at once, each time.
    let mut owner_browser = admin.signed_in("owner@shop.test").await;
    let mut clerk_browser = admin.signed_in("clerk@shop.test").await;
    assert_eq!(
        admin.get(&mut clerk_browser, "/admin").await.status,
        StatusCode::OK
    );
    admin.get(&mut owner_browser, "/admin/staff").await;
    let ended = admin
        .post(
            &mut owner_browser,
            &format!("/admin/staff/{clerk}/end-sessions"),
            &[],
        )
        .await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    assert!(admin
        .get(&mut clerk_browser, "/admin")
        .await
        .location()
        .contains("reason=ended"));
    let mut clerk_browser = admin.signed_in("clerk@shop.test").await;
    let disabled = admin
        .post(
            &mut owner_browser,
            &format!("/admin/staff/{clerk}/disable"),
            &[],
        )
        .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER);
    assert!(admin
        .get(&mut clerk_browser, "/admin")
        .await
        .location()
        .contains("reason=ended"));
    let (_, refused) = admin
        .sign_in("clerk@shop.test", PASSWORD, Some("192.0.2.77"))
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.body.contains("incorrect"), "{}", refused.body);

    // Logging out ends the session.
    let answer = admin.post(&mut owner_browser, "/logout", &[]).await;
    assert_eq!(answer.location(), "/login?reason=bye");
    assert_eq!(
        admin.get(&mut owner_browser, "/admin").await.status,
        StatusCode::SEE_OTHER
    );

    // The changes are in the audit trail under the owner's name.
    let audited: Vec<String> = sqlx::query_scalar(
        "select summary from audit_trail where aggregate_type = 'StaffAccount' order by position",
    )
    .fetch_all(&admin.db.pool)
    .await
    .unwrap();
    assert!(
        audited.iter().any(|s| s.starts_with("disabled")),
        "{audited:?}"
    );
    assert!(
        audited.iter().any(|s| s.starts_with("ended every session")),
        "{audited:?}"
    );
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout_and_the_absolute_lifetime() {
    let admin = Admin::with(AdminSettings {
        idle_timeout: chrono::Duration::seconds(2),
        absolute_lifetime: chrono::Duration::seconds(4),
        secure_cookies: false,
        ..AdminSettings::default()
    })
    .await;
    admin.staff("owner@shop.test", StaffRole::Owner).await;
    let (mut idle, answer) = admin.sign_in("owner@shop.test", PASSWORD, None).await;
    let set_cookie = answer
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        !set_cookie.contains("Secure"),
        "plain HTTP on localhost: {set_cookie}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        admin.get(&mut idle, "/admin").await.status,
        StatusCode::SEE_OTHER,
        "idle"
    );

    let mut busy = admin.signed_in("owner@shop.test").await;
    for _ in 0..5 {
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        if admin.get(&mut busy, "/admin").await.status != StatusCode::OK {
            break;
        }
    }
    let answer = admin.get(&mut busy, "/admin").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert!(
        answer.location().contains("reason=expired") || answer.location().starts_with("/login")
    );
}

#[tokio::test]
async fn everything_typed_by_staff_or_customers_is_shown_inert() {
    const XSS: &str = "<script>alert(1)</script>";
    let admin = Admin::new().await;
    admin.staff("owner@shop.test", StaffRole::Owner).await;
    let bus = admin.db.bus();
    comptoir::auth::create_account(
        &bus,
        "evil@shop.test",
        XSS,
        "support",
        PASSWORD.into(),
        Actor::System,
    )
    .await
    .unwrap();
    let mut browser = admin.signed_in("owner@shop.test").await;
    admin.get(&mut browser, "/admin/categories").await;
    let answer = admin
        .post(
            &mut browser,
            "/admin/categories",
            &[("name", XSS), ("description", XSS)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let category: Uuid = sqlx::query_scalar("select category_id from category_list")
        .fetch_one(&admin.db.pool)
        .await
        .unwrap();
    admin.get(&mut browser, "/admin/products/new").await;
    let answer = admin
        .post(
            &mut browser,
            "/admin/products",
            &[
                ("reference", "XSS-1"),
                ("name", XSS),
                ("category_id", &category.to_string()),
                ("price_ht", "10"),
                ("vat_rate", "20"),
                (
                    "description",
                    &format!("{XSS} [x](javascript:alert(1)) <img src=x onerror=alert(1)>"),
                ),
                ("meta_description", XSS),
                ("publish", "yes"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let product = answer
        .location()
        .trim_start_matches("/admin/products/")
        .to_owned();
    admin
        .get(&mut browser, &format!("/admin/products/{product}/stock"))
        .await;
    let answer = admin
        .post(
            &mut browser,
            &format!("/admin/products/{product}/stock"),
            &[("reason", "received"), ("quantity", "3"), ("note", XSS)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    // A customer's review waiting for moderation.
    let product_id: Uuid = product.parse().unwrap();
    let review = submit_review(&bus, product_id, XSS, &format!("{XSS} {XSS}"), 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let pages = [
        "/admin".to_owned(),
        "/admin/products".to_owned(),
        format!("/admin/products/{product}"),
        format!("/admin/products/{product}/stock"),
        format!("/admin/products/{product}/preview"),
        format!("/admin/products/{product}/history"),
        format!("/admin/products/{product}/images"),
        format!("/admin/products/{product}/archive"),
        "/admin/categories".to_owned(),
        format!("/admin/categories/{category}"),
        format!("/admin/categories/{category}/delete"),
        "/admin/staff".to_owned(),
        "/admin/reviews".to_owned(),
        format!("/admin/reviews/{review}"),
    ];
    for path in &pages {
        let answer = admin.get(&mut browser, path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert!(
            !answer.body.contains("<script>alert"),
            "{path} runs stored script"
        );
        assert!(
            !answer.body.contains("<img src=x"),
            "{path} has a stored tag"
        );
        assert!(
            !answer.body.contains("href=\"javascript:"),
            "{path} has a script link"
        );
        assert!(
            answer
                .body
                .contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path} lost the text"
        );
    }
    // Every page also forbids inline script, should anything slip through.
    let answer = admin.get(&mut browser, "/admin").await;
    let csp = answer
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
}

#[tokio::test]
async fn forms_are_checked_live_as_the_staff_member_types() {
    let admin = Admin::new().await;
    admin.staff("owner@shop.test", StaffRole::Owner).await;
    let mut browser = admin.signed_in("owner@shop.test").await;
    admin.get(&mut browser, "/admin/categories").await;
    let created = admin
        .post(
            &mut browser,
            "/admin/categories",
            &[("name", "Pneus route")],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let category: Uuid = sqlx::query_scalar("select category_id from category_list")
        .fetch_one(&admin.db.pool)
        .await
        .unwrap();

    // A category whose name is taken (whatever the case), and the slug a name gives.
    let taken = admin
        .post(
            &mut browser,
            "/admin/categories/validate",
            &[("name", "PNEUS ROUTE "), ("slug", "")],
        )
        .await;
    assert_eq!(taken.status, StatusCode::OK);
    assert!(
        taken.body.contains("Ce nom est déjà utilisé."),
        "{}",
        taken.body
    );
    let fresh = admin
        .post(
            &mut browser,
            "/admin/categories/validate",
            &[("name", "Éclairage & Feux"), ("slug", "")],
        )
        .await;
    assert!(!fresh.body.contains("déjà utilisé"), "{}", fresh.body);
    assert!(
        fresh.body.contains("placeholder=\"eclairage-feux\""),
        "{}",
        fresh.body
    );
    // Editing the category itself does not find its own name taken.
    let own = admin
        .post(
            &mut browser,
            &format!("/admin/categories/validate?id={category}"),
            &[("name", "Pneus route")],
        )
        .await;
    assert!(!own.body.contains("déjà utilisé"), "{}", own.body);

    // A product: the TTC price in French, errors next to the fields, the preview.
    let product = admin
        .post(
            &mut browser,
            "/admin/products/validate",
            &[
                ("reference", "PN 1"),
                ("name", "Pneu"),
                ("category_id", &category.to_string()),
                ("price_ht", "89,90"),
                ("vat_rate", "20"),
                ("description", "**solide**"),
                ("meta_description", &"x".repeat(161)),
            ],
        )
        .await;
    assert_eq!(product.status, StatusCode::OK);
    let body = &product.body;
    assert!(body.contains("107,88"), "{body}");
    assert!(body.contains("<strong>solide</strong>"), "{body}");
    assert!(body.contains("Référence invalide"), "{body}");
    assert!(
        body.contains("Trop long : 160 caractères au plus."),
        "{body}"
    );
    assert!(body.contains("161 / 160"), "{body}");
    assert!(body.contains("placeholder=\"pneu\""), "{body}");
    let custom_vat = admin
        .post(
            &mut browser,
            "/admin/products/validate",
            &[
                ("price_ht", "10"),
                ("vat_rate", "custom"),
                ("vat_custom", "8,5"),
            ],
        )
        .await;
    assert!(custom_vat.body.contains("10,85"), "{}", custom_vat.body);
    let bad_vat = admin
        .post(
            &mut browser,
            "/admin/products/validate",
            &[
                ("price_ht", "10"),
                ("vat_rate", "custom"),
                ("vat_custom", "120"),
            ],
        )
        .await;
    assert!(
        bad_vat.body.contains("Taux de TVA invalide"),
        "{}",
        bad_vat.body
    );

    // Submitting the invalid product keeps what was typed and says why, field by field.
    admin.get(&mut browser, "/admin/products/new").await;
    let refused = admin
        .post(
            &mut browser,
            "/admin/products",
            &[
                ("reference", "PN-1"),
                ("name", ""),
                ("category_id", &category.to_string()),
                ("price_ht", "-3"),
                ("vat_rate", "20"),
                ("description", "Gardé tel quel"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("Ce champ est obligatoire."),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("Prix invalide"), "{}", refused.body);
    assert!(refused.body.contains("Gardé tel quel"), "{}", refused.body);
    let products: i64 =
        sqlx::query_scalar("select count(*) from events where aggregate_type = 'Product'")
            .fetch_one(&admin.db.pool)
            .await
            .unwrap();
    assert_eq!(products, 0, "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_are_counted_like_sequential_ones() {
    let admin = Admin::new().await;
    admin.staff("victim@shop.test", StaffRole::Owner).await;
    // Ten browsers, each from its own address, ready to guess at the same moment.
    let mut requests = Vec::new();
    for i in 0..10 {
        let ip: &'static str = Box::leak(format!("198.51.100.{}", 10 + i).into_boxed_str());
        let mut browser = Browser {
            ip: Some(ip),
            ..Browser::default()
        };
        admin.get(&mut browser, "/login").await;
        let body = serde_urlencoded::to_string([
            ("email", "victim@shop.test"),
            ("password", "not the password"),
            ("_csrf", browser.csrf.as_str()),
        ])
        .unwrap();
        let mut request = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "shop.test")
            .header(header::ORIGIN, admin.origin)
            .header(header::COOKIE, browser.cookie.clone().unwrap())
            .body(Body::from(body))
            .unwrap();
        let peer: SocketAddr = format!("{ip}:4000").parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        requests.push(request);
    }
    let mut attempts = tokio::task::JoinSet::new();
    for request in requests {
        let app = admin.app.clone();
        attempts.spawn(async move { app.oneshot(request).await.unwrap().status() });
    }
    let mut statuses = Vec::new();
    while let Some(status) = attempts.join_next().await {
        statuses.push(status.unwrap());
    }
    let failed = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((failed, throttled), (5, 5), "{statuses:?}");
    let recorded: i64 =
        sqlx::query_scalar("select count(*) from security_events where kind = 'login_failed'")
            .fetch_one(&admin.db.pool)
            .await
            .unwrap();
    assert_eq!(recorded, 5);
}

#[tokio::test]
async fn the_catalog_is_managed_with_plain_forms() {
    let admin = Admin::new().await;
    admin.staff("owner@shop.test", StaffRole::Owner).await;
    let mut browser = admin.signed_in("owner@shop.test").await;
    // After each action, the page it sends to tells what happened (a toast in the page).
    let follow = |answer: &Answer| answer.location().to_owned();

    admin.get(&mut browser, "/admin/categories").await;
    let answer = admin
        .post(&mut browser, "/admin/categories", &[("name", "Freinage")])
        .await;
    let page = admin.get(&mut browser, &follow(&answer)).await;
    assert!(page.body.contains("Catégorie créée."), "{}", page.body);
    let category: Uuid = sqlx::query_scalar("select category_id from category_list")
        .fetch_one(&admin.db.pool)
        .await
        .unwrap();
    let mut products = Vec::new();
    for (reference, name) in [("FR-1", "Plaquettes avant"), ("FR-2", "Disque arrière")] {
        let answer = admin
            .post(
                &mut browser,
                "/admin/products",
                &[
                    ("reference", reference),
                    ("name", name),
                    ("category_id", &category.to_string()),
                    ("price_ht", "10"),
                    ("vat_rate", "20"),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        products.push(
            follow(&answer)
                .trim_start_matches("/admin/products/")
                .to_owned(),
        );
    }
    let drafts = admin
        .get(
            &mut browser,
            "/admin/products?status=draft&sort=name&dir=asc",
        )
        .await;
    assert!(drafts.body.contains("2 produit(s)"), "{}", drafts.body);
    let first = drafts.body.find("Disque arrière").unwrap();
    assert!(
        first < drafts.body.find("Plaquettes avant").unwrap(),
        "sorted by name"
    );

    // Bulk publishing both.
    let answer = admin
        .post(
            &mut browser,
            "/admin/products/bulk",
            &[
                ("action", "publish"),
                ("ids", &products[0]),
                ("ids", &products[1]),
                ("back", "/admin/products?status=published"),
            ],
        )
        .await;
    assert_eq!(answer.location(), "/admin/products?status=published");
    let page = admin.get(&mut browser, &follow(&answer)).await;
    assert!(
        page.body.contains("2 produit(s) mis à jour, 0 refusé(s)."),
        "{}",
        page.body
    );
    assert!(page.body.contains("2 produit(s)"));

    // A price change shows in the history as old → new, with who did it.
    let product = &products[0];
    let answer = admin
        .post(
            &mut browser,
            &format!("/admin/products/{product}"),
            &[
                ("name", "Plaquettes avant"),
                ("category_id", &category.to_string()),
                ("price_ht", "12,50"),
                ("vat_rate", "20"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let page = admin.get(&mut browser, &follow(&answer)).await;
    assert!(page.body.contains("Modifications enregistrées."));
    assert!(page.body.contains("15,00 € TTC"), "{}", page.body);
    let history = admin
        .get(&mut browser, &format!("/admin/products/{product}/history"))
        .await;
    assert!(
        history.body.contains("Prix HT : 10,00 € → 12,50 €"),
        "{}",
        history.body
    );
    assert!(history.body.contains("Publié dans la boutique"));
    assert!(history.body.contains("owner@shop.test"), "who did it");

    // Stock: received, counted, and a removal beyond what is there refused with its reason.
    let stock = format!("/admin/products/{product}/stock");
    for (reason, quantity) in [("received", "5"), ("inventory", "3")] {
        let answer = admin
            .post(
                &mut browser,
                &stock,
                &[
                    ("reason", reason),
                    ("quantity", quantity),
                    ("note", "BL 42"),
                ],
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::SEE_OTHER,
            "{reason}: {}",
            answer.body
        );
    }
    let page = admin.get(&mut browser, &stock).await;
    assert!(
        page.body.contains("id=\"stock-on-hand\">3<"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("Inventaire (nouveau total en rayon) : BL 42"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(">-2<"),
        "the count's difference: {}",
        page.body
    );
    let refused = admin
        .post(
            &mut browser,
            &stock,
            &[("reason", "damaged"), ("quantity", "10")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("Impossible de retirer 10"),
        "{}",
        refused.body
    );
    let out = admin.get(&mut browser, "/admin/products?stock=out").await;
    assert!(out.body.contains("Disque arrière") && !out.body.contains("Plaquettes avant"));

    // A category that still holds products is not deleted, and says how many.
    let confirm = admin
        .get(
            &mut browser,
            &format!("/admin/categories/{category}/delete"),
        )
        .await;
    assert!(confirm
        .body
        .contains("Supprimer la catégorie « Freinage » ?"));
    let answer = admin
        .post(
            &mut browser,
            &format!("/admin/categories/{category}/delete"),
            &[],
        )
        .await;
    let page = admin.get(&mut browser, &follow(&answer)).await;
    assert!(
        page.body
            .contains("Impossible de supprimer « Freinage » : elle contient encore 2 produit(s)."),
        "{}",
        page.body
    );

    // Archiving, after its confirmation page.
    let confirm = admin
        .get(&mut browser, &format!("/admin/products/{product}/archive"))
        .await;
    assert!(confirm.body.contains("disparaîtra de la boutique"));
    let answer = admin
        .post(
            &mut browser,
            &format!("/admin/products/{product}/status"),
            &[("action", "archive")],
        )
        .await;
    let page = admin.get(&mut browser, &follow(&answer)).await;
    assert!(page.body.contains("Produit archivé."));
    assert!(page.body.contains("badge-archived"));
}

#[tokio::test]
async fn reviews_are_moderated_from_the_queue() {
    let admin = Admin::new().await;
    admin.staff("manager@shop.test", StaffRole::Manager).await;
    let bus = admin.db.bus();
    let product = published_product(&bus, "PN-AVIS", "20.00", 5).await;
    let good = submit_review(&bus, product, "Léa", "Parfait, monté en dix minutes.", 5).await;
    let bad = submit_review(&bus, product, "Spam", "Achetez ailleurs www.example.com", 1).await;
    let third = submit_review(&bus, product, "Marc", "Correct pour le prix demandé.", 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut browser = admin.signed_in("manager@shop.test").await;
    let queue = admin.get(&mut browser, "/admin/reviews").await;
    assert_eq!(queue.status, StatusCode::OK);
    // Pending first, the oldest first.
    let at = |name: &str| queue.body.find(name).unwrap_or(usize::MAX);
    assert!(
        at("Léa") < at("Spam") && at("Spam") < at("Marc"),
        "{}",
        queue.body
    );

    // Approve one; reject one (feedback required); answer one.
    let answer = admin
        .post(&mut browser, &format!("/admin/reviews/{good}/approve"), &[])
        .await;
    let page = admin.get(&mut browser, answer.location()).await;
    assert!(page.body.contains("Avis publié."), "{}", page.body);
    let refused = admin
        .post(
            &mut browser,
            &format!("/admin/reviews/{bad}/reject"),
            &[("feedback", "  ")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Indiquez le motif du refus."));
    let answer = admin
        .post(
            &mut browser,
            &format!("/admin/reviews/{bad}/reject"),
            &[("feedback", "Publicité")],
        )
        .await;
    let page = admin.get(&mut browser, answer.location()).await;
    assert!(page.body.contains("Avis refusé.") && page.body.contains("Publicité"));
    let answer = admin
        .post(
            &mut browser,
            &format!("/admin/reviews/{third}/approve"),
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let answer = admin
        .post(
            &mut browser,
            &format!("/admin/reviews/{third}/respond"),
            &[("response", "Merci Marc, à bientôt à l'atelier.")],
        )
        .await;
    let page = admin.get(&mut browser, answer.location()).await;
    assert!(page.body.contains("Réponse publiée."));
    assert!(
        page.body.contains("à bientôt à l&#39;atelier")
            || page.body.contains("à bientôt à l'atelier")
    );

    // The product's reviews with their average (published ones only: 5 and 3).
    let per_product = admin
        .get(&mut browser, &format!("/admin/reviews?product={product}"))
        .await;
    assert!(
        per_product
            .body
            .contains("Note moyenne : 4,0/5 sur 2 avis publié(s)"),
        "{}",
        per_product.body
    );
    let rejected = admin
        .get(&mut browser, "/admin/reviews?status=rejected")
        .await;
    assert!(rejected.body.contains("Spam") && !rejected.body.contains("Léa"));
    // The storefront's catalog counts only the published ones.
    let (sum, count): (i64, i64) = sqlx::query_as(
        "select rating_sum, rating_count from catalog_products where product_id = $1",
    )
    .bind(product)
    .fetch_one(&admin.db.pool)
    .await
    .unwrap();
    assert_eq!((sum, count), (8, 2));
}

#[tokio::test]
async fn orders_are_followed_and_moved_along_with_confirmations() {
    let admin = Admin::new().await;
    admin.staff("operator@shop.test", StaffRole::Operator).await;
    admin.staff("support@shop.test", StaffRole::Support).await;
    let bus = admin.db.bus();
    let tyre = published_product(&bus, "PN-ORD-1", "89.90", 10).await;
    let oil = published_product(&bus, "PN-ORD-2", "12.50", 10).await;
    let first = place(&bus, &[(tyre, 2), (oil, 1)]).await.unwrap();
    let second = place(&bus, &[(oil, 3)]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut browser = admin.signed_in("operator@shop.test").await;

    let list = admin
        .get(&mut browser, "/admin/orders?status=pending")
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(&first.order_number) && list.body.contains(&second.order_number));
    assert!(list.body.contains("En attente (2)"), "{}", list.body);
    let search = admin
        .get(
            &mut browser,
            &format!("/admin/orders?q={}", second.order_number),
        )
        .await;
    assert!(search.body.contains("1 commande(s)"), "{}", search.body);

    // The detail's amounts are the order's own, to the cent.
    let number = &first.order_number;
    let detail = admin
        .get(&mut browser, &format!("/admin/orders/{number}"))
        .await;
    let ttc = format!(
        "{} €",
        comptoir::admin::chart::amount(first.totals.total_ttc.amount(), true)
    );
    let ht = format!(
        "{} €",
        comptoir::admin::chart::amount(first.totals.total_ht.amount(), true)
    );
    assert!(
        detail
            .body
            .contains(&format!("id=\"order-total-ttc\"><strong>{ttc}")),
        "{ttc}: {}",
        detail.body
    );
    assert!(
        detail.body.contains(&format!("id=\"order-total-ht\">{ht}")),
        "{ht}"
    );
    assert!(detail.body.contains("TVA 20 %"));
    assert!(detail.body.contains("PN-ORD-1") && detail.body.contains("Client Test"));

    // Confirm, ready, complete: each offered only when the order allows it.
    for (action, status) in [
        ("confirm", "Confirmée"),
        ("ready", "Prête au retrait"),
        ("complete", "Terminée"),
    ] {
        let confirm = admin
            .get(
                &mut browser,
                &format!("/admin/orders/{number}/move?action={action}"),
            )
            .await;
        assert_eq!(confirm.status, StatusCode::OK, "{action}");
        let answer = admin
            .post(
                &mut browser,
                &format!("/admin/orders/{number}/move"),
                &[("action", action)],
            )
            .await;
        let page = admin.get(&mut browser, answer.location()).await;
        assert!(
            page.body.contains("Commande mise à jour."),
            "{action}: {}",
            page.body
        );
        assert!(page.body.contains(status), "{action}");
    }
    // Paid at the counter, by card: once only.
    let paid = admin
        .post(
            &mut browser,
            &format!("/admin/orders/{number}/payment"),
            &[("means", "card")],
        )
        .await;
    let page = admin.get(&mut browser, paid.location()).await;
    assert!(page.body.contains("Paiement enregistré."), "{}", page.body);
    assert!(page.body.contains("counter-card-"), "{}", page.body);
    assert!(
        !page.body.contains("/payment\""),
        "no second payment offered"
    );
    let again = admin
        .post(
            &mut browser,
            &format!("/admin/orders/{number}/payment"),
            &[("means", "cash")],
        )
        .await;
    let page = admin.get(&mut browser, again.location()).await;
    assert!(page.body.contains("La commande a changé entre-temps"));
    // A move the order no longer allows is explained, not a 500.
    let late = admin
        .post(
            &mut browser,
            &format!("/admin/orders/{number}/move"),
            &[("action", "cancel"), ("reason", "trop tard")],
        )
        .await;
    let page = admin.get(&mut browser, late.location()).await;
    assert!(
        page.body.contains("La commande a changé entre-temps"),
        "{}",
        page.body
    );

    // Cancelling asks for a reason, then releases the stock held for the order.
    let number = &second.order_number;
    let refused = admin
        .post(
            &mut browser,
            &format!("/admin/orders/{number}/move"),
            &[("action", "cancel"), ("reason", " ")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains("Indiquez le motif de l&#39;annulation.")
            || refused.body.contains("Indiquez le motif")
    );
    let answer = admin
        .post(
            &mut browser,
            &format!("/admin/orders/{number}/move"),
            &[("action", "cancel"), ("reason", "Client injoignable")],
        )
        .await;
    let page = admin.get(&mut browser, answer.location()).await;
    assert!(
        page.body.contains("Annulée : Client injoignable"),
        "{}",
        page.body
    );
    // The timeline tells every event of the order, in French, with who did it.
    let timeline = admin
        .get(
            &mut browser,
            &format!("/admin/orders/{}", first.order_number),
        )
        .await;
    for line in [
        "Commande passée : 2 article(s)",
        "Commande confirmée",
        "Prête au retrait",
        "Retirée par le client",
        "Paiement reçu",
    ] {
        assert!(timeline.body.contains(line), "{line}: {}", timeline.body);
    }
    assert!(timeline.body.contains("operator@shop.test"), "who moved it");
    let mut available: i64 = 0;
    for _ in 0..100 {
        available = sqlx::query_scalar("select available from stock_levels where product_id = $1")
            .bind(oil)
            .fetch_one(&admin.db.pool)
            .await
            .unwrap();
        if available == 9 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(available, 9, "10 received, 1 sold, 3 released");

    // Support reads orders but cannot move them.
    let mut support = admin.signed_in("support@shop.test").await;
    let detail = admin
        .get(&mut support, &format!("/admin/orders/{number}"))
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(
        !detail.body.contains("/move?action="),
        "no move offered to support"
    );
    let forbidden = admin
        .post(
            &mut support,
            &format!("/admin/orders/{}/move", first.order_number),
            &[("action", "confirm")],
        )
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    // ...and finds the customer's orders by email.
    let customer = admin
        .get(&mut support, "/admin/customers?email=client%40example.fr")
        .await;
    assert_eq!(customer.status, StatusCode::OK);
    assert!(
        customer.body.contains(&first.order_number) && customer.body.contains(&second.order_number)
    );
    let search = admin
        .get(&mut support, "/admin/customers?q=Client%20Test")
        .await;
    assert!(search.body.contains("client@example.fr"), "{}", search.body);
}

#[tokio::test]
async fn the_audit_trail_tells_who_did_what_and_the_chain_can_be_verified() {
    let admin = Admin::new().await;
    admin.staff("owner@shop.test", StaffRole::Owner).await;
    let mut browser = admin.signed_in("owner@shop.test").await;
    admin.get(&mut browser, "/admin/categories").await;
    let answer = admin
        .post(&mut browser, "/admin/categories", &[("name", "Éclairage")])
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    // Failed and successful sign-ins are on record.
    let (_, failed) = admin
        .sign_in(
            "owner@shop.test",
            "pas le bon mot de passe",
            Some("203.0.113.5"),
        )
        .await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let trail = admin.get(&mut browser, "/admin/audit?kind=Category").await;
    assert_eq!(trail.status, StatusCode::OK);
    assert!(
        trail.body.contains("owner@shop.test (Propriétaire)</strong> <span class=\"summary\">a créé la catégorie « Éclairage »"),
        "{}",
        trail.body
    );
    let position: i64 = sqlx::query_scalar(
        "select position from events where aggregate_type = 'Category' order by position desc limit 1",
    )
    .fetch_one(&admin.db.pool)
    .await
    .unwrap();
    // The raw event, its metadata (who, from where) and its seal.
    let mut seal = None;
    for _ in 0..100 {
        seal = sqlx::query_scalar::<_, Vec<u8>>("select seal from seals where position = $1")
            .bind(position)
            .fetch_optional(&admin.db.pool)
            .await
            .unwrap();
        if seal.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let raw = admin
        .get(&mut browser, &format!("/admin/audit/events/{position}"))
        .await;
    assert!(raw.body.contains("CategoryCreated") && raw.body.contains("Éclairage"));
    assert!(raw.body.contains("actor"), "{}", raw.body);
    assert!(
        raw.body.contains(&hex::encode(seal.unwrap())),
        "{}",
        raw.body
    );

    let security = admin
        .get(&mut browser, "/admin/audit/security?kind=login_failed")
        .await;
    assert!(security.body.contains("203.0.113.5"), "{}", security.body);
    assert!(!security.body.contains("badge-ok\">login_succeeded"));

    // Verify the chain from the admin: intact, recorded, shown.
    let chain = admin.get(&mut browser, "/admin/audit/chain").await;
    assert!(chain.body.contains("pas encore été vérifiée"));
    let answer = admin
        .post(&mut browser, "/admin/audit/chain/verify", &[])
        .await;
    let page = admin.get(&mut browser, answer.location()).await;
    assert!(page.body.contains("Chaîne intacte"), "{}", page.body);
    assert!(page.body.contains("par owner@shop.test"), "{}", page.body);
}

#[tokio::test]
async fn the_owner_creates_staff_changes_roles_and_resets_passwords() {
    let admin = Admin::new().await;
    admin.staff("owner@shop.test", StaffRole::Owner).await;
    let mut owner = admin.signed_in("owner@shop.test").await;
    admin.get(&mut owner, "/admin/staff").await;
    let refused = admin
        .post(
            &mut owner,
            "/admin/staff",
            &[
                ("email", "pas une adresse"),
                ("name", ""),
                ("role", "manager"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("Adresse e-mail invalide.")
            && refused.body.contains("Ce champ est obligatoire.")
    );
    let created = admin
        .post(
            &mut owner,
            "/admin/staff",
            &[
                ("email", "lea@shop.test"),
                ("name", "Léa"),
                ("role", "operator"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    assert!(created.body.contains("Compte créé pour lea@shop.test."));
    let start =
        created.body.find("<code class=\"secret\">").unwrap() + "<code class=\"secret\">".len();
    let password = created.body[start..start + 24].to_owned();
    // The new member signs in with the password shown once.
    let (mut lea, answer) = admin
        .sign_in("lea@shop.test", &password, Some("192.0.2.60"))
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    // That password was made up for her: every page sends her to choose her own first.
    for page in ["/admin", "/admin/products", "/admin/staff"] {
        assert_eq!(
            admin.get(&mut lea, page).await.location(),
            "/admin/account?reason=temporary",
            "{page}"
        );
    }
    let account = admin.get(&mut lea, "/admin/account").await;
    assert!(account.body.contains("est provisoire"), "{}", account.body);
    let chosen = admin
        .post(
            &mut lea,
            "/admin/account/password",
            &[
                ("current_password", &password),
                ("new_password", "mon-propre-mot-de-passe"),
                ("confirm_password", "mon-propre-mot-de-passe"),
            ],
        )
        .await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.body);
    let password = "mon-propre-mot-de-passe".to_owned();
    assert_eq!(
        admin.get(&mut lea, "/admin/products").await.status,
        StatusCode::OK
    );
    assert_eq!(
        admin.get(&mut lea, "/admin/staff").await.status,
        StatusCode::FORBIDDEN
    );
    let duplicate = admin
        .post(
            &mut owner,
            "/admin/staff",
            &[
                ("email", "LEA@shop.test"),
                ("name", "Léa bis"),
                ("role", "support"),
            ],
        )
        .await;
    assert!(
        duplicate
            .body
            .contains("Un compte utilise déjà cette adresse."),
        "{}",
        duplicate.body
    );

    // A new role applies on her next request.
    let lea_id = comptoir::auth::account_for(&admin.db.pool, "lea@shop.test")
        .await
        .unwrap()
        .unwrap();
    let answer = admin
        .post(
            &mut owner,
            &format!("/admin/staff/{lea_id}/role"),
            &[("role", "support")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        admin.get(&mut lea, "/admin/products").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin.get(&mut lea, "/admin/orders").await.status,
        StatusCode::OK
    );

    // A reset password ends her sessions; the old one no longer works, the new one does.
    let reset = admin
        .post(&mut owner, &format!("/admin/staff/{lea_id}/password"), &[])
        .await;
    assert_eq!(reset.status, StatusCode::OK);
    let start =
        reset.body.find("<code class=\"secret\">").unwrap() + "<code class=\"secret\">".len();
    let new_password = reset.body[start..start + 24].to_owned();
    assert!(admin
        .get(&mut lea, "/admin/orders")
        .await
        .location()
        .contains("reason=ended"));
    let (_, old) = admin
        .sign_in("lea@shop.test", &password, Some("192.0.2.61"))
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let (mut lea, new) = admin
        .sign_in("lea@shop.test", &new_password, Some("192.0.2.61"))
        .await;
    assert_eq!(new.status, StatusCode::SEE_OTHER);
    // A reset password is temporary too.
    assert_eq!(
        admin.get(&mut lea, "/admin/orders").await.location(),
        "/admin/account?reason=temporary"
    );

    // The owner cannot change their own role (the shop would lose its owner).
    let owner_id = comptoir::auth::account_for(&admin.db.pool, "owner@shop.test")
        .await
        .unwrap()
        .unwrap();
    let answer = admin
        .post(
            &mut owner,
            &format!("/admin/staff/{owner_id}/role"),
            &[("role", "support")],
        )
        .await;
    let page = admin.get(&mut owner, answer.location()).await;
    assert!(page
        .body
        .contains("Vous ne pouvez pas changer votre propre rôle."));
    // Every change is an event of the account, in the audit trail, without the hash.
    let audited: Vec<String> = sqlx::query_scalar(
        "select summary from audit_trail where aggregate_type = 'StaffAccount' order by position",
    )
    .fetch_all(&admin.db.pool)
    .await
    .unwrap();
    assert!(
        audited
            .iter()
            .any(|s| s.contains("operator") && s.contains("support")),
        "{audited:?}"
    );
    assert!(audited.iter().all(|s| !s.contains("argon2")));
}

#[tokio::test]
async fn the_owner_creates_and_revokes_storefront_api_keys() {
    let admin = Admin::new().await;
    admin.staff("owner@shop.test", StaffRole::Owner).await;
    let mut owner = admin.signed_in("owner@shop.test").await;
    admin.get(&mut owner, "/admin/settings/api-keys").await;
    let bad = admin
        .post(
            &mut owner,
            "/admin/settings/api-keys",
            &[("name", "pas de blancs")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("Nom invalide"));
    let created = admin
        .post(
            &mut owner,
            "/admin/settings/api-keys",
            &[("name", "boutique")],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    let start =
        created.body.find("<code class=\"secret\">").unwrap() + "<code class=\"secret\">".len();
    let end = start + created.body[start..].find('<').unwrap();
    let key = created.body[start..end].to_owned();
    assert!(key.starts_with("ck_"), "{key}");
    // The storefront reads the catalog with it...
    let api = |key: String| {
        Request::get("/api/categories")
            .header("x-api-key", key)
            .body(Body::empty())
            .unwrap()
    };
    let mut storefront = Browser::default();
    assert_eq!(
        admin.send(&mut storefront, api(key.clone())).await.status,
        StatusCode::OK
    );
    // ...until the owner revokes it, after a confirmation.
    let key_id: Uuid = sqlx::query_scalar("select key_id from api_keys where name = 'boutique'")
        .fetch_one(&admin.db.pool)
        .await
        .unwrap();
    let confirm = admin
        .get(
            &mut owner,
            &format!("/admin/settings/api-keys/{key_id}/revoke"),
        )
        .await;
    assert!(confirm.body.contains("Révoquer la clé « boutique » ?"));
    let answer = admin
        .post(
            &mut owner,
            &format!("/admin/settings/api-keys/{key_id}/revoke"),
            &[],
        )
        .await;
    let page = admin.get(&mut owner, answer.location()).await;
    assert!(page.body.contains("Clé révoquée.") && !page.body.contains(&key));
    assert_eq!(
        admin.send(&mut storefront, api(key)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let kinds: Vec<String> = sqlx::query_scalar(
        "select kind from security_events where kind like 'api_key%' order by id",
    )
    .fetch_all(&admin.db.pool)
    .await
    .unwrap();
    assert_eq!(kinds, ["api_key_created", "api_key_revoked"]);
}

/// The error shown next to a form field (`""` when none).
fn field_error(body: &str, field: &str) -> String {
    let marker = format!("id=\"err-{field}\"");
    let Some(start) = body.find(&marker) else {
        return String::new();
    };
    let rest = &body[start..];
    let open = rest.find('>').map_or(0, |i| i + 1);
    let close = rest.find("</p>").unwrap_or(rest.len());
    rest[open..close].to_owned()
}

#[tokio::test]
async fn the_audit_trail_tells_each_event_in_the_readers_language() {
    let admin = Admin::new().await;
    admin.staff("owner@shop.test", StaffRole::Owner).await;
    let mut browser = admin.signed_in("owner@shop.test").await;
    admin.get(&mut browser, "/admin/categories").await;
    admin
        .post(&mut browser, "/admin/categories", &[("name", "Freinage")])
        .await;
    let category: Uuid = sqlx::query_scalar("select category_id from category_list")
        .fetch_one(&admin.db.pool)
        .await
        .unwrap();
    let form = |name: &'static str, price: &'static str| {
        vec![("name", name), ("price_ht", price), ("vat_rate", "20")]
    };
    let category = category.to_string();
    let mut fields = form("Plaquettes", "89");
    fields.push(("category_id", &category));
    fields.push(("reference", "PN-1234"));
    let answer = admin.post(&mut browser, "/admin/products", &fields).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let product = answer.location().to_owned();
    // One edit: a new name (the event carries only the new details) and a new price (the
    // event carries the old one too).
    let mut fields = form("Plaquettes avant", "79");
    fields.push(("category_id", &category));
    let answer = admin.post(&mut browser, &product, &fields).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    // A stream of a type this build does not know: told by its stored summary.
    sqlx::query(
        "insert into events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         values ('Retired', 'r-1', 1, 'SomethingRetired', '1.0', '{}', '{}')",
    )
    .execute(&admin.db.pool)
    .await
    .unwrap();
    for _ in 0..100 {
        let told: i64 = sqlx::query_scalar(
            "select count(*) from audit_trail where event_type in ('ProductPriceChanged', 'SomethingRetired')",
        )
        .fetch_one(&admin.db.pool)
        .await
        .unwrap();
        if told == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let trail = admin.get(&mut browser, "/admin/audit?kind=Product").await;
    assert_eq!(trail.status, StatusCode::OK);
    for sentence in [
        "owner@shop.test (Propriétaire)</strong> <span class=\"summary\">a changé le prix de PN-1234 de 89,00 € à 79,00 € HT",
        "<span class=\"summary\">a modifié la fiche de PN-1234 : Nom : « Plaquettes » → « Plaquettes avant »",
        "<span class=\"summary\">a créé le produit PN-1234 « Plaquettes » à 89,00 € HT, TVA 20 %",
    ] {
        assert!(trail.body.contains(sentence), "{sentence}: {}", trail.body);
    }
    let trail = admin.get(&mut browser, "/admin/audit?kind=Category").await;
    assert!(
        trail
            .body
            .contains("<span class=\"summary\">a créé la catégorie « Freinage »"),
        "{}",
        trail.body
    );
    // The same events in English for whoever reads in English (the language cookie is
    // sent with the session's each time, as a browser does).
    let english = || {
        let mut english = browser.clone();
        english.cookie = Some(format!("{}; lang=en", browser.cookie.clone().unwrap()));
        english
    };
    let trail = admin.get(&mut english(), "/admin/audit?kind=Product").await;
    assert!(
        trail.body.contains("owner@shop.test (Owner)</strong> <span class=\"summary\">changed the price of PN-1234 from 89.00 € to 79.00 € excl. VAT"),
        "{}",
        trail.body
    );
    assert!(
        trail
            .body
            .contains("edited PN-1234: Name: “Plaquettes” → “Plaquettes avant”"),
        "{}",
        trail.body
    );
    // Staff accounts are named by their display name; the stored summary is the fallback.
    let trail = admin
        .get(&mut english(), "/admin/audit?kind=StaffAccount")
        .await;
    assert!(
        trail
            .body
            .contains("created the account of owner@shop.test (owner@shop.test, Owner)"),
        "{}",
        trail.body
    );
    // Stock, orders and reviews name their product by reference and the order by number.
    let bus = admin.db.bus();
    let spare = published_product(&bus, "PN-5678", "10.00", 3).await;
    let order = place(&bus, &[(spare, 2)]).await.unwrap().order_number;
    submit_review(&bus, spare, "Client", "Parfait, monté en dix minutes.", 4).await;
    for _ in 0..100 {
        let told: i64 = sqlx::query_scalar(
            "select count(*) from audit_trail
              where event_type in ('StockReserved', 'ReservationCommitted', 'ReviewSubmitted')",
        )
        .fetch_one(&admin.db.pool)
        .await
        .unwrap();
        if told == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let trail = admin.get(&mut browser, "/admin/audit").await;
    for sentence in [
        "a réceptionné 3 × PN-5678 (en stock : 0 → 3)".to_owned(),
        format!("a réservé 2 × PN-5678 pour la commande {order}"),
        format!("a passé la commande {order} : 1 article(s), 24,00 € TTC, paiement Au retrait"),
        "Automate (stock-keeper)</strong> <span class=\"summary\">a sorti du stock 2 × PN-5678"
            .to_owned(),
        "a laissé un avis 4/5 sur PN-5678, signé « Client »".to_owned(),
    ] {
        assert!(trail.body.contains(&sentence), "{sentence}: {}", trail.body);
    }
    let trail = admin.get(&mut browser, "/admin/audit?kind=Retired").await;
    assert!(
        trail.body.contains("SomethingRetired on Retired r-1"),
        "{}",
        trail.body
    );
}

#[tokio::test]
async fn staff_change_their_own_password_and_their_other_sessions_end() {
    const NEW: &str = "un tout autre mot de passe";
    const THIRD: &str = "et encore un autre, le troisième";
    let admin = Admin::new().await;
    let clerk = admin.staff("clerk@shop.test", StaffRole::Support).await;
    let mut browser = admin.signed_in("clerk@shop.test").await;
    let mut other = admin.signed_in("clerk@shop.test").await;
    let page = admin.get(&mut browser, "/admin/account").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("action=\"/admin/account/password\""));
    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        vec![
            ("current_password", current),
            ("new_password", new),
            ("confirm_password", confirm),
        ]
    };
    let failures = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from security_events where kind = 'login_failed' and staff_id = $1",
        )
        .bind(clerk)
        .fetch_one(&admin.db.pool)
        .await
        .unwrap()
    };

    // A wrong current password: refused, the field named, counted as a failed sign-in.
    let answer = admin
        .post(
            &mut browser,
            "/admin/account/password",
            &change("pas le bon mot de passe", NEW, NEW),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_error(&answer.body, "current_password"),
        "Le mot de passe actuel est incorrect."
    );
    assert!(!answer.body.contains(NEW), "passwords are never sent back");
    assert_eq!(failures().await, 1);
    // The confirmation must match; the new password follows the rules.
    let answer = admin
        .post(
            &mut browser,
            "/admin/account/password",
            &change(PASSWORD, NEW, "un tout autre mot de passE"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_error(&answer.body, "confirm_password"),
        "La confirmation ne correspond pas au nouveau mot de passe."
    );
    assert_eq!(field_error(&answer.body, "current_password"), "");
    let answer = admin
        .post(
            &mut browser,
            "/admin/account/password",
            &change(PASSWORD, "court", "court"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field_error(&answer.body, "new_password").contains("12 caractères au moins"),
        "{}",
        answer.body
    );
    assert_eq!(
        failures().await,
        1,
        "a right current password is no failure"
    );

    // Success: this session stays (under a new id), the other one ends.
    let before = browser.cookie.clone();
    let answer = admin
        .post(
            &mut browser,
            "/admin/account/password",
            &change(PASSWORD, NEW, NEW),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location(), "/admin/account");
    assert_ne!(browser.cookie, before, "the session id changed");
    let page = admin.get(&mut browser, "/admin/account").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Mot de passe changé."), "{}", page.body);
    assert_eq!(
        admin.get(&mut browser, "/admin").await.status,
        StatusCode::OK
    );
    let ended = admin.get(&mut other, "/admin").await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    assert!(
        ended.location().contains("reason=ended"),
        "{}",
        ended.location()
    );
    let recorded: i64 = sqlx::query_scalar(
        "select count(*) from security_events where kind = 'password_changed' and staff_id = $1",
    )
    .bind(clerk)
    .fetch_one(&admin.db.pool)
    .await
    .unwrap();
    assert_eq!(recorded, 1);
    // The old password no longer signs in; the new one does.
    let (_, refused) = admin.sign_in("clerk@shop.test", PASSWORD, None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let (_, accepted) = admin.sign_in("clerk@shop.test", NEW, None).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER);

    // With htmx: the page's token changed, so a whole new page is loaded.
    let body = serde_urlencoded::to_string([
        ("current_password", NEW),
        ("new_password", THIRD),
        ("confirm_password", THIRD),
        ("_csrf", browser.csrf.as_str()),
    ])
    .unwrap();
    let request = Request::builder()
        .method(Method::POST)
        .uri("/admin/account/password")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "shop.test")
        .header(header::ORIGIN, admin.origin)
        .header("hx-request", "true")
        .header("hx-boosted", "true")
        .body(Body::from(body))
        .unwrap();
    let answer = admin.send(&mut browser, request).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.headers["hx-redirect"], "/admin/account");
    let page = admin.get(&mut browser, "/admin/account").await;
    assert!(page.body.contains("Mot de passe changé."), "{}", page.body);
    let (_, accepted) = admin.sign_in("clerk@shop.test", THIRD, None).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_owner_sets_the_seller_pickup_locations_vat_rates_currency_and_origins() {
    let admin = Admin::new().await;
    admin.staff("owner@shop.test", StaffRole::Owner).await;
    let mut owner = admin.signed_in("owner@shop.test").await;
    let page = admin.get(&mut owner, "/admin/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("pas encore renseignée"), "{}", page.body);

    // The legal identity: each mistake named beside its field, what was typed kept.
    let identity = |changes: &[(&'static str, &'static str)]| {
        let mut fields = vec![
            ("company_name", "Moto Pièces Lyon"),
            ("legal_form", "SARL"),
            ("share_capital", "10 000"),
            ("street", "12 rue des Artisans"),
            ("postal_code", "69007"),
            ("city", "Lyon"),
            ("country", "France"),
            ("siren", "732 829 320"),
            ("siret", "732 829 320 00074"),
            ("rcs_city", "Lyon"),
            ("vat_number", "FR 44 732829320"),
            ("email", "contact@moto.test"),
            ("phone", "04 72 00 00 00"),
        ];
        for (name, value) in changes {
            fields.retain(|(n, _)| n != name);
            fields.push((name, value));
        }
        fields
    };
    let cases: [(&str, &str, &str); 4] = [
        ("siren", "732829321", "clé de contrôle"),
        (
            "siret",
            "35600000000001",
            "doit commencer par le SIREN (732829320)",
        ),
        ("vat_number", "FR40303265045", "SIREN 303265045"),
        ("share_capital", "", "doit indiquer son capital social"),
    ];
    for (name, value, message) in cases {
        let refused = admin
            .post(
                &mut owner,
                "/admin/settings/identity",
                &identity(&[(name, value)]),
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(
            field_error(&refused.body, name).contains(message),
            "{name}: {}",
            field_error(&refused.body, name)
        );
        assert!(refused.body.contains("Moto Pièces Lyon"));
    }
    let saved = admin
        .post(&mut owner, "/admin/settings/identity", &identity(&[]))
        .await;
    assert_eq!(
        saved.location(),
        "/admin/settings#identity",
        "{}",
        saved.body
    );
    let page = admin.get(&mut owner, "/admin/settings").await;
    assert!(page.body.contains("Réglages enregistrés."));
    assert!(page.body.contains("value=\"FR44732829320\""));
    assert!(!page.body.contains("pas encore renseignée"));

    // Pickup locations: unique names, edited, removed after a confirmation.
    let add = |name: &'static str| {
        vec![
            ("pickup_name", name),
            ("pickup_address", "12 rue des Artisans, 69007 Lyon"),
            ("pickup_hours", "9 h – 19 h"),
        ]
    };
    let added = admin
        .post(
            &mut owner,
            "/admin/settings/pickup-locations",
            &add("Atelier de Lyon"),
        )
        .await;
    assert_eq!(added.location(), "/admin/settings#pickup");
    let twice = admin
        .post(
            &mut owner,
            "/admin/settings/pickup-locations",
            &add(" atelier DE lyon "),
        )
        .await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&twice.body, "pickup_name").contains("porte déjà ce nom"));
    let blank = admin
        .post(&mut owner, "/admin/settings/pickup-locations", &add(""))
        .await;
    assert!(field_error(&blank.body, "pickup_name").contains("obligatoire"));
    let bus = admin.db.bus();
    let settings = bus
        .settings
        .load(aggregates::SHOP_SETTINGS_ID)
        .await
        .unwrap();
    let location = settings.pickup_locations()[0].location_id;
    let edit = format!("/admin/settings/pickup-locations/{location}");
    assert!(admin
        .get(&mut owner, &edit)
        .await
        .body
        .contains("9 h – 19 h"));
    let edited = admin
        .post(
            &mut owner,
            &edit,
            &[
                ("pickup_name", "Atelier de Lyon"),
                ("pickup_address", "12 rue des Artisans, 69007 Lyon"),
                ("pickup_hours", "Du mardi au samedi"),
            ],
        )
        .await;
    assert_eq!(edited.location(), "/admin/settings#pickup");
    let confirm = admin.get(&mut owner, &format!("{edit}/remove")).await;
    assert!(confirm
        .body
        .contains("Retirer le point de retrait « Atelier de Lyon » ?"));
    let removed = admin.post(&mut owner, &format!("{edit}/remove"), &[]).await;
    assert_eq!(removed.location(), "/admin/settings#pickup");
    let gone = admin.post(&mut owner, &format!("{edit}/remove"), &[]).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    // VAT rates: the product form offers them and preselects the default.
    let vat = admin
        .post(
            &mut owner,
            "/admin/settings/vat",
            &[
                ("offered", "20"),
                ("offered", "5.5"),
                ("other", "8,5"),
                ("default_rate", "5.5"),
            ],
        )
        .await;
    assert_eq!(vat.location(), "/admin/settings#vat", "{}", vat.body);
    let settings = bus
        .settings
        .load(aggregates::SHOP_SETTINGS_ID)
        .await
        .unwrap();
    let rates: Vec<String> = settings
        .vat_rates()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(rates, ["20", "8.5", "5.5"]);
    let form = admin.get(&mut owner, "/admin/products/new").await;
    assert!(
        form.body.contains("<option value=\"5.5\" selected>"),
        "{}",
        form.body
    );
    assert!(form.body.contains("<option value=\"8.5\">"));
    assert!(!form.body.contains("<option value=\"10\">"));
    let not_offered = admin
        .post(
            &mut owner,
            "/admin/settings/vat",
            &[("offered", "20"), ("default_rate", "10")],
        )
        .await;
    assert!(field_error(&not_offered.body, "default_rate").contains("taux proposés"));
    let garbage = admin
        .post(
            &mut owner,
            "/admin/settings/vat",
            &[("other", "beaucoup"), ("default_rate", "20")],
        )
        .await;
    assert!(field_error(&garbage.body, "other").contains("« beaucoup »"));

    // The currency changes until the first order, not after.
    let chf = admin
        .post(
            &mut owner,
            "/admin/settings/currency",
            &[("currency", "chf")],
        )
        .await;
    assert_eq!(chf.location(), "/admin/settings#currency");
    let product = published_product(&bus, "PN-SET-1", "10.00", 3).await;
    place(&bus, &[(product, 1)]).await.unwrap();
    let locked = admin
        .post(
            &mut owner,
            "/admin/settings/currency",
            &[("currency", "EUR")],
        )
        .await;
    assert_eq!(locked.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&locked.body, "currency").contains("ne peut plus changer"));

    // Storefront origins: checked line by line, admitted by CORS at once.
    let bad = admin
        .post(
            &mut owner,
            "/admin/settings/origins",
            &[(
                "origins",
                "https://vitrine.test\nhttps://vitrine.test/boutique",
            )],
        )
        .await;
    assert!(field_error(&bad.body, "origins").contains("Ligne 2"));
    let preflight = || {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/shop")
            .header(header::ORIGIN, "https://vitrine.test")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .body(Body::empty())
            .unwrap()
    };
    let mut storefront = Browser::default();
    let before = admin.send(&mut storefront, preflight()).await;
    assert!(before
        .headers
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());
    let origins = admin
        .post(
            &mut owner,
            "/admin/settings/origins",
            &[("origins", "HTTPS://vitrine.test/\n\nhttp://localhost:5173")],
        )
        .await;
    assert_eq!(origins.location(), "/admin/settings#origins");
    let after = admin.send(&mut storefront, preflight()).await;
    assert_eq!(
        after
            .headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .unwrap(),
        "https://vitrine.test"
    );

    // Every change is in the audit trail, told in the reader's language.
    let trail = admin
        .get(&mut owner, "/admin/audit?kind=ShopSettings")
        .await;
    for told in [
        "a renseigné l&#39;identité légale du vendeur",
        "a ajouté le point de retrait « Atelier de Lyon »",
        "Horaires : 9 h – 19 h → Du mardi au samedi",
        "a retiré le point de retrait « Atelier de Lyon »",
        "a changé les taux de TVA proposés de 20 %, 10 %, 5,5 %, 2,1 % à 20 %, 8,5 %, 5,5 % (par défaut 5,5 %)",
        "a changé la devise de EUR à CHF",
        "https://vitrine.test, http://localhost:5173",
    ] {
        let plain = trail.body.replace("&#39;", "'");
        assert!(
            trail.body.contains(told) || plain.contains(&told.replace("&#39;", "'")),
            "{told} in {}",
            trail.body
        );
    }
}

#[tokio::test]
async fn the_outbox_lists_emails_by_status_and_resends_after_a_confirmation() {
    use aggregates::order::{OrderCommand, OrderLineInput, PaymentMethod};
    use comptoir::email::{EmailOutbox, OutboxSettings};

    let admin = Admin::new().await;
    let bus = admin.db.bus();
    // Two orders, emailed to their customers by the outbox consumer.
    let mut orders = Vec::new();
    for (email, name) in [("anne@example.fr", "Anne"), ("bruno@example.fr", "Bruno")] {
        let order_id = Uuid::now_v7();
        let number = format!("C-OUTBOX-{name}");
        bus.orders
            .execute(
                &order_id.to_string(),
                OrderCommand::PlaceOrder {
                    order_id,
                    order_number: number.clone(),
                    customer_email: aggregates::Email::new(email).unwrap(),
                    customer_name: name.into(),
                    customer_phone: aggregates::Phone::try_from("06 12 34 56 78").unwrap(),
                    pickup_location: "Atelier".into(),
                    payment_method: PaymentMethod::Pickup,
                    lines: vec![OrderLineInput {
                        product_id: Uuid::now_v7(),
                        reference: aggregates::Reference::try_from("PN-OUTBOX").unwrap(),
                        name: "Pneu".into(),
                        quantity: 1,
                        unit_price_ht: aggregates::Money::try_from("10.00").unwrap(),
                        vat_rate: aggregates::VatRate::try_from("20").unwrap(),
                    }],
                    placed_at: chrono::Utc::now(),
                    language: aggregates::Language::Fr,
                    billing: None,
                },
                &aggregates::EventMetadata::system(),
            )
            .await
            .unwrap();
        orders.push(number);
    }
    let outbox = EmailOutbox::new(
        bus.clone(),
        OutboxSettings {
            public_url: "https://shop.test".into(),
            staff_email: None,
        },
    );
    Projector::new(admin.db.pool.clone(), vec![Arc::new(outbox)])
        .run_once()
        .await
        .unwrap();
    let email_of = |recipient: &'static str| {
        let pool = admin.db.pool.clone();
        async move {
            sqlx::query_scalar::<_, Uuid>(
                "select email_id from email_outbox where recipient = $1 and kind = 'order_received'",
            )
            .bind(recipient)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let failed = email_of("anne@example.fr").await;
    let sent = email_of("bruno@example.fr").await;
    sqlx::query(
        "update email_outbox set status = 'failed', attempts = 12,
                last_error = '550 5.1.1 <anne@example.fr>: mailbox unavailable',
                last_attempt_at = now()
          where email_id = $1",
    )
    .bind(failed)
    .execute(&admin.db.pool)
    .await
    .unwrap();
    sqlx::query(
        "update email_outbox set status = 'sent', attempts = 1, sent_at = now() where email_id = $1",
    )
    .bind(sent)
    .execute(&admin.db.pool)
    .await
    .unwrap();

    let owner_id = admin.staff("owner@shop.test", StaffRole::Owner).await;
    admin.staff("manager@shop.test", StaffRole::Manager).await;
    admin.staff("operator@shop.test", StaffRole::Operator).await;
    let mut owner = admin.signed_in("owner@shop.test").await;
    let mut manager = admin.signed_in("manager@shop.test").await;
    let mut operator = admin.signed_in("operator@shop.test").await;

    // Owners and managers see it (and find it in the sidebar); operators do not.
    let page = admin.get(&mut owner, "/admin/outbox").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("href=\"/admin/outbox\""));
    for shown in [
        "anne@example.fr",
        "bruno@example.fr",
        "Votre commande C-OUTBOX-Anne est bien reçue",
        "Commande reçue",
        "En échec",
        "Envoyé",
        // The server's answer, escaped like everything else.
        "550 5.1.1 &lt;anne@example.fr&gt;: mailbox unavailable",
        "href=\"/admin/orders/C-OUTBOX-Bruno\"",
    ] {
        assert!(page.body.contains(shown), "{shown} in {}", page.body);
    }
    assert_eq!(
        admin.get(&mut manager, "/admin/outbox").await.status,
        StatusCode::OK
    );
    assert_eq!(
        admin.get(&mut operator, "/admin/outbox").await.status,
        StatusCode::FORBIDDEN
    );
    assert!(!admin
        .get(&mut operator, "/admin")
        .await
        .body
        .contains("href=\"/admin/outbox\""));

    // Filtered by status.
    let failures = admin.get(&mut owner, "/admin/outbox?status=failed").await;
    assert!(failures.body.contains("anne@example.fr"));
    assert!(!failures.body.contains("bruno@example.fr"));
    let found = admin.get(&mut owner, "/admin/outbox?q=Bruno").await;
    assert!(found.body.contains("bruno@example.fr") && !found.body.contains("anne@example.fr"));
    let detail = admin
        .get(&mut owner, &format!("/admin/outbox/{sent}"))
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.body.contains("Bonjour Bruno,"));

    // Resending: a confirmation first (a page without JavaScript), then the post.
    let back = "/admin/outbox?status=failed";
    let confirm = admin
        .get(
            &mut owner,
            &format!("/admin/outbox/{failed}/resend?back=%2Fadmin%2Foutbox%3Fstatus%3Dfailed"),
        )
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm
        .body
        .contains("Renvoyer « Votre commande C-OUTBOX-Anne est bien reçue » à anne@example.fr ?"));
    assert!(confirm
        .body
        .contains(&format!("action=\"/admin/outbox/{failed}/resend\"")));
    let refused = admin
        .post(
            &mut operator,
            &format!("/admin/outbox/{failed}/resend"),
            &[("back", back)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let forged = admin
        .post(
            &mut owner,
            &format!("/admin/outbox/{failed}/resend"),
            &[("back", back), ("_csrf", "forged")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let state = |id: Uuid| {
        let pool = admin.db.pool.clone();
        async move {
            sqlx::query_as::<_, (String, i32, i32, Option<Uuid>)>(
                "select status, attempts, resends, resent_by from email_outbox where email_id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(state(failed).await.0, "failed");
    let done = admin
        .post(
            &mut owner,
            &format!("/admin/outbox/{failed}/resend"),
            &[("back", back)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location(), back);
    assert_eq!(
        state(failed).await,
        ("pending".to_owned(), 0, 1, Some(owner_id))
    );
    let after = admin.get(&mut owner, back).await;
    assert!(
        after
            .body
            .contains("L&#39;e-mail est de nouveau en attente d&#39;envoi.")
            || after
                .body
                .contains("L'e-mail est de nouveau en attente d'envoi.")
    );
    // A sent email too; a pending one cannot be resent again.
    let resent = admin
        .post(
            &mut manager,
            &format!("/admin/outbox/{sent}/resend"),
            &[("back", "https://evil.test/")],
        )
        .await;
    assert_eq!(resent.location(), "/admin");
    assert_eq!(state(sent).await.0, "pending");
    let again = admin
        .post(
            &mut owner,
            &format!("/admin/outbox/{failed}/resend"),
            &[("back", back)],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(state(failed).await.2, 1);
    let page = admin.get(&mut owner, back).await;
    assert!(page
        .body
        .contains("Seul un e-mail envoyé ou en échec peut être renvoyé."));
    let missing = admin
        .post(
            &mut owner,
            &format!("/admin/outbox/{}/resend", Uuid::now_v7()),
            &[],
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let _ = orders;
}

#[tokio::test]
async fn an_order_page_links_its_invoice_and_credit_notes_to_their_pdfs() {
    use aggregates::metadata::EventMetadata;
    use aggregates::order::{OrderCommand, RefundLineInput};
    use aggregates::shop_settings::ShopSettingsCommand;

    let admin = Admin::new().await;
    admin.staff("support@shop.test", StaffRole::Support).await;
    let bus = admin.db.bus();
    let system = EventMetadata::system();
    bus.settings
        .execute(
            aggregates::SHOP_SETTINGS_ID,
            ShopSettingsCommand::ChangeLegalIdentity {
                identity: Box::new(comptoir::demo::seller().unwrap()),
            },
            &system,
        )
        .await
        .unwrap();
    let tyre = published_product(&bus, "PN-DOC-1", "89.90", 10).await;
    let placed = place(&bus, &[(tyre, 2)]).await.unwrap();
    let id = placed.order_id.to_string();
    let pay = OrderCommand::ConfirmPayment {
        provider: "pickup".into(),
        reference: format!("counter-card-{}", placed.order_number),
        amount: placed.totals.total_ttc,
        paid_at: chrono::Utc::now(),
        provider_event_id: None,
    };
    bus.orders.execute(&id, pay, &system).await.unwrap();
    let refund = OrderCommand::RefundLines {
        credit_id: Uuid::now_v7(),
        lines: vec![RefundLineInput {
            product_id: tyre,
            quantity: 1,
        }],
        reason: "pneu en double".into(),
    };
    // The refund waits for the invoice (the credit note corrects it).
    let mut invoiced = false;
    for _ in 0..100 {
        invoiced = bus
            .orders
            .load(&id)
            .await
            .unwrap()
            .invoice_number()
            .is_some();
        if invoiced {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(invoiced);
    bus.orders.execute(&id, refund, &system).await.unwrap();
    let renderer = Arc::new(comptoir::invoices::pdf::Renderer::new().unwrap());
    let publisher = Projector::new(
        admin.db.pool.clone(),
        vec![Arc::new(comptoir::invoices::publish::Publisher::new(
            bus.clone(),
            admin.media.clone(),
            renderer,
        ))],
    );
    let mut numbers: Vec<String> = Vec::new();
    for _ in 0..100 {
        publisher.run_once().await.unwrap();
        numbers = sqlx::query_scalar(
            "select number from invoice_register where pdf_key is not null order by issued_at",
        )
        .fetch_all(&admin.db.pool)
        .await
        .unwrap();
        if numbers.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(numbers.len(), 2, "{numbers:?}");

    // Support sees orders, so it sees their invoices (the counter prints them).
    let mut browser = admin.signed_in("support@shop.test").await;
    let page = admin
        .get(
            &mut browser,
            &format!("/admin/orders/{}", placed.order_number),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    for number in &numbers {
        assert!(
            page.body
                .contains(&format!("href=\"/admin/documents/{number}\"")),
            "{number}: {}",
            page.body
        );
    }
    // The timeline tells the credit note and the stored PDFs in the reader's language.
    assert!(
        page.body.contains("demandé : pneu en double"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("PDF de {} conservé", numbers[0])),
        "{}",
        page.body
    );
    for number in &numbers {
        let pdf = admin
            .get(&mut browser, &format!("/admin/documents/{number}"))
            .await;
        assert_eq!(pdf.status, StatusCode::OK);
        assert_eq!(pdf.headers[header::CONTENT_TYPE], "application/pdf");
        assert_eq!(pdf.headers[header::CACHE_CONTROL], "private, no-store");
        assert!(pdf.body.starts_with("%PDF-"));
    }
    let missing = admin
        .get(&mut browser, "/admin/documents/FA-1999-000001")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // Signed out: nothing.
    let mut stranger = Browser::default();
    let refused = admin
        .get(&mut stranger, &format!("/admin/documents/{}", numbers[0]))
        .await;
    assert_ne!(refused.status, StatusCode::OK);
    assert!(!refused.body.starts_with("%PDF"));
}

/// The text inside the element with this id, tags left out.
fn text_of(body: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let Some(start) = body.find(&marker) else {
        return String::new();
    };
    let rest = &body[start..];
    let open = rest.find('>').map_or(0, |i| i + 1);
    let mut text = String::new();
    let mut depth = 0;
    let mut in_tag = false;
    for (i, c) in rest[open..].char_indices() {
        match c {
            '<' => {
                let tail = &rest[open + i..];
                if tail.starts_with("</") {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                } else {
                    depth += 1;
                }
                in_tag = true;
            }
            '>' if in_tag => {
                in_tag = false;
                if rest[..open + i].ends_with('/') {
                    depth -= 1;
                }
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// Waits (5 s at most) until `sql`, a count, reaches `expected`.
async fn wait_count(pool: &sqlx::PgPool, sql: &str, expected: i64) {
    let mut seen = -1;
    for _ in 0..100 {
        seen = sqlx::query_scalar(sql).fetch_one(pool).await.unwrap();
        if seen == expected {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{sql}: {seen}, expected {expected}");
}

/// A shop with a seller and three documents issued today: two paid pickup orders of one
/// product at 89.90 HT + 20 % (two units paid by card, one in cash), then one unit of the
/// first refunded. Returns the orders' numbers and the documents' numbers in issue order
/// (`FA-…-000001`, `FA-…-000002`, `AV-…-000001`).
async fn invoiced_shop(admin: &Admin) -> (Vec<String>, Vec<String>) {
    use aggregates::metadata::EventMetadata;
    use aggregates::order::{OrderCommand, RefundLineInput};
    use aggregates::shop_settings::ShopSettingsCommand;

    let bus = admin.db.bus();
    let system = EventMetadata::system();
    bus.settings
        .execute(
            aggregates::SHOP_SETTINGS_ID,
            ShopSettingsCommand::ChangeLegalIdentity {
                identity: Box::new(comptoir::demo::seller().unwrap()),
            },
            &system,
        )
        .await
        .unwrap();
    let tyre = published_product(&bus, "PN-REG-1", "89.90", 10).await;
    let mut orders = Vec::new();
    let mut first = None;
    for (quantity, means) in [(2, "card"), (1, "cash")] {
        let placed = place(&bus, &[(tyre, quantity)]).await.unwrap();
        let id = placed.order_id.to_string();
        let pay = OrderCommand::ConfirmPayment {
            provider: "pickup".into(),
            reference: format!("counter-{means}-{}", placed.order_number),
            amount: placed.totals.total_ttc,
            paid_at: chrono::Utc::now(),
            provider_event_id: None,
        };
        bus.orders.execute(&id, pay, &system).await.unwrap();
        // One invoice after the other, so their numbers follow the orders.
        wait_count(
            &admin.db.pool,
            &format!(
                "select count(*) from invoice_register where order_id = '{}'",
                placed.order_id
            ),
            1,
        )
        .await;
        first.get_or_insert(id);
        orders.push(placed.order_number);
    }
    let refund = OrderCommand::RefundLines {
        credit_id: Uuid::now_v7(),
        lines: vec![RefundLineInput {
            product_id: tyre,
            quantity: 1,
        }],
        reason: "pneu en double".into(),
    };
    bus.orders
        .execute(&first.unwrap(), refund, &system)
        .await
        .unwrap();
    wait_count(&admin.db.pool, "select count(*) from invoice_register", 3).await;
    let numbers =
        sqlx::query_scalar("select number from invoice_register order by issued_at, position")
            .fetch_all(&admin.db.pool)
            .await
            .unwrap();
    (orders, numbers)
}

#[tokio::test]
async fn the_invoice_register_totals_a_period_and_shows_gaps_in_the_numbering() {
    let admin = Admin::new().await;
    admin
        .staff("accountant@shop.test", StaffRole::Accountant)
        .await;
    admin.staff("operator@shop.test", StaffRole::Operator).await;
    let (orders, numbers) = invoiced_shop(&admin).await;
    assert_eq!(numbers.len(), 3, "{numbers:?}");
    assert!(numbers[0].starts_with("FA-") && numbers[2].starts_with("AV-"));

    // Only roles that see invoices find them in the sidebar.
    let mut operator = admin.signed_in("operator@shop.test").await;
    let dashboard = admin.get(&mut operator, "/admin").await;
    assert!(!dashboard.body.contains("href=\"/admin/invoices\""));
    let mut browser = admin.signed_in("accountant@shop.test").await;
    let dashboard = admin.get(&mut browser, "/admin").await;
    assert!(dashboard.body.contains("href=\"/admin/invoices\""));

    // This month (the default): both invoices and the credit note, with their orders.
    let page = admin.get(&mut browser, "/admin/invoices").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for number in &numbers {
        assert!(page.body.contains(number.as_str()), "{number}");
    }
    for order in &orders {
        assert!(page
            .body
            .contains(&format!("href=\"/admin/orders/{order}\"")));
    }
    assert_eq!(
        text_of(&page.body, "register-count").trim(),
        "3 document(s) : 2 facture(s), 1 avoir(s)."
    );
    // 2 × 89.90 + 1 × 89.90 invoiced, 1 × 89.90 credited: 179.80 HT, 35.96 VAT.
    assert_eq!(text_of(&page.body, "total-ht"), "179,80 €");
    assert_eq!(text_of(&page.body, "total-vat"), "35,96 €");
    assert_eq!(text_of(&page.body, "total-ttc"), "215,76 €");
    let totals = text_of(&page.body, "register-totals");
    assert!(totals.contains("20 %"), "{totals}");
    assert!(totals.contains("Carte bancaire"), "{totals}");
    assert!(totals.contains("Espèces"), "{totals}");
    // The credit note counts negative, and says which invoice it corrects.
    let documents = text_of(&page.body, "documents");
    assert!(documents.contains("-107,88 €"), "{documents}");
    assert!(
        documents.contains(&format!("corrige {}", numbers[0])),
        "{documents}"
    );
    // Both series run without a gap.
    let gaps = text_of(&page.body, "register-gaps");
    assert_eq!(gaps.matches("Aucun trou").count(), 2, "{gaps}");

    // Another period: nothing in it.
    let empty = admin
        .get(
            &mut browser,
            "/admin/invoices?from=2020-01-01&to=2020-01-31",
        )
        .await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty
        .body
        .contains("Aucune facture ni aucun avoir sur cette période."));
    assert_eq!(text_of(&empty.body, "total-ttc"), "0,00 €");
    assert!(!empty.body.contains(numbers[0].as_str()) || empty.body.contains("register-gaps"));

    // A number lost from the series: the check names it.
    sqlx::query("delete from invoice_numbers where number = $1")
        .bind(&numbers[0])
        .execute(&admin.db.pool)
        .await
        .unwrap();
    let page = admin.get(&mut browser, "/admin/invoices").await;
    let gaps = text_of(&page.body, "register-gaps");
    assert_eq!(gaps.matches("Aucun trou").count(), 1, "{gaps}");
    assert!(gaps.contains("1 numéro(s) manquant(s)"), "{gaps}");
    assert!(gaps.contains(&format!("n° 1 ({})", numbers[0])), "{gaps}");
    assert!(page.body.contains("class=\"alert alert-error gap-status\""));
}

#[tokio::test]
async fn the_owner_closes_the_finished_days_and_no_one_else_can() {
    let admin = Admin::new().await;
    for role in [StaffRole::Owner, StaffRole::Manager, StaffRole::Accountant] {
        admin
            .staff(&format!("{}@shop.test", role.as_str()), role)
            .await;
    }
    let (_, numbers) = invoiced_shop(&admin).await;
    let count_closures = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from events where aggregate_type = 'Closures'",
        )
        .fetch_one(&admin.db.pool)
        .await
        .unwrap()
    };
    // Days close once over; for one to be over now, the shop's first event moves three
    // days back (history is append-only: the trigger is lifted for this alone).
    let mut conn = admin.db.pool.acquire().await.unwrap();
    sqlx::query("alter table events disable trigger events_append_only")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query(
        "update events set recorded_at = recorded_at - interval '3 days'
         where position = (select min(position) from events)",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query("alter table events enable trigger events_append_only")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let first_day: chrono::NaiveDate = sqlx::query_scalar(
        "select (min(recorded_at) at time zone 'Europe/Paris')::date from events",
    )
    .fetch_one(&admin.db.pool)
    .await
    .unwrap();

    let mut owner = admin.signed_in("owner@shop.test").await;
    let page = admin.get(&mut owner, "/admin/invoices").await;
    assert!(page.body.contains("Aucune journée n'est encore clôturée."));
    assert!(page
        .body
        .contains("Clôturer maintenant les journées terminées"));
    // Others see the closures but may not close, even by posting the form themselves.
    for email in ["manager@shop.test", "accountant@shop.test"] {
        let mut browser = admin.signed_in(email).await;
        let page = admin.get(&mut browser, "/admin/invoices").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("action=\"/admin/invoices/close\""));
        let refused = admin.post(&mut browser, "/admin/invoices/close", &[]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{email}");
        assert_eq!(count_closures().await, 0, "{email}");
    }
    // Without the token: refused, nothing closed.
    let forged = admin
        .post(&mut owner, "/admin/invoices/close", &[("_csrf", "")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(count_closures().await, 0);

    let back = "/admin/invoices?from=2020-01-01&to=2020-01-31";
    let closed = admin
        .post(&mut owner, "/admin/invoices/close", &[("back", back)])
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    assert_eq!(closed.location(), back);
    let days = count_closures().await;
    assert!(
        days >= 2,
        "the three days before today, less one in the grace time"
    );
    let page = admin.get(&mut owner, back).await;
    let first = first_day.format("%d/%m/%Y").to_string();
    assert!(
        page.body
            .contains(&format!("Journées clôturées : {first}, ")),
        "{}",
        page.body
    );
    let last: String = sqlx::query_scalar(
        "select payload -> 'PeriodClosed' ->> 'period' from events
         where aggregate_type = 'Closures' order by position desc limit 1",
    )
    .fetch_one(&admin.db.pool)
    .await
    .unwrap();
    let last: chrono::NaiveDate = last.parse().unwrap();
    assert_eq!(
        text_of(&page.body, "last-closed"),
        format!("Dernière journée clôturée : {}.", last.format("%d/%m/%Y"))
    );
    let seal: String = sqlx::query_scalar(
        "select payload -> 'PeriodClosed' ->> 'last_seal' from events
         where aggregate_type = 'Closures' order by position desc limit 1",
    )
    .fetch_one(&admin.db.pool)
    .await
    .unwrap();
    assert!(page.body.contains(&format!("{}…", &seal[..12])));
    // The documents are today's: the closed days hold none of them.
    assert!(!text_of(&page.body, "register-closures").contains(&numbers[0]));

    // Nothing else is due now.
    let again = admin
        .post(&mut owner, "/admin/invoices/close", &[("back", back)])
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let page = admin.get(&mut owner, back).await;
    assert!(page.body.contains("Rien à clôturer"), "{}", page.body);
    assert_eq!(count_closures().await, days);
    // The closures asked for are the owner's, not the automatic closer's.
    let actors: Vec<String> = sqlx::query_scalar(
        "select distinct metadata->>'actor_kind' from events where event_type = 'PeriodClosed'",
    )
    .fetch_all(&admin.db.pool)
    .await
    .unwrap();
    assert_eq!(actors, ["staff"]);
}

#[tokio::test]
async fn exports_downloaded_from_the_admin_are_the_files_the_command_line_writes() {
    use comptoir::accounting::{run, Dialect, FecSeparator};

    let admin = Admin::new().await;
    admin
        .staff("accountant@shop.test", StaffRole::Accountant)
        .await;
    let (_, numbers) = invoiced_shop(&admin).await;
    let mut browser = admin.signed_in("accountant@shop.test").await;
    // The audit trail carries seals: wait until the chain has caught up with the store.
    wait_count(
        &admin.db.pool,
        "select (select count(*) from events) - (select count(*) from seals)",
        0,
    )
    .await;
    let today = aggregates::calendar::paris_day(chrono::Utc::now());
    let from = today - chrono::Duration::days(1);
    let to = today + chrono::Duration::days(1);
    let period = format!("from={from}&to={to}");
    let page = admin
        .get(&mut browser, &format!("/admin/invoices?{period}"))
        .await;
    assert_eq!(
        text_of(&page.body, "export-documents"),
        "3 document(s) dans l'export."
    );
    let events: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&admin.db.pool)
        .await
        .unwrap();
    assert_eq!(
        text_of(&page.body, "export-events"),
        format!("{events} événement(s) dans la piste d'audit.")
    );
    assert!(page.body.contains("data-export"));

    let siren = comptoir::demo::seller().unwrap().siren.to_string();
    let dir = tempfile::tempdir().unwrap();
    let bus = admin.db.bus();
    let pool = &admin.db.pool;
    let cases = [
        (
            "sales-csv",
            "dialect=fr",
            "text/csv; charset=utf-8",
            format!("ventes-{from}-{to}.csv"),
        ),
        (
            "sales-csv",
            "dialect=rfc",
            "text/csv; charset=utf-8",
            format!("ventes-{from}-{to}.csv"),
        ),
        (
            "fec",
            "separator=pipe",
            "text/plain; charset=iso-8859-15",
            comptoir::accounting::fec_file_name(&siren, to),
        ),
        (
            "fec",
            "separator=tab",
            "text/plain; charset=iso-8859-15",
            comptoir::accounting::fec_file_name(&siren, to),
        ),
        (
            "audit",
            "format=csv",
            "text/csv; charset=utf-8",
            format!("audit-{from}-{to}.csv"),
        ),
        (
            "audit",
            "format=jsonl",
            "application/jsonl; charset=utf-8",
            format!("audit-{from}-{to}.jsonl"),
        ),
    ];
    let downloads = cases.len();
    for (kind, option, content_type, file_name) in cases {
        let answer = admin
            .get(
                &mut browser,
                &format!("/admin/exports/{kind}?{period}&{option}"),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{kind} {option}: {}",
            answer.body
        );
        assert_eq!(answer.headers[header::CONTENT_TYPE], content_type, "{kind}");
        assert_eq!(
            answer.headers[header::CONTENT_DISPOSITION],
            format!("attachment; filename=\"{file_name}\"").as_str()
        );
        let path = dir.path().join(format!("{kind}-{option}"));
        let (written, _) = match (kind, option) {
            ("sales-csv", "dialect=fr") => {
                run::sales_csv(pool, from, to, Dialect::French, Some(&path)).await
            }
            ("sales-csv", _) => run::sales_csv(pool, from, to, Dialect::Rfc4180, Some(&path)).await,
            ("fec", "separator=pipe") => {
                run::fec(&bus, from, to, FecSeparator::Pipe, Some(&path)).await
            }
            ("fec", _) => run::fec(&bus, from, to, FecSeparator::Tab, Some(&path)).await,
            (_, "format=csv") => run::audit(pool, from, to, false, Some(&path)).await,
            _ => run::audit(pool, from, to, true, Some(&path)).await,
        }
        .unwrap();
        let file = std::fs::read(&path).unwrap();
        assert_eq!(
            answer.bytes, file,
            "{kind} {option}: the admin's file is the CLI's"
        );
        // The rows announced are the lines after the header.
        let lines = answer.bytes.iter().filter(|b| **b == b'\n').count() as u64;
        let header_lines: u64 = answer.headers["x-export-header-lines"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let rows: u64 = answer.headers["x-export-rows"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(rows, lines - header_lines, "{kind} {option}");
        match kind {
            "sales-csv" => {
                assert_eq!((rows, written), (3, 3));
                let text = String::from_utf8(answer.bytes.clone()).unwrap();
                for number in &numbers {
                    assert!(text.contains(number.as_str()), "{number} in {text}");
                }
            }
            "fec" => assert!(rows > 3, "several lines per document"),
            _ => assert_eq!((rows, written), (events as u64, events as u64)),
        }
    }
    // Each download is a security event saying who took which books out.
    let details: Vec<String> = sqlx::query_scalar(
        "select detail from security_events
         where kind = 'export_downloaded' and email = 'accountant@shop.test' order by id",
    )
    .fetch_all(&admin.db.pool)
    .await
    .unwrap();
    assert_eq!(details.len(), downloads);
    assert!(
        details[0].starts_with(&format!("sales-csv {from}..{to}, 3 rows")),
        "{details:?}"
    );
}

#[tokio::test]
async fn bad_periods_and_a_missing_siren_are_told_next_to_the_form() {
    let admin = Admin::new().await;
    admin.staff("owner@shop.test", StaffRole::Owner).await;
    let mut browser = admin.signed_in("owner@shop.test").await;

    let page = admin
        .get(
            &mut browser,
            "/admin/invoices?from=2026-02-30&to=2026-03-01",
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_error(&page.body, "from"),
        "Date non valable : choisissez un jour (AAAA-MM-JJ)."
    );
    assert!(
        page.body.contains("value=\"2026-02-30\""),
        "what was typed stays"
    );
    let page = admin
        .get(
            &mut browser,
            "/admin/invoices?from=2026-03-10&to=2026-03-01",
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_error(&page.body, "to"),
        "La date de début est après la date de fin."
    );
    assert!(page
        .body
        .contains("Corrigez la période pour afficher le registre."));
    // In the reader's language.
    let mut english = browser.clone();
    english.cookie = Some(format!("{}; lang=en", browser.cookie.clone().unwrap()));
    let page = admin
        .get(&mut english, "/admin/invoices?from=yesterday&to=2026-03-01")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_error(&page.body, "from"),
        "Not a valid date: pick a day (YYYY-MM-DD)."
    );

    // An export of a reversed period: back to the register (which tells why) without
    // JavaScript, the sentence itself for the page's script.
    let export = "/admin/exports/sales-csv?from=2026-03-10&to=2026-03-01&dialect=fr";
    let answer = admin.get(&mut browser, export).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        answer.location(),
        "/admin/invoices?from=2026-03-10&to=2026-03-01"
    );
    let request = Request::get(export)
        .header("x-export-fetch", "1")
        .body(Body::empty())
        .unwrap();
    let answer = admin.send(&mut browser, request).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.body, "La date de début est après la date de fin.");

    // No seller yet, so no SIREN to name the FEC: said on the page, not a 500.
    let page = admin.get(&mut browser, "/admin/invoices").await;
    assert!(text_of(&page.body, "fec-no-siren").starts_with("Le FEC porte le SIREN"));
    assert!(!page.body.contains("/admin/exports/fec"));
    let fec = "/admin/exports/fec?from=2026-03-01&to=2026-03-31&separator=pipe";
    let request = Request::get(fec)
        .header("x-export-fetch", "1")
        .body(Body::empty())
        .unwrap();
    let answer = admin.send(&mut browser, request).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.starts_with("Le FEC porte le SIREN"));
    let answer = admin.get(&mut browser, fec).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let page = admin.get(&mut browser, answer.location()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("toast-error"), "{}", page.body);
    // Options that are not offered are no page at all.
    for path in [
        "/admin/exports/sales-csv?dialect=excel",
        "/admin/exports/fec?separator=comma",
        "/admin/exports/audit?format=xml",
        "/admin/exports/ledger",
    ] {
        assert_eq!(
            admin.get(&mut browser, path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_invoiced_order_s_lines_are_refunded_from_its_page_as_credit_notes() {
    use aggregates::metadata::EventMetadata;
    use aggregates::order::OrderCommand;
    use aggregates::shop_settings::ShopSettingsCommand;

    let admin = Admin::new().await;
    admin.staff("manager@shop.test", StaffRole::Manager).await;
    admin.staff("operator@shop.test", StaffRole::Operator).await;
    let bus = admin.db.bus();
    let system = EventMetadata::system();
    bus.settings
        .execute(
            aggregates::SHOP_SETTINGS_ID,
            ShopSettingsCommand::ChangeLegalIdentity {
                identity: Box::new(comptoir::demo::seller().unwrap()),
            },
            &system,
        )
        .await
        .unwrap();
    let tyre = published_product(&bus, "PN-RFD-1", "89.90", 10).await;
    let placed = place(&bus, &[(tyre, 2)]).await.unwrap();
    let id = placed.order_id.to_string();
    let pay = OrderCommand::ConfirmPayment {
        provider: "pickup".into(),
        reference: format!("counter-cash-{}", placed.order_number),
        amount: placed.totals.total_ttc,
        paid_at: chrono::Utc::now(),
        provider_event_id: None,
    };
    bus.orders.execute(&id, pay, &system).await.unwrap();
    let mut invoiced = false;
    for _ in 0..100 {
        invoiced = bus
            .orders
            .load(&id)
            .await
            .unwrap()
            .invoice_number()
            .is_some();
        if invoiced {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(invoiced);
    let page_path = format!("/admin/orders/{}", placed.order_number);
    let refund_path = format!("{page_path}/refund");
    let units = format!("units-{tyre}");
    let credits = || async {
        let n: i64 = sqlx::query_scalar(
            "select count(*) from events where event_type = 'CreditNoteRequested'",
        )
        .fetch_one(&admin.db.pool)
        .await
        .unwrap();
        n
    };

    // An operator serves at the counter but gives no money back: no form, and a post
    // is refused without a trace.
    let mut operator = admin.signed_in("operator@shop.test").await;
    let page = admin.get(&mut operator, &page_path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("id=\"refund\""), "{}", page.body);
    let credit_id = Uuid::now_v7().to_string();
    let refused = admin
        .post(
            &mut operator,
            &refund_path,
            &[("credit_id", &credit_id), (&units, "1"), ("reason", "x")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(credits().await, 0);

    let mut manager = admin.signed_in("manager@shop.test").await;
    let page = admin.get(&mut manager, &page_path).await;
    assert!(page.body.contains("id=\"refund\""), "{}", page.body);
    assert!(
        page.body.contains(&format!("name=\"{units}\"")),
        "{}",
        page.body
    );
    assert!(page.body.contains("max=\"2\""), "{}", page.body);

    // Each mistake is told where it is, and nothing is recorded.
    let cases: [(&str, &str, &str); 4] = [
        (
            "",
            "un motif",
            "Indiquez au moins une quantité à rembourser.",
        ),
        ("3", "un motif", "2 au plus"),
        ("deux", "un motif", "2 au plus"),
        ("1", "   ", "Indiquez le motif de l'avoir"),
    ];
    for (typed, reason, expected) in cases {
        let answer = admin
            .post(
                &mut manager,
                &refund_path,
                &[
                    ("credit_id", &credit_id),
                    (&units, typed),
                    ("reason", reason),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed:?}");
        assert!(answer.body.contains(expected), "{typed:?}: {}", answer.body);
        // What was typed is kept.
        assert!(
            answer.body.contains(&format!("value=\"{typed}\"")),
            "{}",
            answer.body
        );
    }
    assert_eq!(credits().await, 0);

    // One unit back; the same form sent twice asks for one credit note.
    for _ in 0..2 {
        let done = admin
            .post(
                &mut manager,
                &refund_path,
                &[
                    ("credit_id", &credit_id),
                    (&units, "1"),
                    ("reason", "pneu en double"),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), page_path);
    }
    assert_eq!(credits().await, 1);
    let order = bus.orders.load(&id).await.unwrap();
    let note = &order.credit_notes()[0];
    assert_eq!(note.lines[0].quantity, 1);
    assert_eq!(note.reason, "pneu en double");
    let actor: String = sqlx::query_scalar(
        "select metadata->>'actor_kind' from events where event_type = 'CreditNoteRequested'",
    )
    .fetch_one(&admin.db.pool)
    .await
    .unwrap();
    assert_eq!(actor, "staff");

    // One unit left to refund; once it is, the form is gone.
    let page = admin.get(&mut manager, &page_path).await;
    assert!(page.body.contains("max=\"1\""), "{}", page.body);
    let second = Uuid::now_v7().to_string();
    let done = admin
        .post(
            &mut manager,
            &refund_path,
            &[
                ("credit_id", &second),
                (&units, "1"),
                ("reason", "retour client"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(credits().await, 2);
    let page = admin.get(&mut manager, &page_path).await;
    assert!(!page.body.contains("id=\"refund\""), "{}", page.body);
}
