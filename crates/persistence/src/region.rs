//! Kraje and regions as the caller may see them.

use crate::entity::{kraj, region};
use crate::{Db, Error, Result, scope};
use kpss_domain::ValidationError;
use kpss_domain::access::{Ctx, Grant};
use kpss_domain::region::{Kraj, KrajCode, Region, RegionCode, RegionKind};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

fn to_region(m: region::Model) -> Result<Region> {
    Ok(Region {
        code: RegionCode::parse("region.code", &m.code)?,
        name: m.name,
        kind: m.kind.parse::<RegionKind>().map_err(Error::Seed)?,
        kraj: KrajCode::parse("region.kraj", &m.kraj_code)?,
    })
}

/// Regions the caller may read, in Czech order of their names.
pub async fn list(db: &Db, ctx: &Ctx) -> Result<Vec<Region>> {
    region::Entity::find()
        .filter(scope::condition(&ctx.read, region::Column::Code))
        .order_by_asc(region::Column::NameKey)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_region)
        .collect()
}

/// Readable regions of the given kraje, in Czech order.
pub async fn in_kraje(db: &Db, ctx: &Ctx, kraje: &[KrajCode]) -> Result<Vec<Region>> {
    region::Entity::find()
        .filter(scope::condition(&ctx.read, region::Column::Code))
        .filter(region::Column::KrajCode.is_in(kraje.iter().map(|k| k.as_str().to_owned())))
        .order_by_asc(region::Column::NameKey)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_region)
        .collect()
}

/// One region: `Ok(None)` when no such region exists, `Forbidden` when it
/// exists but the caller may not read it.
pub async fn get(db: &Db, ctx: &Ctx, code: &RegionCode) -> Result<Option<Region>> {
    let Some(m) = region::Entity::find_by_id(code.as_str())
        .one(&db.conn)
        .await?
    else {
        return Ok(None);
    };
    let region = to_region(m)?;
    if ctx.read.covers(&region.code, &region.kraj) {
        Ok(Some(region))
    } else {
        Err(Error::Forbidden(format!(
            "region `{code}` is not readable with this token"
        )))
    }
}

/// Kraje with at least one region the caller may read, in Czech order.
pub async fn kraje(db: &Db, ctx: &Ctx) -> Result<Vec<Kraj>> {
    kraje_query(ctx)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_kraj)
        .collect()
}

fn kraje_query(ctx: &Ctx) -> sea_orm::Select<kraj::Entity> {
    let visible = sea_orm::sea_query::Query::select()
        .column(region::Column::KrajCode)
        .from(region::Entity)
        .cond_where(scope::condition(&ctx.read, region::Column::Code))
        .to_owned();
    kraj::Entity::find()
        .filter(kraj::Column::Code.in_subquery(visible))
        .order_by_asc(kraj::Column::NameKey)
}

fn to_kraj(m: kraj::Model) -> Result<Kraj> {
    Ok(Kraj {
        code: KrajCode::parse("kraj.code", &m.code)?,
        name: m.name,
    })
}

/// Kraje by code, among those the caller sees (for a region's kraj).
pub async fn kraje_by_codes(db: &Db, ctx: &Ctx, codes: &[KrajCode]) -> Result<Vec<Kraj>> {
    kraje_query(ctx)
        .filter(kraj::Column::Code.is_in(codes.iter().map(|k| k.as_str().to_owned())))
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_kraj)
        .collect()
}

/// A filter's `regions` / `kraje`, checked per the contract: a malformed or
/// unknown code (or `*`) is invalid; a known region the caller cannot read,
/// or a kraj none of whose regions it can read, is forbidden. `None` when
/// the filter names neither; an empty list matches nothing.
pub async fn filter(
    db: &Db,
    ctx: &Ctx,
    regions: Option<&[String]>,
    kraje: Option<&[String]>,
    field: &str,
) -> Result<Option<Grant>> {
    if regions.is_none() && kraje.is_none() {
        return Ok(None);
    }
    let mut grant = Grant::default();
    for (i, code) in regions.unwrap_or_default().iter().enumerate() {
        let path = format!("{field}.regions[{i}]");
        let code = RegionCode::parse(&path, code)?;
        let Some(m) = region::Entity::find_by_id(code.as_str())
            .one(&db.conn)
            .await?
        else {
            return Err(ValidationError::new(path, format!("there is no region `{code}`")).into());
        };
        let region = to_region(m)?;
        if !ctx.read.covers(&region.code, &region.kraj) {
            return Err(Error::Forbidden(format!(
                "region `{code}` is not readable with this token"
            )));
        }
        grant.regions.insert(code);
    }
    for (i, code) in kraje.unwrap_or_default().iter().enumerate() {
        let path = format!("{field}.kraje[{i}]");
        let code = KrajCode::parse(&path, code)?;
        if kraj::Entity::find_by_id(code.as_str())
            .one(&db.conn)
            .await?
            .is_none()
        {
            return Err(ValidationError::new(path, format!("there is no kraj `{code}`")).into());
        }
        if in_kraje(db, ctx, std::slice::from_ref(&code))
            .await?
            .is_empty()
        {
            return Err(Error::Forbidden(format!(
                "no region of kraj `{code}` is readable with this token"
            )));
        }
        grant.kraje.insert(code);
    }
    Ok(Some(grant))
}

/// Readable regions by code (for a record's region).
pub async fn by_codes(db: &Db, ctx: &Ctx, codes: &[RegionCode]) -> Result<Vec<Region>> {
    region::Entity::find()
        .filter(scope::condition(&ctx.read, region::Column::Code))
        .filter(region::Column::Code.is_in(codes.iter().map(|c| c.as_str().to_owned())))
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_region)
        .collect()
}
