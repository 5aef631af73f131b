//! The catalog: products (list, detail with reviews, old slugs redirected) and categories,
//! read from the `catalog` projection, with ETags and cache headers.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::api::auth::StorefrontKey;
use crate::api::error::ApiError;
use crate::api::extract::ApiQuery;
use crate::http::AppState;

/// The catalog's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/products", get(list_products))
        .route("/api/products/{slug}", get(product))
        .route("/api/categories", get(categories))
        .route("/api/shop", get(shop))
        .route("/api/reviews/{product_id}", get(product_reviews))
}

/// `page` and `limit`, checked.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub page: i64,
    pub limit: i64,
}

impl Page {
    /// Parses raw values: page >= 1, limit 1..=100, default 1 and 20.
    pub fn parse(page: Option<&str>, limit: Option<&str>) -> Result<Page, ApiError> {
        let bounded = |raw: Option<&str>,
                       field: &str,
                       range: std::ops::RangeInclusive<i64>,
                       default: i64,
                       rule: &str| match raw {
            None => Ok(default),
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| ApiError::field(field, rule)),
        };
        Ok(Page {
            page: bounded(
                page,
                "page",
                1..=100_000,
                1,
                "must be a whole number from 1",
            )?,
            limit: bounded(
                limit,
                "limit",
                1..=100,
                20,
                "must be a whole number from 1 to 100",
            )?,
        })
    }

    fn offset(&self) -> i64 {
        (self.page - 1) * self.limit
    }
}

/// Query parameters of the product list, as received (checked in the handler so the
/// error names the parameter).
#[derive(Debug, Deserialize)]
pub struct ListParams {
    category: Option<String>,
    status: Option<String>,
    page: Option<String>,
    limit: Option<String>,
    q: Option<String>,
    sort: Option<String>,
}

/// How the list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Name,
    NameDesc,
    Price,
    PriceDesc,
    Newest,
    Rating,
}

impl Sort {
    /// The accepted values, for errors and the OpenAPI description.
    pub const VALUES: &'static [&'static str] =
        &["name", "-name", "price", "-price", "newest", "rating"];

    fn parse(raw: Option<&str>) -> Result<Sort, ApiError> {
        Ok(match raw.unwrap_or("name") {
            "name" => Sort::Name,
            "-name" => Sort::NameDesc,
            "price" => Sort::Price,
            "-price" => Sort::PriceDesc,
            "newest" => Sort::Newest,
            "rating" => Sort::Rating,
            _ => {
                return Err(ApiError::field(
                    "sort",
                    format!("must be one of {}", Sort::VALUES.join(", ")),
                ))
            }
        })
    }

    fn sql(self) -> &'static str {
        match self {
            Sort::Name => "p.name, p.reference",
            Sort::NameDesc => "p.name desc, p.reference",
            Sort::Price => "p.price_ttc, p.reference",
            Sort::PriceDesc => "p.price_ttc desc, p.reference",
            Sort::Newest => "p.published_at desc nulls last, p.reference",
            Sort::Rating => "(p.rating_sum::numeric / nullif(p.rating_count, 0)) desc nulls last, p.rating_count desc, p.reference",
        }
    }
}

/// A product as the storefront sees it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductJson {
    pub id: Uuid,
    pub reference: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub category: CategoryRef,
    pub price_ht: String,
    pub vat_rate: String,
    pub price_ttc: String,
    pub stock_status: &'static str,
    pub images: Vec<ImageJson>,
    pub meta_description: String,
    pub rating: RatingJson,
}

/// The category a product is in.
#[derive(Debug, Serialize)]
pub struct CategoryRef {
    pub slug: String,
    pub name: String,
}

/// An image, full size and thumbnail.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageJson {
    /// The image's id (what the admin's reorder, alt text and delete calls name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    pub url: String,
    pub thumbnail_url: String,
    pub alt: String,
}

