//! Kraje and regions as the caller may see them.

use crate::entity::{kraj, region};
use crate::scoped::Scoped;
use crate::{Error, Result, scope};
use kpss_domain::ValidationError;
use kpss_domain::access::{Ctx, Grant};
use kpss_domain::region::{Kraj, KrajCode, Region, RegionCode, RegionKind};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

fn to_region(m: region::Model) -> Result<Region> {
    Ok(Region {
        code: RegionCode::parse("region.code", &m.code)?,
        name: m.name,
        kind: m.kind.parse::<RegionKind>().map_err(Error::Seed)?,
        kraj: KrajCode::parse("region.kraj", &m.kraj_code)?,
    })
}

/// Regions the caller may read, in Czech order of their names.
pub async fn list(s: &Scoped) -> Result<Vec<Region>> {
    readable(s, Condition::all()).await
}

/// Readable regions of the given kraje, in Czech order.
pub async fn in_kraje(s: &Scoped, kraje: &[KrajCode]) -> Result<Vec<Region>> {
    let of_kraje = region::Column::KrajCode.is_in(kraje.iter().map(|k| k.as_str().to_owned()));
    readable(s, Condition::all().add(of_kraje)).await
}

async fn readable(s: &Scoped, cond: Condition) -> Result<Vec<Region>> {
    region::Entity::find()
        .filter(scope::condition(&s.ctx().read, region::Column::Code))
        .filter(cond)
        .order_by_asc(region::Column::NameKey)
        .all(&s.reader().await?)
        .await?
        .into_iter()
        .map(to_region)
        .collect()
}

/// One region: `Ok(None)` when no such region exists, `Forbidden` when it
/// exists but the caller may not read it.
pub async fn get(s: &Scoped, code: &RegionCode) -> Result<Option<Region>> {
    let Some(m) = region::Entity::find_by_id(code.as_str())
        .one(&s.reader().await?)
        .await?
    else {
        return Ok(None);
    };
    let region = to_region(m)?;
    if s.ctx().read.covers(&region.code, &region.kraj) {
        Ok(Some(region))
    } else {
        Err(Error::Forbidden(format!(
            "region `{code}` is not readable with this token"
        )))
    }
}

/// Kraje with at least one region the caller may read, in Czech order.
pub async fn kraje(s: &Scoped) -> Result<Vec<Kraj>> {
    kraje_query(s.ctx())
        .all(&s.reader().await?)
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
pub async fn kraje_by_codes(s: &Scoped, codes: &[KrajCode]) -> Result<Vec<Kraj>> {
    kraje_query(s.ctx())
        .filter(kraj::Column::Code.is_in(codes.iter().map(|k| k.as_str().to_owned())))
        .all(&s.reader().await?)
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
    s: &Scoped,
    regions: Option<&[String]>,
    kraje: Option<&[String]>,
    field: &str,
) -> Result<Option<Grant>> {
    if regions.is_none() && kraje.is_none() {
        return Ok(None);
    }
    let ctx = s.ctx();
    let (regions, kraje) = (regions.unwrap_or_default(), kraje.unwrap_or_default());
    let region_codes = regions
        .iter()
        .enumerate()
        .map(|(i, c)| RegionCode::parse(&format!("{field}.regions[{i}]"), c))
        .collect::<Result<Vec<_>, _>>()?;
    let kraj_codes = kraje
        .iter()
        .enumerate()
        .map(|(i, c)| KrajCode::parse(&format!("{field}.kraje[{i}]"), c))
        .collect::<Result<Vec<_>, _>>()?;
    // Every named region and every region of the named kraje, in one
    // statement: the one that opens the read transaction where it is still
    // to open.
    let named = Grant {
        all: false,
        regions: region_codes.iter().cloned().collect(),
        kraje: kraj_codes.iter().cloned().collect(),
    };
    let found = match s.reader_naming(Some(&named)).await? {
        (_, Some(found)) => found,
        (reader, None) => {
            region::Entity::find()
                .select_only()
                .columns([region::Column::Code, region::Column::KrajCode])
                .filter(scope::condition(&named, region::Column::Code))
                .into_tuple()
                .all(&reader)
                .await?
        }
    };
    let known = found
        .into_iter()
        .map(|(code, kraj)| {
            Ok((
                RegionCode::parse("region.code", &code)?,
                KrajCode::parse("region.kraj", &kraj)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let by_code: HashMap<&RegionCode, &KrajCode> = known.iter().map(|(r, k)| (r, k)).collect();
    for (i, code) in region_codes.iter().enumerate() {
        let Some(kraj) = by_code.get(code) else {
            let path = format!("{field}.regions[{i}]");
            return Err(ValidationError::new(path, format!("there is no region `{code}`")).into());
        };
        if !ctx.read.covers(code, kraj) {
            return Err(Error::Forbidden(format!(
                "region `{code}` is not readable with this token"
            )));
        }
    }
    for (i, code) in kraj_codes.iter().enumerate() {
        let exists = known.iter().any(|(_, kraj)| kraj == code)
            || kraj::Entity::find_by_id(code.as_str())
                .one(&s.reader().await?)
                .await?
                .is_some();
        if !exists {
            let path = format!("{field}.kraje[{i}]");
            return Err(ValidationError::new(path, format!("there is no kraj `{code}`")).into());
        }
        if !known
            .iter()
            .any(|(region, kraj)| kraj == code && ctx.read.covers(region, kraj))
        {
            return Err(Error::Forbidden(format!(
                "no region of kraj `{code}` is readable with this token"
            )));
        }
    }
    Ok(Some(named))
}

/// Readable regions by code (for a record's region).
pub async fn by_codes(s: &Scoped, codes: &[RegionCode]) -> Result<Vec<Region>> {
    region::Entity::find()
        .filter(scope::condition(&s.ctx().read, region::Column::Code))
        .filter(region::Column::Code.is_in(codes.iter().map(|c| c.as_str().to_owned())))
        .all(&s.reader().await?)
        .await?
        .into_iter()
        .map(to_region)
        .collect()
}
