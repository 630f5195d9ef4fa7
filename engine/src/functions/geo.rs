//! GEO_DISTANCE: the great-circle distance between two points on Earth (haversine formula, mean
//! Earth radius 6371 km or 3959 miles, as ksqlDB uses).

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ScalarUDF;

use super::args::{doubles, out, p, ret, s, strings};
use super::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

/// GEO_DISTANCE's spec, for the catalog.
pub const SPECS: &[FunctionSpec] = &[GEO_DISTANCE];

/// GEO_DISTANCE as a UDF.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![KsqlUdf::new(&GEO_DISTANCE, ret::double, geo_distance).into_udf()]
}

const D: P = P::Double;
const GEO_DISTANCE: FunctionSpec = FunctionSpec {
    name: "GEO_DISTANCE",
    aliases: &[],
    category: Category::Geo,
    description: "The great-circle distance between (lat1, lon1) and (lat2, lon2) in kilometers, or in miles with 'MI'. Coordinates outside [-90, 90] / [-180, 180] give NULL.",
    sigs: &[
        Sig::new(&[D, D, D, D], "DOUBLE"),
        Sig::new(&[D, D, D, D, P::Str], "DOUBLE"),
    ],
};

const EARTH_RADIUS_KM: f64 = 6371.0;
const EARTH_RADIUS_MI: f64 = 3959.0;

/// The haversine distance in units of `radius`.
pub fn haversine(lat1: f64, lon1: f64, lat2: f64, lon2: f64, radius: f64) -> f64 {
    let (lat1r, lat2r) = (lat1.to_radians(), lat2.to_radians());
    let dlat = (lat2 - lat1).to_radians();
    let dlon = (lon2 - lon1).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1r.cos() * lat2r.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * radius * h.sqrt().asin()
}

fn geo_distance(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let coords = (0..4).map(|i| doubles(a, i)).collect::<Result<Vec<_>>>()?;
    let unit = if a.len() > 4 {
        Some(strings(a, 4)?)
    } else {
        None
    };
    let mut result = Vec::with_capacity(n);
    for i in 0..n {
        let values: Option<Vec<f64>> = coords.iter().map(|c| p(c, i)).collect();
        let Some(v) = values else {
            result.push(None);
            continue;
        };
        let radius = match unit
            .and_then(|u| s(u, i))
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("KM" | "KILOMETER" | "KILOMETERS" | "KILOMETRE" | "KILOMETRES") => {
                EARTH_RADIUS_KM
            }
            Some("MI" | "MILE" | "MILES") => EARTH_RADIUS_MI,
            Some(other) => {
                return exec_err!(
                    "GEO_DISTANCE units must be one of KM, KILOMETERS, MI or MILES, not '{other}'"
                );
            }
        };
        let valid =
            v[0].abs() <= 90.0 && v[2].abs() <= 90.0 && v[1].abs() <= 180.0 && v[3].abs() <= 180.0;
        result.push(valid.then(|| haversine(v[0], v[1], v[2], v[3], radius)));
    }
    out(Float64Array::from(result))
}