/// Average (decimal string, one place) and count of approved reviews.
#[derive(Debug, Serialize)]
pub struct RatingJson {
    pub average: Option<String>,
    pub count: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct ProductRow {
    product_id: Uuid,
    reference: String,
    slug: String,
    name: String,
    description: String,
    category_slug: String,
    category_name: String,
    price_ht: Decimal,
    vat_rate: Decimal,
    price_ttc: Decimal,
    available: i64,
    images: Value,
    meta_description: String,
    rating_sum: i64,
    rating_count: i64,
}

const PRODUCT_COLUMNS: &str = "p.product_id, p.reference, p.slug, p.name, p.description,
    c.slug as category_slug, c.name as category_name, p.price_ht, p.vat_rate, p.price_ttc,
    p.available, p.images, p.meta_description, p.rating_sum, p.rating_count";

fn decimal(value: Decimal) -> String {
    value.normalize().to_string()
}

fn money(value: Decimal) -> String {
    let mut value = value;
    value.rescale(2);
    value.to_string()
}

fn average(sum: i64, count: i64) -> Option<String> {
    (count > 0).then(|| {
        let mut avg = Decimal::from(sum) / Decimal::from(count);
        avg = avg.round_dp_with_strategy(1, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        avg.rescale(1);
        avg.to_string()
    })
}

impl ProductRow {
    fn into_json(self, media: &str) -> ProductJson {
        let images = self
            .images
            .as_array()
            .map(|images| {
                images
                    .iter()
                    .filter_map(|i| {
                        let key = i.get("key")?.as_str()?;
                        // Images added before thumbnails had their own key kept the
                        // old `thumbs/<key>` convention.
                        let thumbnail_url = match i.get("thumbnail_key").and_then(Value::as_str) {
                            Some(thumb) => format!("{media}/{thumb}"),
                            None => format!("{media}/thumbs/{key}"),
                        };
                        Some(ImageJson {
                            id: i
                                .get("image_id")
                                .and_then(Value::as_str)
                                .and_then(|id| id.parse().ok()),
                            url: format!("{media}/{key}"),
                            thumbnail_url,
                            alt: i
                                .get("alt_text")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        ProductJson {
            id: self.product_id,
            reference: self.reference,
            slug: self.slug,
            name: self.name,
            description: self.description,
            category: CategoryRef {
                slug: self.category_slug,
                name: self.category_name,
            },
            price_ht: money(self.price_ht),
            vat_rate: decimal(self.vat_rate),
            price_ttc: money(self.price_ttc),
            stock_status: projections::views::stock::status_name(self.available),
            images,
            meta_description: self.meta_description,
            rating: RatingJson {
                average: average(self.rating_sum, self.rating_count),
                count: self.rating_count,
            },
        }
    }
}

/// A page of results.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageJson<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub limit: i64,
    pub total: i64,
    pub page_count: i64,
}

/// What a catalog read computed: JSON to cache, or another answer (a redirect).
#[derive(Debug)]
pub enum Answer {
    Json(Bytes),
    Other(Response),
}

/// Serialises a body for [`Answer::Json`].
pub fn json_bytes<T: Serialize>(body: &T) -> Result<Answer, ApiError> {
    serde_json::to_vec(body)
        .map(|bytes| Answer::Json(Bytes::from(bytes)))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Answers a catalog read from the cache, or computes, caches and answers it, with an
/// ETag (304 when the client already has it) and `Cache-Control`.
pub async fn cached(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    max_age: u32,
    compute: impl std::future::Future<Output = Result<Answer, ApiError>>,
) -> Result<Response, ApiError> {
    let key = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_owned();
    if let Some(hit) = state.read_cache.get(&key) {
        return Ok(respond(headers, &hit.etag, hit.body, max_age));
    }
    let generation = state.read_cache.generation();
    match compute.await? {
        Answer::Json(body) => {
            let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..32]);
            state
                .read_cache
                .put(key, etag.clone(), body.clone(), generation);
            Ok(respond(headers, &etag, body, max_age))
        }
        Answer::Other(response) => Ok(response),
    }
}

fn respond(headers: &HeaderMap, etag: &str, body: Bytes, max_age: u32) -> Response {
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim().trim_start_matches("W/") == etag || tag.trim() == "*")
        });
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    response
}

async fn list_products(
    _key: StorefrontKey,
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let page = Page::parse(params.page.as_deref(), params.limit.as_deref())?;
    let sort = Sort::parse(params.sort.as_deref())?;
    // Only published products are ever public, whatever `status` asks for.
    if let Some(status) = params.status.as_deref() {
        if status != "published" {
            return Err(ApiError::field(
                "status",
                "only `published` products are public",
            ));
        }
    }
    let q = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > 100) {
        return Err(ApiError::field("q", "at most 100 characters"));
    }
    let category = params
        .category
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    cached(&state, &uri, &headers, 60, async {
        let sql = format!(
            "select {PRODUCT_COLUMNS}, count(*) over () as total
             from catalog_products p join catalog_categories c on c.category_id = p.category_id
             where {}
             order by {}
             limit $3 offset $4",
            list_filter(category.is_some(), q.is_some()),
            sort.sql()
        );
        let rows: Vec<(i64, ProductRowWithTotal)> = sqlx::query_as::<_, ProductRowWithTotal>(&sql)
            .bind(category)
            .bind(q.map(|q| q.replace(['%', '_', '\\'], "")))
            .bind(page.limit)
            .bind(page.offset())
            .fetch_all(&state.pool)
            .await?
            .into_iter()
            .map(|r| (r.total, r))
            .collect();
        let total = match rows.first() {
            Some((total, _)) => *total,
            None if page.page > 1 => count_products(&state, category, q).await?,
            None => 0,
        };
        let items = rows
            .into_iter()
            .map(|(_, r)| r.product.into_json(&state.media_base_url))
            .collect();
        let body = PageJson {
            items,
            page: page.page,
            limit: page.limit,
            total,
            page_count: (total + page.limit - 1) / page.limit,
        };
        json_bytes(&body)
    })
    .await
}

/// The list's condition. Written out per case rather than `($1 is null or ...)`: a
/// prepared statement's generic plan would otherwise stem every product's text for every
/// request. `$1` is the category slug, `$2` the search text (bound, never interpolated).
fn list_filter(category: bool, search: bool) -> String {
    let mut filter = "p.published and not p.archived and not c.deleted".to_owned();
    filter.push_str(if category {
        " and c.slug = $1"
    } else {
        " and $1::text is null"
    });
    filter.push_str(if search {
        " and (to_tsvector('french', p.name || ' ' || p.description) @@ plainto_tsquery('french', $2)
               or p.reference like upper($2) || '%')"
    } else {
        " and $2::text is null"
    });
    filter
}

#[derive(Debug, sqlx::FromRow)]
struct ProductRowWithTotal {
    #[sqlx(flatten)]
    product: ProductRow,
    total: i64,
}

async fn count_products(
    state: &AppState,
    category: Option<&str>,
    q: Option<&str>,
) -> Result<i64, ApiError> {
    let sql = format!(
        "select count(*) from catalog_products p join catalog_categories c on c.category_id = p.category_id where {}",
        list_filter(category.is_some(), q.is_some())
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(category)
        .bind(q.map(|q| q.replace(['%', '_', '\\'], "")))
        .fetch_one(&state.pool)
        .await?)
}

/// A review as the storefront shows it (no email: that is the customer's, not public).
#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ReviewJson {
    pub id: Uuid,
    pub customer_name: String,
    pub rating: i32,
    pub comment: String,
    pub verified_purchase: bool,
    pub submitted_at: chrono::DateTime<chrono::Utc>,
    pub response: Option<String>,
    pub responded_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The rating summary of a product: average, count, and count per star.
#[derive(Debug, Serialize)]
pub struct RatingSummary {
    pub average: Option<String>,
    pub count: i64,
    pub distribution: [i64; 5],
}

async fn approved_reviews(
    state: &AppState,
    product_id: Uuid,
) -> Result<(Vec<ReviewJson>, RatingSummary), ApiError> {
    let reviews: Vec<ReviewJson> = sqlx::query_as(
        "select review_id as id, customer_name, rating, comment, verified_purchase, submitted_at, response, responded_at
         from reviews where product_id = $1 and status = 'approved' order by submitted_at desc, review_id",
    )
    .bind(product_id)
    .fetch_all(&state.pool)
    .await?;
    let mut distribution = [0i64; 5];
    for review in &reviews {
        if let Some(slot) = usize::try_from(review.rating - 1)
            .ok()
            .and_then(|i| distribution.get_mut(i))
        {
            *slot += 1;
        }
    }
    let count = reviews.len() as i64;
    let sum: i64 = reviews.iter().map(|r| i64::from(r.rating)).sum();
    Ok((
        reviews,
        RatingSummary {
            average: average(sum, count),
            count,
            distribution,
        },
    ))
}

/// A product with its approved reviews.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductDetailJson {
    #[serde(flatten)]
    pub product: ProductJson,
    pub reviews: Vec<ReviewJson>,
    pub rating_summary: RatingSummary,
}

async fn product(
    _key: StorefrontKey,
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    // No slug is that long or holds a NUL (which PostgreSQL could not even compare).
    if slug.len() > 200 || slug.contains('\0') {
        return Err(ApiError::NotFound);
    }
    cached(&state, &uri, &headers, 60, product_answer(&state, slug)).await
}

async fn product_answer(state: &AppState, slug: String) -> Result<Answer, ApiError> {
    let sql = format!(
        "select {PRODUCT_COLUMNS} from catalog_products p join catalog_categories c on c.category_id = p.category_id
         where p.slug = $1 and p.published and not p.archived"
    );
    let row: Option<ProductRow> = sqlx::query_as(&sql)
        .bind(&slug)
        .fetch_optional(&state.pool)
        .await?;
    let Some(row) = row else {
        // An old slug: send the client to the current one.
        let current: Option<String> = sqlx::query_scalar(
            "select p.slug from catalog_slugs s join catalog_products p on p.product_id = s.product_id
             where s.slug = $1 and p.slug <> $1 and p.published and not p.archived",
        )
        .bind(&slug)
        .fetch_optional(&state.pool)
        .await?;
        return match current {
            Some(current) => Ok(Answer::Other(
                (
                    StatusCode::MOVED_PERMANENTLY,
                    [(header::LOCATION, format!("/api/products/{current}"))],
                )
                    .into_response(),
            )),
            None => Err(ApiError::NotFound),
        };
    };
    let (reviews, rating_summary) = approved_reviews(state, row.product_id).await?;
    let body = ProductDetailJson {
        product: row.into_json(&state.media_base_url),
        reviews,
        rating_summary,
    };
    json_bytes(&body)
}

/// A category with its number of published products.
#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct CategoryJson {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub product_count: i64,
}

async fn categories(
    _key: StorefrontKey,
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    cached(&state, &uri, &headers, 300, async {
        let items: Vec<CategoryJson> = sqlx::query_as(
            "select category_id as id, slug, name, description, published_count as product_count
             from category_list where not deleted order by name",
        )
        .fetch_all(&state.pool)
        .await?;
        json_bytes(&serde_json::json!({ "items": items }))
    })
    .await
}

/// What a storefront shows about the shop itself: its name, currency and where orders are
/// collected (the names `POST /api/orders` accepts as `pickupLocation`). Built from the
/// settings held in memory, so it costs no query; browsers may keep it a minute.
async fn shop(_key: StorefrontKey, State(state): State<AppState>) -> Response {
    let shop = state.shop.get();
    let body = serde_json::json!({
        "name": shop.identity().map(|i| i.company_name.as_str()),
        "currency": shop.currency().as_str(),
        "pickupLocations": shop.pickup_locations().iter().map(|l| serde_json::json!({
            "id": l.location_id,
            "name": l.name,
            "address": l.address,
            "openingHours": l.opening_hours,
        })).collect::<Vec<_>>(),
    });
    (
        [(axum::http::header::CACHE_CONTROL, "public, max-age=60")],
        axum::Json(body),
    )
        .into_response()
}

/// Whether the catalog shows this product (published, not archived).
pub async fn is_published(state: &AppState, product_id: Uuid) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar(
        "select exists(select 1 from catalog_products where product_id = $1 and published and not archived)",
    )
    .bind(product_id)
    .fetch_one(&state.pool)
    .await?)
}

/// `status` of the review list: only approved reviews are public.
#[derive(Debug, Deserialize)]
pub struct ReviewParams {
    status: Option<String>,
}

async fn product_reviews(
    _key: StorefrontKey,
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    Path(product_id): Path<String>,
    ApiQuery(params): ApiQuery<ReviewParams>,
) -> Result<Response, ApiError> {
    let product_id = Uuid::try_parse(&product_id)
        .map_err(|_| ApiError::field("productId", "must be a product id (a UUID)"))?;
    if params.status.as_deref().is_some_and(|s| s != "approved") {
        return Err(ApiError::field(
            "status",
            "only `approved` reviews are public",
        ));
    }
    cached(&state, &uri, &headers, 60, async {
        if !is_published(&state, product_id).await? {
            return Err(ApiError::NotFound);
        }
        let (reviews, summary) = approved_reviews(&state, product_id).await?;
        json_bytes(&serde_json::json!({ "items": reviews, "ratingSummary": summary }))
    })
    .await
}
